package controller

import (
	"context"
	"fmt"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/jobs"
)

// ObjectEngine is the part of the Engine API that Objects uses. The moby
// client and every Engine satisfy it.
type ObjectEngine interface {
	SecretList(ctx context.Context, options client.SecretListOptions) (client.SecretListResult, error)
	ConfigList(ctx context.Context, options client.ConfigListOptions) (client.ConfigListResult, error)
}

// Objects resolves the names of Swarm secrets and configs to their IDs, as
// the Swarm needs both in a service. The API server uses it to refuse jobs
// naming objects that do not exist (api.SwarmObjects), the controller to
// build each attempt's service. Each call lists the Engine's objects once;
// it is safe for concurrent use.
type Objects struct {
	Engine ObjectEngine
}

// SecretIDs returns the ID of each named secret, by name. A name that no
// secret has exactly is a cerrdefs.ErrNotFound naming it, returned with the
// IDs of the names found; an Engine error is wrapped.
func (o Objects) SecretIDs(ctx context.Context, names []string) (map[string]string, error) {
	if len(names) == 0 {
		return map[string]string{}, nil
	}
	res, err := o.Engine.SecretList(ctx, client.SecretListOptions{Filters: nameFilters(names)})
	if err != nil {
		return nil, fmt.Errorf("listing secrets: %w", err)
	}
	all := make(map[string]string, len(res.Items))
	for _, s := range res.Items {
		all[s.Spec.Name] = s.ID
	}
	return pick("secret", all, names)
}

// ConfigIDs is SecretIDs for configs.
func (o Objects) ConfigIDs(ctx context.Context, names []string) (map[string]string, error) {
	if len(names) == 0 {
		return map[string]string{}, nil
	}
	res, err := o.Engine.ConfigList(ctx, client.ConfigListOptions{Filters: nameFilters(names)})
	if err != nil {
		return nil, fmt.Errorf("listing configs: %w", err)
	}
	all := make(map[string]string, len(res.Items))
	for _, c := range res.Items {
		all[c.Spec.Name] = c.ID
	}
	return pick("config", all, names)
}

// nameFilters selects the objects whose names start with one of names: the
// Engine's name filter matches prefixes, so callers compare exactly.
func nameFilters(names []string) client.Filters {
	return make(client.Filters).Add("name", slices.Compact(slices.Sorted(slices.Values(names)))...)
}

// pick returns the IDs of names from all, the listed objects by exact
// name, and a not-found error naming the first name missing.
func pick(kind string, all map[string]string, names []string) (map[string]string, error) {
	ids := make(map[string]string, len(names))
	var missing string
	for _, n := range names {
		id, ok := all[n]
		if !ok {
			if missing == "" {
				missing = n
			}
			continue
		}
		ids[n] = id
	}
	if missing != "" {
		return ids, cerrdefs.ErrNotFound.WithMessage(fmt.Sprintf("%s %q does not exist in the Swarm", kind, missing))
	}
	return ids, nil
}

// secretReferences returns the Swarm references of a job's secrets, by name
// only: resolveObjects fills in their IDs. A relative target is a file name
// under /run/secrets, which is what the Engine makes of it. Nil for none.
func secretReferences(refs []jobs.FileRef) []*swarm.SecretReference {
	if len(refs) == 0 {
		return nil
	}
	out := make([]*swarm.SecretReference, 0, len(refs))
	for _, f := range refs {
		out = append(out, &swarm.SecretReference{
			SecretName: f.Name,
			File:       &swarm.SecretReferenceFileTarget{Name: f.Target, UID: f.UID, GID: f.GID, Mode: f.Mode},
		})
	}
	return out
}

// configReferences is secretReferences for configs, whose targets are
// absolute.
func configReferences(refs []jobs.FileRef) []*swarm.ConfigReference {
	if len(refs) == 0 {
		return nil
	}
	out := make([]*swarm.ConfigReference, 0, len(refs))
	for _, f := range refs {
		out = append(out, &swarm.ConfigReference{
			ConfigName: f.Name,
			File:       &swarm.ConfigReferenceFileTarget{Name: f.Target, UID: f.UID, GID: f.GID, Mode: f.Mode},
		})
	}
	return out
}

// resolveObjects fills in the IDs of the secrets and configs of spec, which
// serviceSpec names only. A secret or config removed since the job was
// submitted is a cerrdefs.ErrNotFound naming it, which fails the attempt
// (CreateFailed) rather than retrying.
func (c *Controller) resolveObjects(ctx context.Context, spec *swarm.ServiceSpec) error {
	cs := spec.TaskTemplate.ContainerSpec
	if cs == nil || (len(cs.Secrets) == 0 && len(cs.Configs) == 0) {
		return nil
	}
	o := Objects{Engine: c.engine}
	if len(cs.Secrets) > 0 {
		names := make([]string, 0, len(cs.Secrets))
		for _, r := range cs.Secrets {
			names = append(names, r.SecretName)
		}
		ids, err := o.SecretIDs(ctx, names)
		if err != nil {
			return err
		}
		for _, r := range cs.Secrets {
			r.SecretID = ids[r.SecretName]
		}
	}
	if len(cs.Configs) > 0 {
		names := make([]string, 0, len(cs.Configs))
		for _, r := range cs.Configs {
			names = append(names, r.ConfigName)
		}
		ids, err := o.ConfigIDs(ctx, names)
		if err != nil {
			return err
		}
		for _, r := range cs.Configs {
			r.ConfigID = ids[r.ConfigName]
		}
	}
	return nil
}
