package tests

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// engineProxy forwards a unix socket to the Engine's, and can cut every
// connection and refuse new ones, as an Engine outage would, without
// touching the Engine that other tests use.
type engineProxy struct {
	path, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func newEngineProxy(t *testing.T) *engineProxy {
	t.Helper()
	host := engine.DaemonHost()
	target, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		t.Fatalf("the outage test needs a unix-socket engine, have %s", host)
	}
	p := &engineProxy{path: filepath.Join(t.TempDir(), "engine.sock"), target: target, conns: map[net.Conn]bool{}}
	p.restore(t)
	t.Cleanup(p.cut)
	return p
}

func (p *engineProxy) restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
}

func (p *engineProxy) serve(c net.Conn) {
	up, err := net.Dial("unix", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// cut closes the listener (the socket file goes with it) and every open
// connection.
func (p *engineProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// TestEngineOutage: while the Engine is unreachable the API serves reads and
// accepts submissions (they stay Pending), /readyz says not ready; when it
// returns, every job finishes without losing or repeating an attempt.
func TestEngineOutage(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	created := watchServiceCreations(t)
	proxy := newEngineProxy(t)
	s, err := startServerWithEnv(filepath.Join(t.TempDir(), "data"), []string{"DOCKER_HOST=unix://" + proxy.path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)

	running := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("echo begin; sleep 3; echo end")}})
	waitFor(t, 30*time.Second, "the first job to run", func() (bool, error) {
		j, err := s.client.GetJob(ctx, running.ID)
		return err == nil && len(j.Status.Attempts) == 1 && j.Status.Attempts[0].State == "running", err
	})

	proxy.cut()
	t.Log("engine cut off")
	waitFor(t, 15*time.Second, "/readyz to say not ready", func() (bool, error) {
		return s.client.Ready(ctx) != nil, nil
	})
	if _, err := s.client.GetJob(ctx, running.ID); err != nil {
		t.Errorf("reads during the outage: %v", err)
	}
	pending := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("echo later")}})
	time.Sleep(4 * time.Second) // the first job ends on the Swarm meanwhile
	if j, err := s.client.GetJob(ctx, pending.ID); err != nil || j.Status.Phase != types.PhasePending {
		t.Errorf("job submitted during the outage: %+v, %v; want Pending", j, err)
	}

	proxy.restore(t)
	t.Log("engine back")
	for _, tc := range []struct {
		id, out string
	}{{running.ID, "begin\nend\n"}, {pending.ID, "later\n"}} {
		j := waitTerminal(t, s, tc.id, time.Minute)
		if j.Status.Phase != types.PhaseSucceeded || len(j.Status.Attempts) != 1 {
			t.Errorf("job %s: %+v, want Succeeded with one attempt", tc.id, j.Status)
		}
		if got := logs(t, s, tc.id, client.LogOptions{}); got != tc.out {
			t.Errorf("job %s output = %q, want %q", tc.id, got, tc.out)
		}
	}
	if err := s.client.Ready(ctx); err != nil {
		t.Errorf("/readyz after the outage: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	for _, id := range []string{running.ID, pending.ID} {
		if counts := created.of(id); len(counts) != 1 {
			t.Errorf("job %s: services created %v, want exactly one", id, counts)
		}
	}
}
