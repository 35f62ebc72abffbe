package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// tortureKind is one kind of job in the torture test, with the outcome its
// command dictates.
type tortureKind struct {
	name     string
	req      func() types.CreateJobRequest
	phase    string
	reason   string
	attempts int
	// orNone allows no attempt at all: a deadline that passes while the
	// server is down, after the job's start was recorded but before its
	// first attempt was, ends the job with none (as in Kubernetes, the
	// clock runs from the job's start).
	orNone   bool
	wantLogs func(id string) string // "" = do not check
}

var tortureKinds = []tortureKind{
	{
		name:     "success",
		req:      func() types.CreateJobRequest { return jobReq(sh(`echo "ok $SWARMJOB_JOB_ID"`)) },
		phase:    types.PhaseSucceeded,
		reason:   "Completed",
		attempts: 1,
		wantLogs: func(id string) string { return "ok " + id + "\n" },
	},
	{
		name:     "failure",
		req:      func() types.CreateJobRequest { return jobReq(sh("echo failing; exit 3")) },
		phase:    types.PhaseFailed,
		reason:   "BackoffLimitExceeded",
		attempts: 1,
		wantLogs: func(string) string { return "failing\n" },
	},
	{
		name: "retry",
		req: func() types.CreateJobRequest {
			r := jobReq(sh(`echo "attempt $SWARMJOB_ATTEMPT"; test "$SWARMJOB_ATTEMPT" = 1`))
			r.BackoffLimit = intp(2)
			r.Backoff = &types.Backoff{InitialMs: int64p(300)}
			return r
		},
		phase:    types.PhaseSucceeded,
		reason:   "Completed",
		attempts: 2,
		wantLogs: func(string) string { return "attempt 0\nattempt 1\n" },
	},
	{
		name: "deadline",
		req: func() types.CreateJobRequest {
			r := jobReq(sh("echo started; sleep 60"))
			r.ActiveDeadlineSeconds = int64p(4)
			return r
		},
		phase:    types.PhaseFailed,
		reason:   "DeadlineExceeded",
		attempts: 1,
		orNone:   true,
	},
}

func jobReq(cmd []string) types.CreateJobRequest {
	return types.CreateJobRequest{Labels: map[string]string{"suite": "torture"}, JobSpec: types.JobSpec{Image: testImage, Command: cmd}}
}

// submitRetrying submits with an Idempotency-Key and retries every failure
// that is not the server's answer (refused or reset connections while it is
// killed): the key makes a retry of a request that did reach the server
// return the same job instead of a second one.
func submitRetrying(ctx context.Context, c *client.Client, key string, req types.CreateJobRequest) (*types.Job, error) {
	for {
		j, _, err := c.CreateJobWithKey(ctx, key, req)
		var apiErr *client.Error
		if err == nil || errors.As(err, &apiErr) || ctx.Err() != nil {
			return j, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestTorture runs 100 jobs of four kinds while the server is SIGKILLed and
// restarted at random moments at least 10 times. Afterwards every job is
// terminal with the phase its command dictates, every attempt has its
// result, no service was ever created twice for the same (job, index,
// attempt), and no managed service is left.
func TestTorture(t *testing.T) {
	const total = 100
	ctx := testCtx(t, 8*time.Minute)
	created := watchServiceCreations(t)
	s, err := startServer(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)

	type submitted struct {
		id   string
		kind tortureKind
	}
	var (
		mu   sync.Mutex
		jobs []submitted
	)
	// One generator per goroutine: rand.Rand is not safe for concurrent use.
	rng, submitRng := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(3, 4))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			k := tortureKinds[i%len(tortureKinds)]
			j, err := submitRetrying(ctx, s.client, fmt.Sprintf("torture-%d", i), k.req())
			if err != nil {
				t.Errorf("submitting job %d: %v", i, err)
				return
			}
			mu.Lock()
			jobs = append(jobs, submitted{j.ID, k})
			mu.Unlock()
			time.Sleep(time.Duration(submitRng.IntN(120)) * time.Millisecond)
		}
	}()

	kills := 0
	for kills < 10 || !isClosed(done) {
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		s.kill()
		kills++
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		if err := s.start(); err != nil {
			t.Fatalf("restart %d: %v", kills, err)
		}
	}
	<-done
	t.Logf("server killed %d times while %d jobs were submitted", kills, len(jobs))
	if len(jobs) != total {
		t.Fatalf("submitted %d jobs, want %d", len(jobs), total)
	}

	attempts := map[string]int{} // job ID -> recorded attempts
	for _, sj := range jobs {
		j, err := s.client.WaitTerminal(ctx, sj.id)
		if err != nil {
			t.Fatalf("job %s (%s): %v", sj.id, sj.kind.name, err)
		}
		k := sj.kind
		n := len(j.Status.Attempts)
		attempts[sj.id] = n
		if j.Status.Phase != k.phase || j.Status.Reason != k.reason || (n != k.attempts && !(k.orNone && n == 0)) {
			t.Errorf("job %s (%s): %s/%s with %d attempts, want %s/%s with %d; status %+v",
				sj.id, k.name, j.Status.Phase, j.Status.Reason, len(j.Status.Attempts), k.phase, k.reason, k.attempts, j.Status)
			continue
		}
		for _, a := range j.Status.Attempts {
			if a.FinishedAt == nil || a.State == "creating" || a.Reason == "" {
				t.Errorf("job %s (%s): attempt %d has no recorded result: %+v", sj.id, k.name, a.Attempt, a)
			}
		}
		if k.wantLogs != nil {
			if got, want := logs(t, s, sj.id, client.LogOptions{}), k.wantLogs(sj.id); got != want {
				t.Errorf("job %s (%s): output %q, want %q", sj.id, k.name, got, want)
			}
		}
	}
	time.Sleep(time.Second) // let the event stream catch up
	for _, sj := range jobs {
		// Every recorded attempt had its service created, once; no other.
		counts := created.of(sj.id)
		if len(counts) != attempts[sj.id] {
			t.Errorf("job %s (%s): services created %v, want %d", sj.id, sj.kind.name, counts, attempts[sj.id])
		}
		for name, n := range counts {
			if n != 1 {
				t.Errorf("service %s created %d times", name, n)
			}
		}
		assertNoServices(t, sj.id)
	}
	if t.Failed() {
		fmt.Printf("torture: server log at %s\n", s.logPath)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
