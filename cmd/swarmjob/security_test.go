package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	stdlog "log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/policy"
)

// goodToken is the one token authAPI accepts.
const goodToken = "good-token-0123456789"

// authAPI answers GET /v1/jobs with an empty list when the bearer token is
// goodToken and 401 otherwise, and serves the token routes; it records the
// Authorization header of each request.
type authAPI struct {
	mu    sync.Mutex
	auths []string
	made  []types.CreateTokenRequest
	rms   []string
}

func (a *authAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.auths = append(a.auths, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+goodToken {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"code":"unauthorized","message":"invalid token"}}`)
		return
	}
	exp := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	switch {
	case r.Method == "POST" && r.URL.Path == "/v1/tokens":
		var req types.CreateTokenRequest
		json.NewDecoder(r.Body).Decode(&req)
		a.made = append(a.made, req)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(types.CreatedToken{Token: types.Token{ID: "0123456789abcdef", Tenant: req.Tenant, Scopes: req.Scopes, ExpiresAt: &exp}, Secret: "sjt_new"})
	case r.Method == "GET" && r.URL.Path == "/v1/tokens":
		json.NewEncoder(w).Encode(types.TokenList{Items: []types.Token{
			{ID: "0123456789abcdef", Name: "ci", Tenant: "a", Scopes: []string{"jobs:read", "jobs:write"}, ExpiresAt: &exp, Expired: true},
			{ID: "fedcba9876543210", Tenant: "ops", Scopes: []string{"admin"}},
		}})
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, "/v1/tokens/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/tokens/")
		if id != "0123456789abcdef" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"code":"not_found","message":"token \"`+id+`\" not found"}}`)
			return
		}
		a.rms = append(a.rms, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		io.WriteString(w, `{"items":[]}`)
	}
}

func (a *authAPI) lastAuth() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.auths) == 0 {
		return "(no request)"
	}
	return a.auths[len(a.auths)-1]
}

// runEnv runs the CLI with the given environment.
func runEnv(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	code := 0
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			t.Fatalf("run returned %v", err)
		}
		code = ee.code
	}
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestCLITokenSources(t *testing.T) {
	api := &authAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	goodFile := filepath.Join(dir, "tokfile")
	writeFile(t, goodFile, goodToken+"\n", 0o600)
	openFile := filepath.Join(dir, "open")
	writeFile(t, openFile, goodToken, 0o644)

	tests := []struct {
		name string
		env  map[string]string
		args []string
		// dataToken is written to ./data/admin-token (mode 0600) when set.
		dataToken string
		wantAuth  string
		wantCode  int
		wantErr   string
	}{
		{name: "--token", args: []string{"--token", goodToken}, env: map[string]string{"SWARMJOB_TOKEN": "bad"}, wantAuth: "Bearer " + goodToken},
		{name: "SWARMJOB_TOKEN", env: map[string]string{"SWARMJOB_TOKEN": goodToken, "SWARMJOB_TOKEN_FILE": openFile}, wantAuth: "Bearer " + goodToken},
		{name: "SWARMJOB_TOKEN_FILE", env: map[string]string{"SWARMJOB_TOKEN_FILE": goodFile}, dataToken: "bad-bad-bad-bad-bad", wantAuth: "Bearer " + goodToken},
		{name: "./data/admin-token", dataToken: goodToken, wantAuth: "Bearer " + goodToken},
		{name: "no token at all", wantAuth: "", wantCode: 1, wantErr: "invalid token; give a token of this server in SWARMJOB_TOKEN"},
		{name: "a wrong token", env: map[string]string{"SWARMJOB_TOKEN": "bad"}, wantAuth: "Bearer bad", wantCode: 1, wantErr: "<data-dir>/admin-token"},
		{name: "a token file others may read", env: map[string]string{"SWARMJOB_TOKEN_FILE": openFile}, wantCode: 1, wantErr: "chmod 600"},
		{name: "a missing token file", env: map[string]string{"SWARMJOB_TOKEN_FILE": filepath.Join(dir, "none")}, wantCode: 1, wantErr: "SWARMJOB_TOKEN_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cwd := t.TempDir()
			t.Chdir(cwd)
			if tt.dataToken != "" {
				writeFile(t, filepath.Join(cwd, "data", "admin-token"), tt.dataToken+"\n", 0o600)
			}
			env := map[string]string{"SWARMJOB_URL": srv.URL}
			for k, v := range tt.env {
				env[k] = v
			}
			before := len(api.auths)
			code, _, stderr := runEnv(t, env, append(tt.args, "ls")...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.wantCode, tt.wantErr)
			}
			if tt.wantCode == 0 || tt.wantAuth != "" {
				if got := api.lastAuth(); got != tt.wantAuth || len(api.auths) == before {
					t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
				}
			}
			if strings.Contains(stderr, goodToken) || strings.Contains(stderr, "bad-bad") {
				t.Errorf("stderr shows a token: %q", stderr)
			}
		})
	}
	// --help never shows a token from the environment.
	_, out, _ := runEnv(t, map[string]string{"SWARMJOB_TOKEN": "s3cret-token-value"}, "ls", "--help")
	if strings.Contains(out, "s3cret") {
		t.Error("--help shows $SWARMJOB_TOKEN")
	}
}

