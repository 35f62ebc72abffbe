package controller

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/jobs"
)

// journal is an ordered record of the I/O the controller did, shared by the
// fake engine and the recording store, so tests can check ordering rules.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, fmt.Sprintf(format, args...))
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.entries...)
}

// index returns the position of the first entry with prefix, or -1.
func (j *journal) index(prefix string) int {
	for i, e := range j.list() {
		if strings.HasPrefix(e, prefix) {
			return i
		}
	}
	return -1
}

// fakeEngine is an in-memory Swarm: services with one task each, whose
// state tests set by hand.
type fakeEngine struct {
	mu       sync.Mutex
	log      *journal
	now      func() time.Time
	services map[string]*fakeService // by ID
	nextID   int
	// createErr, when set, is returned by the next ServiceCreate.
	createErr error
	// logsUnavailable makes ServiceLogs end with the Engine's in-stream
	// error for an unreachable node.
	logsUnavailable bool
	nodeDown        bool
	// createErrAfterCreating makes that error come after the service was
	// created, as when a response is lost.
	createErrAfterCreating bool
	// updateErr, when set, is returned by every ServiceUpdate.
	updateErr error
	// secrets and configs are the Swarm's objects, ID by name.
	secrets, configs map[string]string
}

type fakeService struct {
	svc  swarm.Service
	task swarm.Task
	logs string // lines "stdout:text" or "stderr:text"
}

func newFakeEngine(log *journal, now func() time.Time) *fakeEngine {
	return &fakeEngine{log: log, now: now, services: map[string]*fakeService{}}
}

func (e *fakeEngine) ServiceCreate(_ context.Context, o client.ServiceCreateOptions) (client.ServiceCreateResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log.add("create %s", o.Spec.Name)
	if err := e.createErr; err != nil && !e.createErrAfterCreating {
		e.createErr = nil
		return client.ServiceCreateResult{}, err
	}
	for _, s := range e.services {
		if s.svc.Spec.Name == o.Spec.Name {
			return client.ServiceCreateResult{}, cerrdefs.ErrConflict.WithMessage("name conflicts with an existing object")
		}
	}
	e.nextID++
	id := fmt.Sprintf("svc%d", e.nextID)
	s := &fakeService{svc: swarm.Service{ID: id, Spec: o.Spec}}
	s.svc.Meta.CreatedAt = e.now()
	s.task = swarm.Task{ID: "task-" + id, ServiceID: id, NodeID: "n1", Status: swarm.TaskStatus{State: swarm.TaskStatePending, Timestamp: e.now()}}
	s.task.Meta.CreatedAt = e.now()
	e.services[id] = s
	if err := e.createErr; err != nil {
		e.createErr = nil
		return client.ServiceCreateResult{}, err
	}
	return client.ServiceCreateResult{ID: id}, nil
}

func (e *fakeEngine) ServiceInspect(_ context.Context, id string, _ client.ServiceInspectOptions) (client.ServiceInspectResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.services[id]
	if !ok {
		return client.ServiceInspectResult{}, cerrdefs.ErrNotFound.WithMessage("service " + id + " not found")
	}
	return client.ServiceInspectResult{Service: s.svc}, nil
}

// ServiceUpdate takes the new spec; a stop (stopSpec) sets the task's
// desired state, and tests move the task to its end by hand, as Swarm would
// after the grace period.
func (e *fakeEngine) ServiceUpdate(_ context.Context, id string, o client.ServiceUpdateOptions) (client.ServiceUpdateResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.services[id]
	if !ok {
		return client.ServiceUpdateResult{}, cerrdefs.ErrNotFound.WithMessage("service " + id + " not found")
	}
	e.log.add("update %s stop=%s", s.svc.Spec.Name, o.Spec.Labels[LabelStopReason])
	if e.updateErr != nil {
		return client.ServiceUpdateResult{}, e.updateErr
	}
	s.svc.Spec = o.Spec
	if _, _, ok := stopOf(o.Spec.Labels); ok {
		s.task.DesiredState = swarm.TaskStateShutdown
	}
	return client.ServiceUpdateResult{}, nil
}

func (e *fakeEngine) ServiceList(_ context.Context, o client.ServiceListOptions) (client.ServiceListResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var res client.ServiceListResult
	for _, s := range e.services {
		if names := o.Filters["name"]; len(names) > 0 && !names[s.svc.Spec.Name] {
			continue
		}
		res.Items = append(res.Items, s.svc)
	}
	return res, nil
}

func (e *fakeEngine) TaskList(context.Context, client.TaskListOptions) (client.TaskListResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var res client.TaskListResult
	for _, s := range e.services {
		res.Items = append(res.Items, s.task)
	}
	return res, nil
}

func (e *fakeEngine) NetworkInspect(_ context.Context, id string, _ client.NetworkInspectOptions) (client.NetworkInspectResult, error) {
	if id == "known" {
		return client.NetworkInspectResult{}, nil
	}
	return client.NetworkInspectResult{}, cerrdefs.ErrNotFound.WithMessage("network " + id + " not found")
}

