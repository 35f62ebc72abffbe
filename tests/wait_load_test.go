package tests

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// TestManyWaitersOnOneJob: 200 clients wait on one job at once, each with
// one wait call of the Go client with a long timeout. All of them return
// with the terminal phase soon after the job ends; meanwhile the server
// answers other requests and runs another job; and its memory stays
// nearly flat.
func TestManyWaitersOnOneJob(t *testing.T) {
	t.Parallel()
	// The server caps the waits one token has open (64 by default), so the
	// waiters use several tokens, as that many real clients would.
	const waiters, tokens = 200, 5
	// A server of its own, so that its memory is this test's.
	s, err := startServer(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	rssBefore := peakRSS(t, s.cmd.Process.Pid)

	ctx := testCtx(t, 3*time.Minute)
	clients := make([]*client.Client, tokens)
	for i := range clients {
		// The jobs of the admin token are those of the tenant "default".
		tok, err := s.client.CreateToken(ctx, types.CreateTokenRequest{Name: fmt.Sprintf("waiter-%d", i), Tenant: "default",
			Scopes: []string{types.ScopeJobsRead}})
		if err != nil {
			t.Fatalf("creating a token: %v", err)
		}
		if clients[i], err = client.New(s.url, client.WithToken(tok.Secret)); err != nil {
			t.Fatal(err)
		}
	}

	j := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("sleep 5; echo done")}})
	type result struct {
		job *types.Job
		err error
		at  time.Time
	}
	results := make(chan result, waiters)
	var started sync.WaitGroup
	started.Add(waiters)
	for i := range waiters {
		go func() {
			started.Done()
			// Far longer than the job: the call must end because the job
			// did, not because its timeout passed.
			job, err := clients[i%tokens].Wait(ctx, j.ID, 5*time.Minute)
			results <- result{job, err, time.Now()}
		}()
	}
	started.Wait()
	t.Logf("%d waiters started", waiters)

	// The server keeps serving while they wait: reads answer promptly, and
	// another job runs to its end.
	quick := func(what string, f func(context.Context) error) {
		t.Helper()
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := time.Now()
		if err := f(qctx); err != nil {
			t.Errorf("%s: %v", what, err)
		}
		t.Logf("%s: %v", what, time.Since(start))
	}
	quick("readyz while they wait", s.client.Ready)
	quick("get while they wait", func(ctx context.Context) error { _, err := s.client.GetJob(ctx, j.ID); return err })
	other := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("echo other")}})
	if got := waitTerminal(t, s, other.ID, time.Minute); got.Status.Phase != types.PhaseSucceeded {
		t.Errorf("another job while %d clients wait: %s (%s)", waiters, got.Status.Phase, got.Status.Message)
	}
	quick("list while they wait", func(ctx context.Context) error {
		_, err := s.client.ListJobs(ctx, client.ListOptions{Limit: 10})
		return err
	})

	// Every waiter returns with the job terminal.
	final := waitTerminal(t, s, j.ID, time.Minute)
	if final.Status.Phase != types.PhaseSucceeded {
		t.Fatalf("job %s: %s (%s: %s)", j.ID, final.Status.Phase, final.Status.Reason, final.Status.Message)
	}
	ended := time.Now()
	bound := time.After(time.Minute)
	var last time.Time
	for i := range waiters {
		select {
		case r := <-results:
			if r.err != nil {
				t.Errorf("waiter: %v", r.err)
				continue
			}
			if r.job.Status.Phase != types.PhaseSucceeded {
				t.Errorf("a waiter returned the job %s, want Succeeded", r.job.Status.Phase)
			}
			if r.at.After(last) {
				last = r.at
			}
		case <-bound:
			t.Fatalf("only %d of %d waiters returned within a minute of the job's end", i, waiters)
		}
	}
	t.Logf("the last waiter returned %v after the job was seen terminal", last.Sub(ended))

	// Still serving, with memory nearly flat: 200 parked requests cost a
	// goroutine and a connection each, not a copy of the job per poll.
	quick("readyz after", s.client.Ready)
	rssAfter := peakRSS(t, s.cmd.Process.Pid)
	t.Logf("server peak RSS %d MiB before, %d MiB after", rssBefore>>20, rssAfter>>20)
	if rssAfter-rssBefore > 64<<20 {
		t.Errorf("server peak RSS grew by %d MiB with %d waiters, want under 64", (rssAfter-rssBefore)>>20, waiters)
	}
}
