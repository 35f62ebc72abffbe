package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/policy"
)

// fakeObjects is a Swarm's secrets and configs, ID by name; it records the
// names it was asked about.
type fakeObjects struct {
	mu               sync.Mutex
	secrets, configs map[string]string
	err              error
	asked            []string
}

func (f *fakeObjects) SecretIDs(_ context.Context, names []string) (map[string]string, error) {
	return f.resolve("secret", f.secrets, names)
}

func (f *fakeObjects) ConfigIDs(_ context.Context, names []string) (map[string]string, error) {
	return f.resolve("config", f.configs, names)
}

func (f *fakeObjects) resolve(kind string, all map[string]string, names []string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, names...)
	if f.err != nil {
		return nil, f.err
	}
	ids := map[string]string{}
	var err error
	for _, n := range names {
		if id, ok := all[n]; ok {
			ids[n] = id
		} else if err == nil {
			err = cerrdefs.ErrNotFound.WithMessage(fmt.Sprintf("%s %q does not exist in the Swarm", kind, n))
		}
	}
	return ids, err
}

func TestCreateJobSecretsAndConfigs(t *testing.T) {
	objects := &fakeObjects{secrets: map[string]string{"a_db": "s1", "a_tls": "s2", "b_db": "s3"}, configs: map[string]string{"a_app": "c1"}}
	e := newTestEnv(t, func(c *Config) { c.Objects = objects })
	a := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)

	rec := e.as(a, "POST", "/v1/jobs", `{"image":"busybox",
		"secrets":[{"name":"a_db","target":"db","mode":256},{"name":"a_tls","target":"/etc/tls/key","uid":"1000","gid":"1000"}],
		"configs":[{"name":"a_app"}]}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := decodeBody[types.Job](t, rec)
	wantSecrets := []types.FileRef{
		{Name: "a_db", Target: "db", UID: "0", GID: "0", Mode: ptr[uint32](0o400)},
		{Name: "a_tls", Target: "/etc/tls/key", UID: "1000", GID: "1000", Mode: ptr[uint32](0o444)},
	}
	wantConfigs := []types.FileRef{{Name: "a_app", Target: "/a_app", UID: "0", GID: "0", Mode: ptr[uint32](0o444)}}
	if diff := cmp.Diff(wantSecrets, got.Spec.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantConfigs, got.Spec.Configs); diff != "" {
		t.Errorf("configs (-want +got):\n%s", diff)
	}
	stored := e.store.get(got.ID).Spec
	if diff := cmp.Diff([]jobs.FileRef{
		{Name: "a_db", Target: "db", UID: "0", GID: "0", Mode: 0o400},
		{Name: "a_tls", Target: "/etc/tls/key", UID: "1000", GID: "1000", Mode: 0o444},
	}, stored.Secrets); diff != "" {
		t.Errorf("stored secrets (-want +got):\n%s", diff)
	}

	tests := []struct {
		name   string
		body   string
		status int
		code   string
		msg    []string
	}{
		{"missing secret", `{"image":"busybox","secrets":[{"name":"a_db"},{"name":"a_nope"}]}`, 400, types.CodeInvalid,
			[]string{`secrets[1].name: secret "a_nope" does not exist in the Swarm`}},
		{"missing config", `{"image":"busybox","configs":[{"name":"a_nope"}]}`, 400, types.CodeInvalid,
			[]string{`configs[0].name: config "a_nope" does not exist in the Swarm`}},
		{"another tenant's secret", `{"image":"busybox","secrets":[{"name":"b_db"}]}`, 403, types.CodePolicyViolation,
			[]string{`secrets[0].name: secret "b_db"`, "policy rule " + policy.RuleSecrets, `tenant "a"`}},
		{"another tenant's config", `{"image":"busybox","configs":[{"name":"b_app"}]}`, 403, types.CodePolicyViolation,
			[]string{"policy rule " + policy.RuleConfigs}},
		{"a secret of no tenant", `{"image":"busybox","secrets":[{"name":"db"}]}`, 403, types.CodePolicyViolation,
			[]string{"policy rule " + policy.RuleSecrets}},
		{"relative target with ..", `{"image":"busybox","secrets":[{"name":"a_db","target":"../x"}]}`, 400, types.CodeInvalid,
			[]string{"secrets[0].target"}},
		{"relative config target", `{"image":"busybox","configs":[{"name":"a_app","target":"etc/app"}]}`, 400, types.CodeInvalid,
			[]string{"configs[0].target"}},
		{"duplicate target", `{"image":"busybox","secrets":[{"name":"a_db","target":"x"},{"name":"a_tls","target":"/run/secrets/x"}]}`, 400, types.CodeInvalid,
			[]string{"secrets[1].target: /run/secrets/x is also the target of secrets[0]"}},
		{"mode beyond 0777", `{"image":"busybox","secrets":[{"name":"a_db","mode":4095}]}`, 400, types.CodeInvalid,
			[]string{"secrets[0].mode"}},
		{"negative mode", `{"image":"busybox","secrets":[{"name":"a_db","mode":-1}]}`, 400, types.CodeInvalid,
			[]string{"secrets.mode: must be a non-negative integer"}},
		{"octal mode in JSON", `{"image":"busybox","secrets":[{"name":"a_db","mode":0400}]}`, 400, types.CodeInvalid,
			[]string{"malformed JSON"}},
		{"uid not a number", `{"image":"busybox","secrets":[{"name":"a_db","uid":"root"}]}`, 400, types.CodeInvalid,
			[]string{"secrets[0].uid"}},
		{"bad name", `{"image":"busybox","secrets":[{"name":"a_db/../x"}]}`, 400, types.CodeInvalid,
			[]string{"secrets[0].name"}},
		{"unknown field", `{"image":"busybox","secrets":[{"name":"a_db","driver":"x"}]}`, 400, types.CodeInvalid,
			[]string{`unknown field "driver"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objects.mu.Lock()
			objects.asked = nil
			objects.mu.Unlock()
			wantError(t, e.as(a, "POST", "/v1/jobs", tt.body), tt.status, tt.code, tt.msg...)
			if tt.status == 403 && len(objects.asked) > 0 {
				// The policy answers first: a tenant cannot probe which
				// secrets of others exist.
				t.Errorf("the Swarm was asked about %v", objects.asked)
			}
		})
	}
	if n := len(e.store.jobs); n != 1 {
		t.Errorf("%d jobs stored, want only the first", n)
	}

	// The Swarm cannot be asked: 503, and the cause goes to the log only.
	objects.err = errors.New("engine: connection refused")
	wantError(t, e.as(a, "POST", "/v1/jobs", `{"image":"busybox","secrets":[{"name":"a_db"}]}`), 503, types.CodeUnavailable,
		"secrets: the Swarm could not be asked")
	objects.err = nil

	// Without a resolver the names are not checked at submission.
	unchecked := newTestEnv(t)
	rec = unchecked.as(testAdminToken, "POST", "/v1/jobs", `{"image":"busybox","secrets":[{"name":"default_x"}]}`)
	if rec.Code != http.StatusCreated {
		t.Errorf("without Objects: %d %s", rec.Code, rec.Body)
	}
}

