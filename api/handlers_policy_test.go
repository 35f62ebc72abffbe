package api

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/policy"
)

func TestPolicyRoutes(t *testing.T) {
	keeper, err := policy.NewKeeper(t.Context(), policy.KeeperConfig{})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, func(c *Config) { c.Policy = keeper })
	a := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)

	got := decodeBody[types.Policy](t, e.as(testAdminToken, "GET", "/v1/policy", ""))
	if got.Source != types.PolicySourceDefault {
		t.Errorf("a new server's policy: source %q, want default", got.Source)
	}
	if tp := decodeBody[types.TenantPolicy](t, e.as(a, "GET", "/v1/policy/tenants/a", "")); tp.Rules.AllowedImages != nil {
		t.Errorf("by default any image, got allowedImages %v", tp.Rules.AllowedImages)
	}

	doc := `{"defaults":{"allowedImages":["registry.example.com/*"],"maxParallelism":2},"tenants":{"b":{"allowedImages":[],"maxActiveAttempts":1}}}`
	put := decodeBody[types.Policy](t, e.as(testAdminToken, "PUT", "/v1/policy", doc))
	want := types.PolicySpec{
		Defaults: types.PolicyRules{AllowedImages: []string{"registry.example.com/*"}, MaxParallelism: new(2)},
		Tenants:  map[string]types.PolicyRules{"b": {AllowedImages: []string{}, MaxActiveAttempts: new(1)}},
	}
	if put.Source != types.PolicySourceAPI || !cmp.Equal(put.Policy, want) {
		t.Errorf("PUT answered %+v, want source api and %+v", put, want)
	}
	if got := decodeBody[types.Policy](t, e.as(testAdminToken, "GET", "/v1/policy", "")); !cmp.Equal(got, put) {
		t.Errorf("GET after PUT: %s", cmp.Diff(put, got))
	}
	// In force for the next submission, and shown to the tenant with the
	// defaults filled in.
	wantError(t, e.as(a, "POST", "/v1/jobs", `{"image":"busybox"}`), 403, types.CodePolicyViolation, "allowedImages", `tenant "a"`)
	tp := decodeBody[types.TenantPolicy](t, e.as(a, "GET", "/v1/policy/tenants/a", ""))
	if tp.Tenant != "a" || tp.Source != types.PolicySourceAPI || *tp.Rules.MaxParallelism != 2 ||
		!reflect.DeepEqual(tp.Rules.AllowedVolumes, []string{"a_*"}) {
		t.Errorf("tenant a's rules: %+v", tp)
	}
	if tb := decodeBody[types.TenantPolicy](t, e.as(testAdminToken, "GET", "/v1/policy/tenants/b", "")); tb.Rules.AllowedImages == nil || len(tb.Rules.AllowedImages) != 0 {
		t.Errorf("tenant b's empty allowedImages shows as %v", tb.Rules.AllowedImages)
	}

	for _, tt := range []struct {
		name, tok, method, path, body string
		status                        int
		code                          string
		msg                           []string
	}{
		{"tenant reads the whole policy", a, "GET", "/v1/policy", "", 403, types.CodeForbidden, []string{"lacks the scope"}},
		{"tenant sets the policy", a, "PUT", "/v1/policy", `{"defaults":{}}`, 403, types.CodeForbidden, []string{"lacks the scope"}},
		{"another tenant's rules", a, "GET", "/v1/policy/tenants/b", "", 403, types.CodeForbidden, []string{"this token's tenant is a"}},
		{"a malformed tenant", testAdminToken, "GET", "/v1/policy/tenants/A_B", "", 400, types.CodeInvalid, []string{"tenant"}},
		{"an unknown field", testAdminToken, "PUT", "/v1/policy", `{"defaults":{"maxParalelism":2}}`, 400, types.CodeInvalid, []string{"maxParalelism", "maxParallelism"}},
		{"a negative ceiling", testAdminToken, "PUT", "/v1/policy", `{"defaults":{"maxCpus":-1}}`, 400, types.CodeInvalid, []string{"defaults.maxCpus", "positive"}},
		{"a bad pattern", testAdminToken, "PUT", "/v1/policy", `{"tenants":{"c":{"allowedImages":["["]}}}`, 400, types.CodeInvalid, []string{"tenants.c.allowedImages[0]"}},
		{"a relative bind prefix", testAdminToken, "PUT", "/v1/policy", `{"defaults":{"allowedBindPrefixes":["srv"]}}`, 400, types.CodeInvalid, []string{"absolute"}},
		{"a malformed tenant name", testAdminToken, "PUT", "/v1/policy", `{"tenants":{"Team A":{}}}`, 400, types.CodeInvalid, []string{"tenants.Team A"}},
		{"not JSON", testAdminToken, "PUT", "/v1/policy", `defaults: {}`, 400, types.CodeInvalid, []string{"malformed JSON"}},
		{"a null document", testAdminToken, "PUT", "/v1/policy", `null`, 400, types.CodeInvalid, []string{"got null"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.as(tt.tok, tt.method, tt.path, tt.body), tt.status, tt.code, tt.msg...)
		})
	}
	// Refused changes left the policy as it was.
	if got := decodeBody[types.Policy](t, e.as(testAdminToken, "GET", "/v1/policy", "")); !cmp.Equal(got, put) {
		t.Errorf("after refused changes: %s", cmp.Diff(put, got))
	}
	// A policy that allows the image lets the tenant submit it.
	decodeBody[types.Policy](t, e.as(testAdminToken, "PUT", "/v1/policy", `{"defaults":{}}`))
	if rec := e.as(a, "POST", "/v1/jobs", `{"image":"busybox"}`); rec.Code != 201 {
		t.Errorf("after relaxing the policy: %d %s", rec.Code, rec.Body)
	}
}