func TestCLICACert(t *testing.T) {
	srv := httptest.NewUnstartedServer(&authAPI{})
	// The refused handshake of the test without a CA is expected.
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})), 0o644)
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	writeFile(t, notPEM, "hello", 0o644)
	base := map[string]string{"SWARMJOB_URL": srv.URL, "SWARMJOB_TOKEN": goodToken}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	for _, tt := range []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"--ca-cert", base, []string{"--ca-cert", ca}, 0, ""},
		{"SWARMJOB_CA_CERT", with("SWARMJOB_CA_CERT", ca), nil, 0, ""},
		{"no CA: the self-signed certificate is refused", base, nil, 1, "certificate"},
		{"not a certificate", base, []string{"--ca-cert", notPEM}, 2, "holds no PEM certificate"},
		{"no such file", base, []string{"--ca-cert", notPEM + ".none"}, 2, "--ca-cert"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runEnv(t, tt.env, append(tt.args, "ls")...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestTokenCommands(t *testing.T) {
	api := &authAPI{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	env := map[string]string{"SWARMJOB_URL": srv.URL, "SWARMJOB_TOKEN": goodToken}

	code, out, stderr := runEnv(t, env, "token", "create", "--tenant", "a", "--scope", "jobs:read", "--scope", "jobs:write", "--expires-in", "720h", "--name", "ci")
	if code != 0 || out != "sjt_new\n" {
		t.Fatalf("create: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if !strings.Contains(stderr, "created token 0123456789abcdef for tenant a (jobs:read, jobs:write; expires 2026-12-01T00:00:00Z); it is shown only this once") {
		t.Errorf("stderr %q", stderr)
	}
	want := []types.CreateTokenRequest{{Name: "ci", Tenant: "a", Scopes: []string{"jobs:read", "jobs:write"}, ExpiresIn: "720h"}}
	if diff := cmp.Diff(want, api.made); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	for _, args := range [][]string{{"token", "create", "--scope", "admin"}, {"token", "create", "--tenant", "a"}} {
		if code, _, _ := runEnv(t, env, args...); code != 2 {
			t.Errorf("%v: exit %d, want a usage error", args, code)
		}
	}

	code, out, _ = runEnv(t, env, "token", "ls")
	wantLs := "ID                 NAME   TENANT   SCOPES               EXPIRES\n" +
		"0123456789abcdef   ci     a        jobs:read,jobs:write   2026-12-01T00:00:00Z (expired)\n" +
		"fedcba9876543210   -      ops      admin                never\n"
	if code != 0 || strings.Join(strings.Fields(out), " ") != strings.Join(strings.Fields(wantLs), " ") {
		t.Errorf("ls: exit %d\n%s", code, out)
	}

	code, out, stderr = runEnv(t, env, "token", "rm", "0123456789abcdef", "0000000000000000")
	if code != 1 || out != "0123456789abcdef\n" || !strings.Contains(stderr, `token "0000000000000000" not found`) {
		t.Errorf("rm: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestServeSecurityOptions(t *testing.T) {
	ok := serveOptions{maxLogBytes: 1, workers: 1, pollFast: 1, pollSlow: 1, resync: 1, nodeLost: 1, eventRet: 1, gcInterval: 1,
		auth: true, rateLimit: 50, rateBurst: 100, listen: "127.0.0.1:0"}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*serveOptions){
		"cert without key":         func(o *serveOptions) { o.tlsCert = "c.pem" },
		"key without cert":         func(o *serveOptions) { o.tlsKey = "k.pem" },
		"negative rate":            func(o *serveOptions) { o.rateLimit = -1 },
		"zero burst":               func(o *serveOptions) { o.rateBurst = 0 },
		"job network without auth": func(o *serveOptions) { o.jobNetwork, o.auth = "jobs", false },
		"log cap over 1 GiB":       func(o *serveOptions) { o.maxLogBytes = 1<<30 + 1 },
		"job URL without network":  func(o *serveOptions) { o.jobURL = "http://10.0.0.5:8080" },
		"job CA without network":   func(o *serveOptions) { o.jobCACert = "ca.pem" },
		"job URL not http":         func(o *serveOptions) { o.jobNetwork, o.jobURL = "jobs", "ftp://10.0.0.5" },
	} {
		o := ok
		change(&o)
		var ue *usageError
		if err := o.validate(); !errors.As(err, &ue) {
			t.Errorf("%s: %v, want a usage error", name, err)
		}
	}
	if _, err := serverTLS("none.pem", "none.key"); err == nil {
		t.Error("serverTLS of missing files succeeded")
	}
}

func TestServeAdminToken(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	var logs bytes.Buffer
	textLog := slog.New(slog.NewTextHandler(&logs, nil))
	dir := t.TempDir()
	o := serveOptions{auth: true, dataDir: dir, listen: "0.0.0.0:8080"}
	envWith := func(m map[string]string) *cliEnv { return &cliEnv{getenv: func(k string) string { return m[k] }} }

	// From the environment: used as is, no file written.
	tok, err := adminToken(envWith(map[string]string{"SWARMJOB_ADMIN_TOKEN": "0123456789abcdef-env"}), o, log)
	if err != nil || tok != "0123456789abcdef-env" {
		t.Fatalf("env token: %q, %v", tok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, auth.AdminTokenFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token file was written: %v", err)
	}
	var ue *usageError
	if _, err := adminToken(envWith(map[string]string{"SWARMJOB_ADMIN_TOKEN": "short"}), o, log); !errors.As(err, &ue) || strings.Contains(err.Error(), "short") {
		t.Errorf("a short env token: %v", err)
	}

	// From a file (a Docker secret): private files only.
	secret := filepath.Join(t.TempDir(), "admin")
	if err := os.WriteFile(secret, []byte("0123456789abcdef-file\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if tok, err := adminToken(envWith(map[string]string{"SWARMJOB_ADMIN_TOKEN_FILE": secret}), o, log); err != nil || tok != "0123456789abcdef-file" {
		t.Errorf("file token: %q, %v", tok, err)
	}
	if err := os.Chmod(secret, 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := adminToken(envWith(map[string]string{"SWARMJOB_ADMIN_TOKEN_FILE": secret}), o, log); !errors.As(err, &ue) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a token file others may read: %v", err)
	}

	// Generated on first start, kept on the next, logged by path only.
	first, err := adminToken(envWith(nil), o, textLog)
	if err != nil {
		t.Fatal(err)
	}
	again, err := adminToken(envWith(nil), o, textLog)
	if err != nil || again != first {
		t.Errorf("second start: %q, %v; want the first token", again, err)
	}
	if strings.Contains(logs.String(), first) || !strings.Contains(logs.String(), filepath.Join(dir, auth.AdminTokenFile)) {
		t.Errorf("log %q: must name the file and not hold the token", logs.String())
	}

	// Authentication off: loopback only.
	o.auth = false
	if _, err := adminToken(envWith(nil), o, log); !errors.As(err, &ue) {
		t.Errorf("--auth=false on 0.0.0.0: %v", err)
	}
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:8080", "localhost:8080"} {
		o.listen = addr
		if tok, err := adminToken(envWith(nil), o, log); err != nil || tok != "" {
			t.Errorf("--auth=false on %s: %q, %v", addr, tok, err)
		}
	}
	for _, addr := range []string{":8080", "10.0.0.1:80", "example.com:80", "nonsense"} {
		if loopback(addr) {
			t.Errorf("loopback(%q) = true", addr)
		}
	}
}

func TestServePolicy(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, file, "defaults:\n  allowedBindPrefixes: [/srv]\n", 0o600)
	keeper, err := policy.NewKeeper(t.Context(), policy.KeeperConfig{File: file, Adjust: serverPolicy("unix:///srv/engine/docker.sock", 4096)})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		p := keeper.Policy()
		for src, wantErr := range map[string]bool{"/srv/data": false, "/srv/engine/docker.sock": true, "/srv/engine": true, "/var/run/docker.sock": true} {
			s := jobs.Spec{Image: "busybox", Mounts: []jobs.Mount{{Type: jobs.MountBind, Source: src, Target: "/m"}}}
			err := p.Apply("a", &s)
			if (err != nil) != wantErr {
				t.Errorf("%s: %s: %v", when, src, err)
			}
			if err != nil && !strings.Contains(jobs.ErrorMessage(err), policy.RuleEngineSocket) {
				t.Errorf("%s: %s: %v, want rule %s", when, src, err, policy.RuleEngineSocket)
			}
		}
		if n := p.For("a").MaxLogBytes; n == nil || *n != 4096 {
			t.Errorf("%s: maxLogBytes ceiling %v, want --max-log-bytes", when, n)
		}
	}
	check("at start")
	// What the server adds holds for a policy read again too.
	writeFile(t, file, "defaults:\n  allowedBindPrefixes: [/srv, /data]\n", 0o600)
	if _, err := keeper.Reload(); err != nil {
		t.Fatal(err)
	}
	check("after a reload")
	if _, err := policy.NewKeeper(t.Context(), policy.KeeperConfig{File: filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("a missing policy file: no error")
	}
}
