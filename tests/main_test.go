// Package tests holds swarmjob's integration tests. They run the real
// swarmjob binary against the real local Swarm that hack/swarm-up.sh starts;
// nothing here is mocked. A missing Swarm is a failure, never a skip.
package tests

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// testImage is built FROM scratch by hack/swarm-up.sh.
const testImage = "swarmjob/busybox:test"

// testAdminToken is the bootstrap admin token (SWARMJOB_ADMIN_TOKEN) of
// every server the tests start; their clients use it.
const testAdminToken = "integration-admin-token-0123456789"

var (
	binary string  // the swarmjob binary under test
	shared *server // one server for the tests that need no server of their own
	engine *dockerclient.Client
	// dockerHost, when a build-tagged file sets it (nodeloss_test.go, for
	// the cluster of hack/cluster-up.sh), replaces DOCKER_HOST for the
	// engine client and for every server; empty: DOCKER_HOST as given.
	dockerHost string
	// clusterDir is where hack/cluster-up.sh keeps the cluster.
	clusterDir = cmp.Or(os.Getenv("SWARMJOB_CLUSTER_DIR"), "/tmp/swarmjob-cluster")
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	opts := []dockerclient.Opt{dockerclient.FromEnv}
	setup := "hack/swarm-up.sh"
	if dockerHost != "" {
		opts = append(opts, dockerclient.WithHost(dockerHost))
		setup = "hack/cluster-up.sh"
	}
	engine, err = dockerclient.New(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests: engine client:", err)
		return 1
	}
	info, err := engine.Info(ctx, dockerclient.InfoOptions{})
	if err != nil || info.Info.Swarm.LocalNodeState != "active" {
		fmt.Fprintf(os.Stderr, "integration tests need a Swarm manager at %s (run %s): %v %v\n", engine.DaemonHost(), setup, err, info.Info.Swarm.LocalNodeState)
		return 1
	}
	if _, err := engine.ImageInspect(ctx, testImage); err != nil {
		fmt.Fprintf(os.Stderr, "integration tests need image %s (run %s): %v\n", testImage, setup, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "swarmjob-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "swarmjob")
	build := exec.Command("go", "build", "-o", binary, "../cmd/swarmjob")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building swarmjob:", err)
		return 1
	}
	shared, err = startServer(filepath.Join(dir, "shared"), "--max-log-bytes", "65536")
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting server:", err)
		return 1
	}
	code := m.Run()
	shared.stop()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- server log (%s)\n", shared.logPath)
		if b, err := os.ReadFile(shared.logPath); err == nil {
			os.Stderr.Write(tail(b, 200))
		}
	}
	return code
}

// server is a swarmjob serve process.
type server struct {
	cmd     *exec.Cmd
	url     string
	dataDir string
	logPath string
	args    []string
	// env is added to the environment the server inherits.
	env []string
	// token is the server's admin token, which client sends.
	token  string
	client *client.Client
	exited chan struct{}
}

// startServer starts `swarmjob serve` on a free port with its store in
// dataDir and waits until it is ready.
func startServer(dataDir string, args ...string) (*server, error) {
	return startServerWithEnv(dataDir, nil, args...)
}

// startServerWithEnv is startServer with variables added to the server's
// environment.
func startServerWithEnv(dataDir string, env []string, args ...string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{url: "http://" + addr, dataDir: dataDir, logPath: dataDir + ".log", args: args, token: testAdminToken}
	// First, so that env may override it.
	s.env = append(s.env, "SWARMJOB_ADMIN_TOKEN="+testAdminToken)
	if dockerHost != "" {
		s.env = append(s.env, "DOCKER_HOST="+dockerHost)
	}
	s.env = append(s.env, env...)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	s.args = append([]string{"serve", "--listen", addr, "--data-dir", dataDir, "--log-level", "debug", "--orphan-grace", "10m"}, args...)
	if s.client, err = client.New(s.url, client.WithToken(s.token)); err != nil {
		return nil, err
	}
	return s, s.start()
}

func (s *server) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	s.cmd = exec.Command(binary, s.args...)
	if len(s.env) > 0 {
		s.cmd.Env = append(os.Environ(), s.env...)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	s.exited = exited
	go func() { _ = s.cmd.Wait(); logf.Close(); close(exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = s.client.Ready(ctx)
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server at %s not ready after 30s: %w (log: %s)", s.url, err, s.logPath)
}

// kill SIGKILLs the server: no shutdown path runs.
func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func tail(b []byte, lines int) []byte {
	n := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			n++
			if n > lines {
				return b[i+1:]
			}
		}
	}
	return b
}

// testCtx returns a context that ends with the test or after limit.
func testCtx(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(cancel)
	return ctx
}

// submit creates a job on s and registers a cleanup that checks that no
// managed service of the job is left once the test is done.
func submit(t *testing.T, s *server, req types.CreateJobRequest) *types.Job {
	t.Helper()
	if req.Image == "" {
		req.Image = testImage
	}
	j, err := s.client.CreateJob(testCtx(t, 10*time.Second), req)
	if err != nil {
		t.Fatalf("submitting job: %v", err)
	}
	t.Logf("job %s submitted", j.ID)
	t.Cleanup(func() { assertNoServices(t, j.ID) })
	return j
}

func sh(script string) []string { return []string{"sh", "-c", script} }

// waitTerminal waits until the job is terminal or fails the test after limit.
func waitTerminal(t *testing.T, s *server, id string, limit time.Duration) *types.Job {
	t.Helper()
	j, err := s.client.WaitTerminal(testCtx(t, limit), id)
	if err != nil {
		last, _ := s.client.GetJob(context.Background(), id)
		t.Fatalf("job %s not terminal after %v: %v; last seen: %+v", id, limit, err, last)
	}
	return j
}

// waitFor polls cond every 50ms until it holds, failing after limit with what.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s (last error: %v)", limit, what, lastErr)
}

// managedServices lists the managed services of job id, straight from Swarm.
func managedServices(ctx context.Context, id string) ([]string, error) {
	res, err := engine.ServiceList(ctx, dockerclient.ServiceListOptions{
		Filters: make(dockerclient.Filters).Add("label", "io.swarmjob.managed=true", "io.swarmjob.job="+id),
	})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range res.Items {
		names = append(names, s.Spec.Name)
	}
	return names, nil
}

// assertNoServices fails the test if a managed service of the job remains
// 10 s after the test ended.
func assertNoServices(t *testing.T, id string) {
	t.Helper()
	var left []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		left, err = managedServices(context.Background(), id)
		if err == nil && len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("job %s left managed services behind: %v (err %v)", id, left, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logs returns the stored output of a job.
func logs(t *testing.T, s *server, id string, opts client.LogOptions) string {
	t.Helper()
	rc, err := s.client.Logs(testCtx(t, 10*time.Second), id, opts)
	if err != nil {
		t.Fatalf("reading logs: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading logs: %v", err)
	}
	return string(b)
}

// rawRequest sends a request to the server, with its admin token, and
// returns status and body.
func rawRequest(t *testing.T, s *server, method, path, contentType string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t, 10*time.Second), method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func intp(v int) *int       { return &v }
func int64p(v int64) *int64 { return &v }
