package controller

import (
	"maps"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/swarm"

	"github.com/swarmjob/swarmjob/jobs"
)

func TestFileReferences(t *testing.T) {
	spec := jobs.Spec{Image: "img:1",
		Secrets: []jobs.FileRef{{Name: "a_db", Target: "db", UID: "0", GID: "0", Mode: 0o400}, {Name: "a_tls", Target: "/etc/tls/key", UID: "1000", GID: "1001", Mode: 0o440}},
		Configs: []jobs.FileRef{{Name: "a_app.conf", Target: "/etc/app.conf", UID: "0", GID: "0", Mode: 0o444}},
	}
	got := serviceSpec("inst1", &jobs.Job{ID: "j1", Spec: spec}, 0, 0).TaskTemplate.ContainerSpec
	wantSecrets := []*swarm.SecretReference{
		{SecretName: "a_db", File: &swarm.SecretReferenceFileTarget{Name: "db", UID: "0", GID: "0", Mode: 0o400}},
		{SecretName: "a_tls", File: &swarm.SecretReferenceFileTarget{Name: "/etc/tls/key", UID: "1000", GID: "1001", Mode: 0o440}},
	}
	wantConfigs := []*swarm.ConfigReference{
		{ConfigName: "a_app.conf", File: &swarm.ConfigReferenceFileTarget{Name: "/etc/app.conf", UID: "0", GID: "0", Mode: 0o444}},
	}
	if diff := cmp.Diff(wantSecrets, got.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantConfigs, got.Configs); diff != "" {
		t.Errorf("configs (-want +got):\n%s", diff)
	}
	if c := serviceSpec("inst1", &jobs.Job{ID: "j1", Spec: jobs.Spec{Image: "img:1"}}, 0, 0).TaskTemplate.ContainerSpec; c.Secrets != nil || c.Configs != nil {
		t.Errorf("a job without secrets or configs has %v, %v", c.Secrets, c.Configs)
	}
}

func TestObjectsExactNames(t *testing.T) {
	e := newFakeEngine(&journal{}, nil)
	// The Engine's name filter matches prefixes: a_db also lists a_db2.
	e.secrets = map[string]string{"a_db": "s1", "a_db2": "s2", "b_db": "s3"}
	e.configs = map[string]string{"a_app": "c1"}
	o := Objects{Engine: e}
	tests := []struct {
		name    string
		configs bool
		names   []string
		want    map[string]string
		missing string // the name the not-found error names; "" for none
	}{
		{name: "none", names: nil, want: map[string]string{}},
		{name: "one", names: []string{"a_db"}, want: map[string]string{"a_db": "s1"}},
		{name: "two, one a prefix of the other", names: []string{"a_db2", "a_db"}, want: map[string]string{"a_db": "s1", "a_db2": "s2"}},
		{name: "twice", names: []string{"a_db", "a_db"}, want: map[string]string{"a_db": "s1"}},
		{name: "a prefix only", names: []string{"a_d"}, want: map[string]string{}, missing: "a_d"},
		{name: "one missing", names: []string{"a_db", "a_nope"}, want: map[string]string{"a_db": "s1"}, missing: "a_nope"},
		{name: "config", configs: true, names: []string{"a_app"}, want: map[string]string{"a_app": "c1"}},
		{name: "a secret is no config", configs: true, names: []string{"a_db"}, want: map[string]string{}, missing: "a_db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resolve, kind := o.SecretIDs, "secret"
			if tt.configs {
				resolve, kind = o.ConfigIDs, "config"
			}
			got, err := resolve(t.Context(), tt.names)
			switch {
			case tt.missing == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tt.missing != "" && (!cerrdefs.IsNotFound(err) || !strings.Contains(err.Error(), kind+` "`+tt.missing+`" does not exist`)):
				t.Fatalf("error = %v, want not found naming %s %q", err, kind, tt.missing)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("IDs = %v, want %v", got, tt.want)
			}
		})
	}
}

// An attempt's service gets the IDs of its job's secrets and configs,
// looked up at its creation.
func TestSyncResolvesObjects(t *testing.T) {
	h := newHarness(t)
	h.engine.secrets = map[string]string{"a_db": "sec1", "a_db2": "sec2"}
	h.engine.configs = map[string]string{"a_app": "cfg1"}
	h.submit(t, jobs.Spec{Image: "img",
		Secrets: []jobs.FileRef{{Name: "a_db", Mode: 0o400}},
		Configs: []jobs.FileRef{{Name: "a_app", Mode: 0o444}},
	})
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	svc := h.engine.services["svc1"]
	if svc == nil {
		t.Fatalf("no service created; journal %q", h.log.list())
	}
	c := svc.svc.Spec.TaskTemplate.ContainerSpec
	wantSecrets := []*swarm.SecretReference{{SecretID: "sec1", SecretName: "a_db", File: &swarm.SecretReferenceFileTarget{Name: "a_db", UID: "0", GID: "0", Mode: 0o400}}}
	wantConfigs := []*swarm.ConfigReference{{ConfigID: "cfg1", ConfigName: "a_app", File: &swarm.ConfigReferenceFileTarget{Name: "/a_app", UID: "0", GID: "0", Mode: 0o444}}}
	if diff := cmp.Diff(wantSecrets, c.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantConfigs, c.Configs); diff != "" {
		t.Errorf("configs (-want +got):\n%s", diff)
	}
}

// A secret removed after the job was submitted fails the attempt with a
// message naming it, without retrying the create.
func TestSyncObjectRemoved(t *testing.T) {
	tests := []struct {
		name    string
		spec    jobs.Spec
		wantErr string
	}{
		{"secret", jobs.Spec{Image: "img", Secrets: []jobs.FileRef{{Name: "a_gone"}}}, `creating service: secret "a_gone" does not exist in the Swarm`},
		{"config", jobs.Spec{Image: "img", Configs: []jobs.FileRef{{Name: "a_gone"}}}, `creating service: config "a_gone" does not exist in the Swarm`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.engine.secrets = map[string]string{"a_gone2": "sec2"}
			h.submit(t, tt.spec)
			if err := h.step(t); err != nil {
				t.Fatal(err)
			}
			if h.log.index("create ") >= 0 {
				t.Errorf("a service was created: %q", h.log.list())
			}
			j := h.job(t)
			a := j.Status.Attempts[0]
			if a.State != jobs.AttemptFailed || a.Reason != jobs.AttemptReasonCreateFailed || a.Error != tt.wantErr {
				t.Errorf("attempt = %+v, want failed (CreateFailed) with %q", a, tt.wantErr)
			}
			if j.Status.Phase != jobs.PhaseFailed {
				t.Errorf("phase = %s, want Failed (backoffLimit 0)", j.Status.Phase)
			}
		})
	}
}