// SecretList and ConfigList match names by prefix, as the Engine's name
// filter does.
func (e *fakeEngine) SecretList(_ context.Context, o client.SecretListOptions) (client.SecretListResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log.add("list secrets")
	var res client.SecretListResult
	for name, id := range e.secrets {
		if prefixed(name, o.Filters["name"]) {
			s := swarm.Secret{ID: id}
			s.Spec.Name = name
			res.Items = append(res.Items, s)
		}
	}
	return res, nil
}

func (e *fakeEngine) ConfigList(_ context.Context, o client.ConfigListOptions) (client.ConfigListResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log.add("list configs")
	var res client.ConfigListResult
	for name, id := range e.configs {
		if prefixed(name, o.Filters["name"]) {
			c := swarm.Config{ID: id}
			c.Spec.Name = name
			res.Items = append(res.Items, c)
		}
	}
	return res, nil
}

// prefixed reports whether name starts with one of prefixes, or prefixes is
// empty.
func prefixed(name string, prefixes map[string]bool) bool {
	for p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return len(prefixes) == 0
}

func (e *fakeEngine) NodeList(context.Context, client.NodeListOptions) (client.NodeListResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := swarm.Node{ID: "n1"}
	n.Description.Hostname = "host1"
	n.Status.State = swarm.NodeStateReady
	if e.nodeDown {
		n.Status.State = swarm.NodeStateDown
	}
	return client.NodeListResult{Items: []swarm.Node{n}}, nil
}

func (e *fakeEngine) setNodeDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nodeDown = down
}

// setRunning marks the task of the named service running.
func (e *fakeEngine) setRunning(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.services {
		if s.svc.Spec.Name == name {
			s.task.Status = swarm.TaskStatus{State: swarm.TaskStateRunning, Timestamp: e.now(),
				ContainerStatus: &swarm.ContainerStatus{ContainerID: "c-" + s.svc.ID}}
			s.logs = "stdout:partial\n"
		}
	}
}

func (e *fakeEngine) ServiceRemove(_ context.Context, id string, _ client.ServiceRemoveOptions) (client.ServiceRemoveResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log.add("remove %s", id)
	if _, ok := e.services[id]; !ok {
		return client.ServiceRemoveResult{}, cerrdefs.ErrNotFound.WithMessage("service not found")
	}
	delete(e.services, id)
	return client.ServiceRemoveResult{}, nil
}

func (e *fakeEngine) ServiceLogs(_ context.Context, id string, _ client.ServiceLogsOptions) (client.ServiceLogsResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log.add("logs %s", id)
	s, ok := e.services[id]
	if !ok {
		return nil, cerrdefs.ErrNotFound.WithMessage("service not found")
	}
	var buf bytes.Buffer
	for _, line := range strings.Split(strings.TrimSuffix(s.logs, "\n"), "\n") {
		if line == "" {
			continue
		}
		stream, text, _ := strings.Cut(line, ":")
		var hdr [8]byte
		hdr[0] = 1
		if stream == "stderr" {
			hdr[0] = 2
		}
		payload := "2026-11-26T08:00:00.000000000Z " + text + "\n"
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
		buf.Write(hdr[:])
		buf.WriteString(payload)
	}
	if e.logsUnavailable {
		msg := "incomplete log stream: node n1 is not available"
		var hdr [8]byte
		hdr[0] = 3
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(msg)))
		buf.Write(hdr[:])
		buf.WriteString(msg)
	}
	return io.NopCloser(&buf), nil
}

func (e *fakeEngine) Events(ctx context.Context, _ client.EventsListOptions) client.EventsResult {
	errs := make(chan error, 1)
	go func() { <-ctx.Done(); errs <- ctx.Err() }()
	return client.EventsResult{Messages: make(chan events.Message), Err: errs}
}

// finishTask sets the task of the only service named like prefix to a
// terminal state.
func (e *fakeEngine) finishTask(name string, state swarm.TaskState, exitCode int, errText, logs string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.services {
		if s.svc.Spec.Name == name {
			s.task.Status = swarm.TaskStatus{State: state, Err: errText, Timestamp: e.now(),
				ContainerStatus: &swarm.ContainerStatus{ContainerID: "c-" + s.svc.ID, ExitCode: exitCode}}
			s.logs = logs
			return
		}
	}
	panic("no service " + name)
}

func (e *fakeEngine) serviceNames() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []string
	for _, s := range e.services {
		names = append(names, s.svc.Spec.Name)
	}
	return names
}

// recordingStore journals attempt writes of a real store and can fail them.
type recordingStore struct {
	jobs.Store
	log *journal
	// failFinish makes writes of finished attempts fail.
	failFinish bool
}

func (s *recordingStore) PutAttempt(ctx context.Context, jobID string, a jobs.Attempt, events ...jobs.Event) error {
	if s.failFinish && a.Finished() {
		return fmt.Errorf("injected store failure")
	}
	s.log.add("put attempt %d %s removed=%v", a.Attempt, a.State, a.Removed)
	return s.Store.PutAttempt(ctx, jobID, a, events...)
}

func createOpts(j *jobs.Job) client.ServiceCreateOptions {
	return client.ServiceCreateOptions{Spec: serviceSpec("inst1", j, 0, 0)}
}