func TestCreateJobMaxLogBytes(t *testing.T) {
	pol, err := policy.New(policy.File{Defaults: policy.Rules{MaxLogBytes: ptr[int64](4096)},
		Tenants: map[string]policy.Rules{"big": {MaxLogBytes: ptr[int64](1 << 20)}}})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, func(c *Config) { c.Policy = policy.Fixed(pol.WithDefaultLogBytes(65536)) })
	a := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	big := e.token("big", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	tests := []struct {
		name string
		tok  string
		body string
		want int64 // the job's maxLogBytes; 0: refused
		code string
		msg  string
	}{
		{"unset gets the ceiling", a, `{"image":"busybox"}`, 4096, "", ""},
		{"unset gets the server's default below a higher ceiling", big, `{"image":"busybox"}`, 65536, "", ""},
		{"within the ceiling", a, `{"image":"busybox","maxLogBytes":1000}`, 1000, "", ""},
		{"above the server's default within the ceiling", big, `{"image":"busybox","maxLogBytes":500000}`, 500000, "", ""},
		{"twice the ceiling", a, `{"image":"busybox","maxLogBytes":8192}`, 0, types.CodePolicyViolation,
			"maxLogBytes: 8192 exceeds the ceiling 4096 (policy rule " + policy.RuleMaxLogBytes + ` of tenant "a")`},
		{"zero", a, `{"image":"busybox","maxLogBytes":0}`, 0, types.CodeInvalid, "maxLogBytes: must be between 1 and"},
		{"negative", a, `{"image":"busybox","maxLogBytes":-1}`, 0, types.CodeInvalid, "maxLogBytes: must be between 1 and"},
		{"beyond the hard limit", big, `{"image":"busybox","maxLogBytes":1073741825}`, 0, types.CodeInvalid, "maxLogBytes: must be between 1 and 1073741824"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.as(tt.tok, "POST", "/v1/jobs", tt.body)
			if tt.code != "" {
				status := 400
				if tt.code == types.CodePolicyViolation {
					status = 403
				}
				wantError(t, rec, status, tt.code, tt.msg)
				return
			}
			if rec.Code != http.StatusCreated {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := decodeBody[types.Job](t, rec)
			if got.Spec.MaxLogBytes == nil || *got.Spec.MaxLogBytes != tt.want {
				t.Errorf("maxLogBytes = %v, want %d", got.Spec.MaxLogBytes, tt.want)
			}
			if s := e.store.get(got.ID).Spec.MaxLogBytes; s != tt.want {
				t.Errorf("stored maxLogBytes = %d, want %d", s, tt.want)
			}
		})
	}
}
