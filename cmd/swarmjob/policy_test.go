package main

import (
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/swarmjob/swarmjob/api"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/policy"
	"github.com/swarmjob/swarmjob/sqlite"
)

// The policy commands against the real API server and store (no Swarm
// needed: nothing runs).
func TestPolicyCommands(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "swarmjob.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keeper, err := policy.NewKeeper(t.Context(), policy.KeeperConfig{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	const admin = "sjt_policy-test-admin-token-0123456789"
	srv := httptest.NewServer(api.NewServer(api.Config{Store: db, Tokens: db, AdminToken: admin, Policy: keeper,
		Enqueuer: noEnqueuer{}, Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	env := map[string]string{"SWARMJOB_URL": srv.URL, "SWARMJOB_TOKEN": admin}

	code, out, stderr := runEnv(t, env, "policy", "get")
	if code != 0 || !strings.Contains(out, "# policy source: the built-in defaults") {
		t.Fatalf("get on a new server: exit %d, %q, %q", code, out, stderr)
	}
	file := filepath.Join(t.TempDir(), "policy.yaml")
	doc := "defaults:\n  allowedImages: [registry.example.com/*]\n  maxCpus: 2\ntenants:\n  data:\n    allowedBindPrefixes: [/srv/datasets]\n    allowedSecrets: []\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runEnv(t, env, "policy", "set", file); code != 0 || !strings.Contains(stderr, "policy set (tenants with rules of their own: data)") {
		t.Fatalf("set: exit %d, %q", code, stderr)
	}
	// What get prints is a policy file that set takes back, unchanged.
	code, out, _ = runEnv(t, env, "policy", "get")
	for _, want := range []string{"# policy source: set through the API", "registry.example.com/*", "maxCpus: 2", "allowedSecrets: []", "/srv/datasets"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("get after set: exit %d, %q lacks %q", code, out, want)
		}
	}
	// So is the JSON form.
	code, jsonOut, _ := runEnv(t, env, "policy", "get", "-o", "json")
	if code != 0 {
		t.Fatalf("get -o json: exit %d", code)
	}
	asJSON := filepath.Join(t.TempDir(), "printed.json")
	if err := os.WriteFile(asJSON, []byte(jsonOut), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runEnv(t, env, "policy", "set", asJSON); code != 0 || !strings.Contains(jsonOut, `"allowedSecrets": []`) {
		t.Errorf("set of get -o json's output: exit %d, %q; output %s", code, stderr, jsonOut)
	}
	printed := filepath.Join(t.TempDir(), "printed.yaml")
	if err := os.WriteFile(printed, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runEnv(t, env, "policy", "set", printed); code != 0 {
		t.Errorf("set of get's output: exit %d, %q", code, stderr)
	}
	if _, again, _ := runEnv(t, env, "policy", "get"); again[strings.Index(again, "\n"):] != out[strings.Index(out, "\n"):] {
		t.Errorf("the policy changed through get and set:\n%s\nwas\n%s", again, out)
	}

	// A tenant reads its own rules, the defaults filled in, and no one
	// else's.
	tok, secret, err := auth.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(t.Context(), auth.Token{ID: tok, Tenant: "data", Scopes: []auth.Scope{auth.ScopeJobsRead}, Hash: auth.Hash(secret)}); err != nil {
		t.Fatal(err)
	}
	tenantEnv := map[string]string{"SWARMJOB_URL": srv.URL, "SWARMJOB_TOKEN": secret}
	code, out, _ = runEnv(t, tenantEnv, "policy", "get", "--tenant", "data")
	for _, want := range []string{"# rules of tenant data", "/srv/datasets", "maxCpus: 2", "allowedVolumes:\n- data_*"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("get --tenant data: exit %d, %q lacks %q", code, out, want)
		}
	}
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"policy", "get", "--tenant", "other"}, 1, "only admin tokens read other tenants' policies"},
		{[]string{"policy", "get"}, 1, "reads its own rules with --tenant NAME"},
		{[]string{"policy", "get", "-o", "table"}, 2, "--output: must be yaml or json"},
		{[]string{"policy", "set"}, 2, "policy file"},
		{[]string{"policy", "set", filepath.Join(t.TempDir(), "missing.yaml")}, 1, "no such file"},
	} {
		code, _, stderr := runEnv(t, tenantEnv, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", tt.args, code, stderr, tt.code, tt.msg)
		}
	}
	// A refusal points to the rules.
	wtok, wsecret, err := auth.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateToken(t.Context(), auth.Token{ID: wtok, Tenant: "data", Scopes: []auth.Scope{auth.ScopeJobsWrite}, Hash: auth.Hash(wsecret)}); err != nil {
		t.Fatal(err)
	}
	writerEnv := map[string]string{"SWARMJOB_URL": srv.URL, "SWARMJOB_TOKEN": wsecret}
	if code, _, stderr := runEnv(t, writerEnv, "run", "-d", "docker.io/other/img"); code != 1 ||
		!strings.Contains(stderr, "policy rule allowedImages") || !strings.Contains(stderr, "swarmjob policy get --tenant NAME shows your tenant's rules") {
		t.Errorf("a refused image: exit %d, %q", code, stderr)
	}
	// A bad file is refused before it is sent, naming the field.
	if err := os.WriteFile(file, []byte("defaults:\n  maxCpu: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runEnv(t, env, "policy", "set", file); code != 1 || !strings.Contains(stderr, `unknown field "maxCpu"`) || !strings.Contains(stderr, "maxCpus") {
		t.Errorf("set of a misspelt field: exit %d, %q", code, stderr)
	}
	// So is an empty one: a file cut short must not lift every rule.
	if err := os.WriteFile(file, []byte("# nothing yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runEnv(t, env, "policy", "set", file); code != 1 || !strings.Contains(stderr, "the document is empty") {
		t.Errorf("set of an empty file: exit %d, %q", code, stderr)
	}
	if _, out, _ := runEnv(t, env, "policy", "get"); !strings.Contains(out, "/srv/datasets") {
		t.Errorf("a refused file changed the policy: %s", out)
	}
}

// noEnqueuer is the controller of a server that runs nothing.
type noEnqueuer struct{}

func (noEnqueuer) Enqueue(string) {}
