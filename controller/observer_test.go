package controller

import (
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
)

// The attempt's task is the service's own, never the pending replacement a
// stop adds, whatever the tasks' times say (they are the leader's clock).
func TestSnapshotTakesTheAttemptsTask(t *testing.T) {
	labels := map[string]string{LabelManaged: "true", LabelInstance: "inst1", LabelJob: "j1", LabelIndex: "0", LabelAttempt: "0"}
	stopped := stopSpec(swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "swarmjob-j1-0-0", Labels: labels}},
		stopReason{Reason: "Cancelled", Message: "stopped: job cancelled"}, t0)
	svc := swarm.Service{ID: "s1", Spec: stopped}
	own := swarm.Task{ID: "own", ServiceID: "s1", Status: swarm.TaskStatus{State: swarm.TaskStateShutdown,
		ContainerStatus: &swarm.ContainerStatus{ContainerID: "c1"}}}
	own.Meta.CreatedAt = t0
	replacement := swarm.Task{ID: "replacement", ServiceID: "s1", Status: swarm.TaskStatus{State: swarm.TaskStatePending, Err: "no suitable node"},
		Spec: swarm.TaskSpec{Placement: &swarm.Placement{Constraints: stopConstraints}}}
	// A leader whose clock is behind dates the replacement earlier.
	replacement.Meta.CreatedAt = t0.Add(-time.Minute)

	snap := buildSnapshot("inst1", t0, []swarm.Service{svc}, []swarm.Task{replacement, own}, nil, time.Minute)
	atts := snap.byJob["j1"]
	if len(atts) != 1 || atts[0].Task == nil || atts[0].Task.ID != "own" {
		t.Fatalf("observed %+v, want the service's own task", atts)
	}
	if atts[0].Stop == nil || atts[0].Stop.Reason != "Cancelled" || !atts[0].StopAt.Equal(t0) {
		t.Errorf("stop = %+v at %v, want the labels' Cancelled at %v", atts[0].Stop, atts[0].StopAt, t0)
	}
	// The task pruned by a history limit of 1: only the replacement is
	// left, and the attempt has no task.
	snap = buildSnapshot("inst1", t0, []swarm.Service{svc}, []swarm.Task{replacement}, nil, time.Minute)
	if atts := snap.byJob["j1"]; len(atts) != 1 || atts[0].Task != nil {
		t.Errorf("observed %+v, want no task", atts)
	}
}
