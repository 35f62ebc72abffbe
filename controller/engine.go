package controller

import (
	"context"

	"github.com/moby/moby/client"
)

// Engine is the part of the Docker Engine API the controller uses. The
// moby client satisfies it; tests substitute a fake.
type Engine interface {
	ServiceCreate(ctx context.Context, options client.ServiceCreateOptions) (client.ServiceCreateResult, error)
	ServiceList(ctx context.Context, options client.ServiceListOptions) (client.ServiceListResult, error)
	ServiceInspect(ctx context.Context, serviceID string, options client.ServiceInspectOptions) (client.ServiceInspectResult, error)
	// ServiceUpdate stops an attempt's task while keeping its container
	// (stopSpec).
	ServiceUpdate(ctx context.Context, serviceID string, options client.ServiceUpdateOptions) (client.ServiceUpdateResult, error)
	ServiceRemove(ctx context.Context, serviceID string, options client.ServiceRemoveOptions) (client.ServiceRemoveResult, error)
	ServiceLogs(ctx context.Context, serviceID string, options client.ServiceLogsOptions) (client.ServiceLogsResult, error)
	TaskList(ctx context.Context, options client.TaskListOptions) (client.TaskListResult, error)
	NetworkInspect(ctx context.Context, networkID string, options client.NetworkInspectOptions) (client.NetworkInspectResult, error)
	NodeList(ctx context.Context, options client.NodeListOptions) (client.NodeListResult, error)
	// SecretList and ConfigList resolve the names of a job's secrets and
	// configs (Objects).
	ObjectEngine
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
}

var _ Engine = (*client.Client)(nil)
