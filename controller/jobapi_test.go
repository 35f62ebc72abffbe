package controller

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"

	"github.com/swarmjob/swarmjob/jobs"
)

func TestWithJobAPI(t *testing.T) {
	api := &JobAPI{URL: "http://172.18.0.1:8080", Network: "jobs-net", Token: func(id string) string { return "sjc_" + id + "_mac" }}
	parent := &jobs.Job{ID: "p1", Spec: jobs.Spec{Image: "busybox", Networks: []string{"other"}, ChildJobs: &jobs.ChildJobs{MaxDepth: 1, MaxChildren: 2}}}
	plain := &jobs.Job{ID: "j1", Spec: jobs.Spec{Image: "busybox", Networks: []string{"jobs-net"}}}
	networks := func(s swarm.ServiceSpec) []string {
		var out []string
		for _, n := range s.TaskTemplate.Networks {
			out = append(out, n.Target)
		}
		return out
	}
	for _, tt := range []struct {
		name     string
		job      *jobs.Job
		api      *JobAPI
		env      []string // wanted among the env
		noEnv    bool     // no SWARMJOB_URL nor SWARMJOB_TOKEN
		networks []string
	}{
		{"parent", parent, api, []string{"SWARMJOB_URL=http://172.18.0.1:8080", "SWARMJOB_TOKEN=sjc_p1_mac"}, false, []string{"other", "jobs-net"}},
		{"job without childJobs", plain, api, nil, true, []string{"jobs-net"}},
		{"server without a job network", parent, nil, nil, true, []string{"other"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := serviceSpec("inst1", tt.job, 0, 0)
			withJobAPI(&spec, tt.job, tt.api)
			env := spec.TaskTemplate.ContainerSpec.Env
			for _, want := range tt.env {
				if !slices.Contains(env, want) {
					t.Errorf("env %q lacks %q", env, want)
				}
			}
			for _, v := range env {
				if tt.noEnv && (strings.HasPrefix(v, jobs.EnvURL+"=") || strings.HasPrefix(v, jobs.EnvToken+"=")) {
					t.Errorf("env has %q", v)
				}
			}
			if got := networks(spec); !slices.Equal(got, tt.networks) {
				t.Errorf("networks = %q, want %q", got, tt.networks)
			}
		})
	}
}
