package tests

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// The security tests of issue 6 on the real Swarm: authentication, tenants,
// the policy on mounts, TLS and the rate limit, through the real binary.

// tenantClient makes a token of tenant with scopes on s and returns a client
// that uses it.
func tenantClient(t *testing.T, s *server, tenant string, scopes ...string) *client.Client {
	t.Helper()
	tok, err := s.client.CreateToken(testCtx(t, 10*time.Second), types.CreateTokenRequest{Tenant: tenant, Scopes: scopes, ExpiresIn: "1h"})
	if err != nil {
		t.Fatalf("creating a token of %s: %v", tenant, err)
	}
	c, err := client.New(s.url, client.WithToken(tok.Secret))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// anonymous sends a request without a token and returns status, the
// WWW-Authenticate header and the body.
func anonymous(t *testing.T, s *server, method, path string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t, 10*time.Second), method, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)
}

func TestAuthenticationOnByDefault(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"/v1/jobs", "/v1/events", "/v1/tokens", "/v1/jobs/x/logs", "/nope"} {
		status, challenge, body := anonymous(t, shared, "GET", p)
		if status != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer") || !strings.Contains(body, `"unauthorized"`) {
			t.Errorf("GET %s without a token: %d %q %s", p, status, challenge, body)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if status, _, body := anonymous(t, shared, "GET", p); status != 200 {
			t.Errorf("GET %s without a token: %d %s", p, status, body)
		}
	}
	bad, err := client.New(shared.url, client.WithToken("sjt_0123456789abcdef_"+strings.Repeat("A", 43)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.ListJobs(testCtx(t, 10*time.Second), client.ListOptions{}); !client.IsUnauthorized(err) {
		t.Errorf("a made-up token: %v", err)
	}
	// The server never logs the token.
	if b, err := os.ReadFile(shared.logPath); err != nil || bytes.Contains(b, []byte(testAdminToken)) {
		t.Errorf("the server log holds the admin token (or cannot be read: %v)", err)
	}
}

// Tenant B cannot see, wait on, read, cancel or delete tenant A's job; A
// and the admin can.
func TestTenantsOnSwarm(t *testing.T) {
	t.Parallel()
	a := tenantClient(t, shared, "it-a", types.ScopeJobsRead, types.ScopeJobsWrite)
	b := tenantClient(t, shared, "it-b", types.ScopeJobsRead, types.ScopeJobsWrite)
	readOnly := tenantClient(t, shared, "it-a", types.ScopeJobsRead)
	ctx := testCtx(t, time.Minute)

	if _, err := readOnly.CreateJob(ctx, types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage}}); !isStatus(err, 403, types.CodeForbidden) {
		t.Errorf("read-only submit: %v, want 403", err)
	}
	evB, err := b.Events(ctx, client.EventsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer evB.Close()

	j, err := a.CreateJob(ctx, types.CreateJobRequest{Labels: map[string]string{"test": "tenants"},
		JobSpec: types.JobSpec{Image: testImage, Command: sh("echo a-secret; sleep 1")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { assertNoServices(t, j.ID) })
	if j.Tenant != "it-a" {
		t.Errorf("tenant = %q", j.Tenant)
	}
	notFound := func(what string, err error) {
		t.Helper()
		if !client.IsNotFound(err) {
			t.Errorf("B %s A's job: %v, want 404", what, err)
		}
	}
	_, err = b.GetJob(ctx, j.ID)
	notFound("gets", err)
	_, err = b.Wait(ctx, j.ID, time.Second)
	notFound("waits on", err)
	_, err = b.Logs(ctx, j.ID, client.LogOptions{Follow: true})
	notFound("follows the logs of", err)
	_, err = b.Results(ctx, j.ID)
	notFound("reads the results of", err)
	_, err = b.SuspendJob(ctx, j.ID)
	notFound("suspends", err)
	_, err = b.PatchJob(ctx, j.ID, types.JobPatch{Parallelism: intp(2)})
	notFound("patches", err)
	_, err = b.CancelJob(ctx, j.ID)
	notFound("cancels", err)
	notFound("deletes", b.DeleteJob(ctx, j.ID))
	if l, err := b.ListJobs(ctx, client.ListOptions{Selector: "test=tenants"}); err != nil || len(l.Items) != 0 {
		t.Errorf("B lists %d of A's jobs (%v)", len(l.Items), err)
	}

	done, err := readOnly.WaitTerminal(ctx, j.ID)
	if err != nil || done.Status.Phase != types.PhaseSucceeded {
		t.Fatalf("A's job: %v %+v", err, done)
	}
	if got := logs(t, shared, j.ID, client.LogOptions{}); got != "a-secret\n" {
		t.Errorf("admin reads %q", got)
	}
	if l, err := shared.client.ListJobs(ctx, client.ListOptions{Selector: "test=tenants"}); err != nil || len(l.Items) != 1 || l.Items[0].Tenant != "it-a" {
		t.Errorf("admin lists %+v (%v)", l, err)
	}
	// B's stream saw none of A's events: its next event is one of its own.
	mine, err := b.CreateJob(ctx, types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage, Command: sh("true")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { assertNoServices(t, mine.ID) })
	e, err := evB.Next()
	if err != nil || e.JobID != mine.ID {
		t.Errorf("B's first event: %+v, %v; want its own job's", e, err)
	}
	waitTerminalWith(t, b, mine.ID)
}

func waitTerminalWith(t *testing.T, c *client.Client, id string) *types.Job {
	t.Helper()
	j, err := c.WaitTerminal(testCtx(t, time.Minute), id)
	if err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	return j
}

func isStatus(err error, status int, code string) bool {
	var e *client.Error
	return errors.As(err, &e) && e.StatusCode == status && e.Code == code
}

// A job that mounts the Docker socket, however spelled, is refused naming
// the rule, and nothing reaches the Swarm.
func TestDockerSocketRefusedOnSwarm(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 30*time.Second)
	for _, src := range []string{"/var/run/docker.sock", "/run/docker.sock", "/var/run/docker.sock/", "/var//run/./docker.sock", "/tmp/../run/docker.sock", "/var/run", "/"} {
		_, err := shared.client.CreateJob(ctx, types.CreateJobRequest{Labels: map[string]string{"test": "docker-sock"}, JobSpec: types.JobSpec{
			Image: testImage, Command: sh("ls -l /s"),
			Mounts: []types.Mount{{Type: types.MountBind, Source: src, Target: "/s"}},
		}})
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 403 || e.Code != types.CodePolicyViolation || !strings.Contains(e.Message, "policy rule dockerSocket") {
			t.Errorf("%s: %v, want 403 policy_violation naming dockerSocket", src, err)
		}
	}
	if l, err := shared.client.ListJobs(ctx, client.ListOptions{Selector: "test=docker-sock"}); err != nil || len(l.Items) != 0 {
		t.Errorf("%d refused jobs were stored (%v)", len(l.Items), err)
	}
}

// Mounts the policy allows reach the job's container: a bind mount of an
// allowed directory, the tenant's own volume and a tmpfs.
func TestMountsOnSwarm(t *testing.T) {
	// Not parallel: it starts a server of its own, and the timing tests
	// that run in parallel need the machine.
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("defaults:\n  allowedBindPrefixes: ["+dir+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--policy", pol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	volume := fmt.Sprintf("default_it-%d", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// The volume is in use until the service is gone.
		for ctx.Err() == nil {
			if _, err := engine.VolumeRemove(ctx, volume, dockerclient.VolumeRemoveOptions{Force: true}); err == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Errorf("volume %s left behind", volume)
	})
	j := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command: sh("cat /in/in.txt; echo kept > /vol/f; cat /vol/f; echo scratch > /scratch/f && cat /scratch/f; " +
			"echo nope > /in/x 2>/dev/null || echo read-only"),
		Mounts: []types.Mount{
			{Type: types.MountBind, Source: dir, Target: "/in", ReadOnly: true},
			{Type: types.MountVolume, Source: volume, Target: "/vol"},
			{Type: types.MountTmpfs, Target: "/scratch"},
		},
	}})
	j = waitTerminal(t, s, j.ID, time.Minute)
	if j.Status.Phase != types.PhaseSucceeded {
		t.Fatalf("phase %s: %s", j.Status.Phase, j.Status.Message)
	}
	if got, want := logs(t, s, j.ID, client.LogOptions{Stream: "stdout"}), "from the host\nkept\nscratch\nread-only\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	// Another tenant's volume name, or a directory outside the prefix,
	// is refused.
	for _, m := range []types.Mount{{Type: types.MountVolume, Source: "other_x", Target: "/v"}, {Type: types.MountBind, Source: filepath.Dir(dir), Target: "/v"}} {
		_, err := s.client.CreateJob(testCtx(t, 10*time.Second), types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage, Mounts: []types.Mount{m}}})
		if !isStatus(err, 403, types.CodePolicyViolation) {
			t.Errorf("%+v: %v, want 403", m, err)
		}
	}
}