func TestPolicyFromAFileIsNotSetThroughTheAPI(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte("defaults:\n  maxCpus: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keeper, err := policy.NewKeeper(t.Context(), policy.KeeperConfig{File: file})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, func(c *Config) { c.Policy = keeper })
	wantError(t, e.as(testAdminToken, "PUT", "/v1/policy", `{"defaults":{}}`), 409, types.CodeConflict, file, "SIGHUP")
	got := decodeBody[types.Policy](t, e.as(testAdminToken, "GET", "/v1/policy", ""))
	if got.Source != types.PolicySourceFile || got.File != file || *got.Policy.Defaults.MaxCPUs != 2 || got.ReloadError != "" {
		t.Errorf("GET /v1/policy: %+v", got)
	}
	// A reload that fails is said, with the policy still in force.
	if err := os.WriteFile(file, []byte("defaults:\n  maxCpus: -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keeper.Reload(); err == nil {
		t.Fatal("reloading a bad file: no error")
	}
	got = decodeBody[types.Policy](t, e.as(testAdminToken, "GET", "/v1/policy", ""))
	if !strings.Contains(got.ReloadError, "maxCpus") || got.ReloadFailedAt == nil || *got.Policy.Defaults.MaxCPUs != 2 {
		t.Errorf("GET /v1/policy after a failed reload: %+v", got)
	}
}

// The wire types and the policy's types are one format: every field of the
// one is a field of the other, with the same JSON name, so that a document
// converts both ways unchanged.
func TestPolicyWireTypesMatchThePolicyFormat(t *testing.T) {
	wire, domain := reflect.TypeFor[types.PolicyRules](), reflect.TypeFor[policy.Rules]()
	if wire.NumField() != domain.NumField() {
		t.Fatalf("types.PolicyRules has %d fields, policy.Rules %d", wire.NumField(), domain.NumField())
	}
	for i := range wire.NumField() {
		w, d := wire.Field(i), domain.Field(i)
		if w.Tag.Get("json") != d.Tag.Get("json") || w.Type != d.Type {
			t.Errorf("field %d: types.PolicyRules %s %s `%s`, policy.Rules %s %s `%s`", i, w.Name, w.Type, w.Tag, d.Name, d.Type, d.Tag)
		}
	}
	full := types.PolicyRules{
		AllowedBindPrefixes: []string{"/srv"}, AllowedVolumes: []string{}, AllowedImages: []string{"x/*"},
		AllowedSecrets: []string{"s_*"}, AllowedConfigs: []string{"c_*"}, MaxCPUs: new(1.5), MaxMemoryBytes: new(int64(1 << 30)),
		MaxCompletions: new(10), MaxParallelism: new(5), MaxActiveDeadlineSeconds: new(int64(60)), MaxLogBytes: new(int64(4096)),
		MaxActiveAttempts: new(3), MaxChildDepth: new(1), MaxChildren: new(7), MaxStopGracePeriodSeconds: new(int64(30)),
	}
	spec := types.PolicySpec{Defaults: full, Tenants: map[string]types.PolicyRules{"a": full}}
	p, err := policy.New(policyFromWire(spec))
	if err != nil {
		t.Fatal(err)
	}
	back := policyToWire(policy.State{Policy: p}).Policy
	if !cmp.Equal(back, spec) {
		t.Errorf("a document changed on its way through the policy: %s", cmp.Diff(spec, back))
	}
}
