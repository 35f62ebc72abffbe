package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"

	"github.com/swarmjob/swarmjob/jobs"
)

func TestServiceSpec(t *testing.T) {
	one := uint64(1)
	labels := map[string]string{LabelManaged: "true", LabelInstance: "inst1", LabelJob: "j1", LabelIndex: "0", LabelAttempt: "2"}
	base := func() swarm.ServiceSpec {
		return swarm.ServiceSpec{
			Annotations: swarm.Annotations{Name: "swarmjob-j1-0-2", Labels: labels},
			Mode:        swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
			TaskTemplate: swarm.TaskSpec{
				ContainerSpec: &swarm.ContainerSpec{
					Image:  "img:1",
					Env:    []string{"SWARMJOB_JOB_ID=j1", "SWARMJOB_INDEX=0", "SWARMJOB_ATTEMPT=2"},
					Labels: labels,
				},
				RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			},
		}
	}
	tests := []struct {
		name string
		spec jobs.Spec
		want func() swarm.ServiceSpec
	}{
		{"minimal", jobs.Spec{Image: "img:1"}, base},
		{
			name: "everything",
			spec: jobs.Spec{
				Image: "img:1", Command: []string{"sh", "-c"}, Args: []string{"echo hi"},
				Env:        map[string]string{"B": "2", "A": "1"},
				WorkingDir: "/work", User: "1000:1000",
				Resources: jobs.Resources{
					Limits:       jobs.ResourceAmounts{CPUs: 1.5, MemoryBytes: 64 << 20},
					Reservations: jobs.ResourceAmounts{CPUs: 0.25},
				},
				Placement:              jobs.Placement{Constraints: []string{"node.role==manager"}},
				Networks:               []string{"jobs-net"},
				StopGracePeriodSeconds: ptr[int64](30),
			},
			want: func() swarm.ServiceSpec {
				s := base()
				c := s.TaskTemplate.ContainerSpec
				c.Command, c.Args = []string{"sh", "-c"}, []string{"echo hi"}
				c.Env = append([]string{"A=1", "B=2"}, c.Env...)
				c.Dir, c.User = "/work", "1000:1000"
				c.StopGracePeriod = ptr(30 * time.Second)
				s.TaskTemplate.Resources = &swarm.ResourceRequirements{
					Limits:       &swarm.Limit{NanoCPUs: 1_500_000_000, MemoryBytes: 64 << 20},
					Reservations: &swarm.Resources{NanoCPUs: 250_000_000},
				}
				s.TaskTemplate.Placement = &swarm.Placement{Constraints: []string{"node.role==manager"}}
				s.TaskTemplate.Networks = []swarm.NetworkAttachmentConfig{{Target: "jobs-net"}}
				return s
			},
		},
		{
			name: "mounts",
			spec: jobs.Spec{Image: "img:1", Mounts: []jobs.Mount{
				{Type: jobs.MountBind, Source: "/srv/data", Target: "/data", ReadOnly: true},
				{Type: jobs.MountVolume, Source: "a_cache", Target: "/cache"},
				{Type: jobs.MountTmpfs, Target: "/tmp"},
			}},
			want: func() swarm.ServiceSpec {
				s := base()
				s.TaskTemplate.ContainerSpec.Mounts = []mount.Mount{
					{Type: mount.TypeBind, Source: "/srv/data", Target: "/data", ReadOnly: true},
					{Type: mount.TypeVolume, Source: "a_cache", Target: "/cache"},
					{Type: mount.TypeTmpfs, Target: "/tmp"},
				}
				return s
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serviceSpec("inst1", &jobs.Job{ID: "j1", Spec: tt.spec}, 0, 2)
			if diff := cmp.Diff(tt.want(), got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

// A stop keeps the spec and adds what tells it: labels, constraints no node
// meets, a stop-first update; stopOf reads it back.
func TestStopSpec(t *testing.T) {
	spec := serviceSpec("inst1", &jobs.Job{ID: "j1", Spec: jobs.Spec{Image: "img:1", Placement: jobs.Placement{Constraints: []string{"node.role==worker"}}}}, 0, 2)
	at := time.Date(2026, 11, 26, 12, 0, 0, 5, time.UTC)
	why := stopReason{Reason: jobs.AttemptReasonDeadlineExceeded, Message: "stopped: too long", Failure: true}
	got := stopSpec(spec, why, at)
	if diff := cmp.Diff(append([]string{"node.role==worker"}, stopConstraints...), got.TaskTemplate.Placement.Constraints); diff != "" {
		t.Errorf("constraints (-want +got):\n%s", diff)
	}
	if got.UpdateConfig == nil || got.UpdateConfig.Order != swarm.UpdateOrderStopFirst {
		t.Errorf("update config %+v, want stop-first", got.UpdateConfig)
	}
	if r, when, ok := stopOf(got.Labels); !ok || r != why || !when.Equal(at) {
		t.Errorf("stopOf = %+v, %v, %v; want %+v at %v", r, when, ok, why, at)
	}
	if _, _, ok := stopOf(spec.Labels); ok || len(spec.TaskTemplate.Placement.Constraints) != 1 || spec.Labels[LabelStopReason] != "" {
		t.Errorf("stopSpec changed the spec it was given: %+v", spec)
	}
	if _, _, _, ok := AttemptOf("inst1", got.Labels); !ok {
		t.Errorf("a stopped service is no longer an attempt: %v", got.Labels)
	}
}

func TestAttemptLabels(t *testing.T) {
	tests := []struct {
		labels map[string]string
		ok     bool
	}{
		{map[string]string{LabelManaged: "true", LabelInstance: "inst1", LabelJob: "j", LabelIndex: "1", LabelAttempt: "2"}, true},
		{map[string]string{LabelManaged: "true", LabelInstance: "other", LabelJob: "j", LabelIndex: "1", LabelAttempt: "2"}, false},
		{map[string]string{LabelManaged: "true", LabelJob: "j", LabelIndex: "1", LabelAttempt: "2"}, false},
		{map[string]string{LabelJob: "j", LabelIndex: "1", LabelAttempt: "2"}, false},
		{map[string]string{LabelManaged: "true", LabelIndex: "1", LabelAttempt: "2"}, false},
		{map[string]string{LabelManaged: "true", LabelInstance: "inst1", LabelJob: "j", LabelIndex: "x", LabelAttempt: "2"}, false},
		{map[string]string{LabelManaged: "true", LabelInstance: "inst1", LabelJob: "j", LabelIndex: "1", LabelAttempt: "-1"}, false},
	}
	for _, tt := range tests {
		if _, _, _, ok := AttemptOf("inst1", tt.labels); ok != tt.ok {
			t.Errorf("AttemptOf(%v) ok = %v, want %v", tt.labels, ok, tt.ok)
		}
	}
}
