package gc

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/controller"
	"github.com/swarmjob/swarmjob/jobs"
)

var now = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

type fakeEngine struct {
	services []swarm.Service
	removed  []string
}

func (e *fakeEngine) ServiceList(_ context.Context, o client.ServiceListOptions) (client.ServiceListResult, error) {
	var res client.ServiceListResult
	for _, s := range e.services {
		match := true
		for f := range o.Filters["label"] {
			k, v, _ := cut(f)
			if s.Spec.Labels[k] != v {
				match = false
			}
		}
		if match {
			res.Items = append(res.Items, s)
		}
	}
	return res, nil
}

func cut(f string) (string, string, bool) {
	for i := range f {
		if f[i] == '=' {
			return f[:i], f[i+1:], true
		}
	}
	return f, "", false
}

func (e *fakeEngine) ServiceRemove(_ context.Context, id string, _ client.ServiceRemoveOptions) (client.ServiceRemoveResult, error) {
	for i, s := range e.services {
		if s.ID == id {
			e.services = slices.Delete(e.services, i, i+1)
			e.removed = append(e.removed, id)
			return client.ServiceRemoveResult{}, nil
		}
	}
	return client.ServiceRemoveResult{}, cerrdefs.ErrNotFound
}

type fakeStore map[string]*jobs.Job

func (s fakeStore) GetJobForSync(_ context.Context, id string) (*jobs.Job, error) {
	if j, ok := s[id]; ok {
		return j, nil
	}
	return nil, jobs.Errorf(jobs.ENOTFOUND, "job %q not found", id)
}

func service(id string, age time.Duration, labels map[string]string) swarm.Service {
	s := swarm.Service{ID: id, Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: id, Labels: labels}}}
	s.Meta.CreatedAt = now.Add(-age)
	return s
}

func owned(job, index, attempt string) map[string]string {
	return map[string]string{controller.LabelManaged: "true", controller.LabelInstance: "me", controller.LabelJob: job, controller.LabelIndex: index, controller.LabelAttempt: attempt}
}

func TestCollect(t *testing.T) {
	foreign := owned("gone", "0", "0")
	foreign[controller.LabelInstance] = "another-instance"
	engine := &fakeEngine{services: []swarm.Service{
		service("recorded", time.Hour, owned("j1", "0", "0")),
		service("no-record", time.Hour, owned("gone", "0", "0")),
		service("young-no-record", 10*time.Second, owned("gone", "0", "1")),
		service("unrecorded-attempt", time.Hour, owned("j1", "0", "7")),
		service("other-instance", time.Hour, foreign),
		service("unlabelled", time.Hour, map[string]string{"app": "web"}),
		service("malformed", time.Hour, map[string]string{controller.LabelManaged: "true", controller.LabelInstance: "me", controller.LabelJob: "j1", controller.LabelIndex: "x"}),
	}}
	store := fakeStore{"j1": {ID: "j1", Status: jobs.Status{Phase: jobs.PhaseRunning, Attempts: []jobs.Attempt{{Index: 0, Attempt: 0}}}}}
	c := New(Config{Engine: engine, Store: store, Instance: "me", Grace: time.Minute, Now: func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler)})
	n, err := c.Collect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"no-record", "unrecorded-attempt"}
	slices.Sort(engine.removed)
	if n != 2 || !slices.Equal(engine.removed, want) {
		t.Errorf("removed %d: %v, want %v", n, engine.removed, want)
	}
}