// Without SWARMJOB_ADMIN_TOKEN the server makes an admin token in its data
// directory, and the CLI finds it in ./data; tokens made with it work from
// the CLI, each for its tenant.
func TestAdminTokenFileAndCLI(t *testing.T) {
	// Not parallel: it starts a server of its own, and the timing tests
	// that run in parallel need the machine.
	work := t.TempDir()
	data := filepath.Join(work, "data")
	s, err := startServerWithEnv(data, []string{"SWARMJOB_ADMIN_TOKEN="})
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	tokenPath := filepath.Join(data, "admin-token")
	st, err := os.Stat(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("admin-token mode %#o, want 0600", st.Mode().Perm())
	}
	tok, err := os.ReadFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	logText, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(logText, bytes.TrimSpace(tok)) || !bytes.Contains(logText, []byte(tokenPath)) {
		t.Errorf("the log must name %s and not hold the token:\n%s", tokenPath, logText)
	}

	cli := func(env []string, args ...string) (string, string, error) {
		t.Helper()
		ctx := testCtx(t, time.Minute)
		cmd := exec.CommandContext(ctx, binary, append([]string{"--server", s.url}, args...)...)
		cmd.Dir = work // where ./data/admin-token is
		cmd.Env = append(withoutTokens(os.Environ()), env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	created, stderr, err := cli(nil, "token", "create", "--tenant", "cli-a", "--scope", "jobs:read", "--scope", "jobs:write")
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, stderr)
	}
	tenantTok := strings.TrimSpace(created)
	out, stderr, err := cli([]string{"SWARMJOB_TOKEN=" + tenantTok}, "run", "--label", "test=cli-tenant", testImage, "sh", "-c", "echo hello from cli-a")
	if err != nil || out != "hello from cli-a\n" {
		t.Fatalf("run as cli-a: %v, %q\n%s", err, out, stderr)
	}
	ids, _, err := cli([]string{"SWARMJOB_TOKEN=" + tenantTok}, "ls", "-q", "--label", "test=cli-tenant")
	if err != nil || len(strings.Fields(ids)) != 1 {
		t.Errorf("cli-a lists %q (%v)", ids, err)
	}
	// Another tenant sees nothing of it.
	other, _, err := cli(nil, "token", "create", "--tenant", "cli-b", "--scope", "jobs:read")
	if err != nil {
		t.Fatal(err)
	}
	if ids, _, err := cli([]string{"SWARMJOB_TOKEN=" + strings.TrimSpace(other)}, "ls", "-q", "--label", "test=cli-tenant"); err != nil || strings.TrimSpace(ids) != "" {
		t.Errorf("cli-b lists %q (%v)", ids, err)
	}
	// Without any token: 401 with a hint.
	_, stderr, err = cli([]string{"SWARMJOB_TOKEN_FILE=/nonexistent"}, "ls")
	if err == nil || !strings.Contains(stderr, "SWARMJOB_TOKEN_FILE") {
		t.Errorf("a missing token file: %v %q", err, stderr)
	}
	for _, id := range strings.Fields(ids) {
		assertNoServices(t, id)
	}
}

// withoutTokens drops the CLI's token variables from env, so that the
// tests' own environment does not choose the token.
func withoutTokens(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SWARMJOB_TOKEN") && !strings.HasPrefix(kv, "SWARMJOB_CA_CERT=") {
			out = append(out, kv)
		}
	}
	return out
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and ips, and its
// key, to dir and returns their paths.
func selfSigned(t *testing.T, dir string, ips ...net.IP) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "swarmjob test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           append([]net.IP{net.ParseIP("127.0.0.1")}, ips...),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// startTLSServer starts `swarmjob serve` over https with the certificate
// and key given, and a client that trusts the certificate.
func startTLSServer(t *testing.T, certFile, keyFile string, args ...string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	s := &server{url: "https://" + addr, dataDir: data, logPath: data + ".log", token: testAdminToken,
		env: []string{"SWARMJOB_ADMIN_TOKEN=" + testAdminToken},
		args: append([]string{"serve", "--listen", addr, "--data-dir", data, "--log-level", "debug", "--orphan-grace", "10m",
			"--tls-cert", certFile, "--tls-key", keyFile}, args...)}
	if dockerHost != "" {
		s.env = append(s.env, "DOCKER_HOST="+dockerHost)
	}
	if s.client, err = client.New(s.url, client.WithToken(s.token), client.WithHTTPClient(hc)); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// The API over TLS: the Go client and the CLI reach it when they trust its
// certificate, and only then.
func TestTLS(t *testing.T) {
	// Not parallel: it starts a server of its own, and the timing tests
	// that run in parallel need the machine.
	certFile, keyFile := selfSigned(t, t.TempDir())
	s := startTLSServer(t, certFile, keyFile)
	defer s.stop()
	addr := strings.TrimPrefix(s.url, "https://")

	j := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("echo over tls")}})
	waitTerminal(t, s, j.ID, time.Minute)
	if got := logs(t, s, j.ID, client.LogOptions{}); got != "over tls\n" {
		t.Errorf("output %q", got)
	}
	// Plain http to the TLS port is refused; an untrusting client fails.
	if c, err := client.New("http://"+addr, client.WithToken(s.token)); err == nil {
		if _, err := c.ListJobs(testCtx(t, 10*time.Second), client.ListOptions{}); err == nil {
			t.Error("plain http to the TLS listener worked")
		}
	}
	cli := func(env ...string) (string, error) {
		cmd := exec.CommandContext(testCtx(t, 30*time.Second), binary, "--server", s.url, "ls", "-q")
		cmd.Env = append(withoutTokens(os.Environ()), append(env, "SWARMJOB_TOKEN="+s.token)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cli("SWARMJOB_CA_CERT=" + certFile); err != nil || !strings.Contains(out, j.ID) {
		t.Errorf("CLI with the CA: %v\n%s", err, out)
	}
	if out, err := cli(); err == nil || !strings.Contains(out, "certificate") {
		t.Errorf("CLI without the CA: %v\n%s", err, out)
	}
}

// The rate limit answers 429 with Retry-After beyond the burst, per token.
func TestRateLimitOnServer(t *testing.T) {
	// Not parallel: it starts a server of its own, and the timing tests
	// that run in parallel need the machine.
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--rate-limit", "1", "--rate-burst", "3")
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	var last *client.Error
	for range 10 {
		_, err := s.client.ListJobs(testCtx(t, 10*time.Second), client.ListOptions{})
		if errors.As(err, &last) && last.StatusCode == http.StatusTooManyRequests {
			break
		}
		last = nil
	}
	if last == nil || last.Code != types.CodeRateLimited {
		t.Fatalf("no 429 within 10 requests at 1/s: %v", last)
	}
	req, err := http.NewRequestWithContext(testCtx(t, 10*time.Second), "GET", s.url+"/v1/jobs", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Probes are never limited.
	if status, _, _ := anonymous(t, s, "GET", "/readyz"); status != 200 {
		t.Errorf("readyz: %d", status)
	}
}
