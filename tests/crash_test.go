package tests

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// serviceCreations records the names of every service Swarm creates from now
// on, from the Engine's event stream.
type serviceCreations struct {
	mu    sync.Mutex
	names []string
}

func watchServiceCreations(t *testing.T) *serviceCreations {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sc := &serviceCreations{}
	res := engine.Events(ctx, dockerclient.EventsListOptions{
		Filters: make(dockerclient.Filters).Add("type", "service").Add("event", "create"),
	})
	go func() {
		for {
			select {
			case m := <-res.Messages:
				sc.mu.Lock()
				sc.names = append(sc.names, m.Actor.Attributes["name"])
				sc.mu.Unlock()
			case <-res.Err:
				return
			}
		}
	}()
	return sc
}

// of returns how many times each service of job id was created.
func (sc *serviceCreations) of(id string) map[string]int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	counts := map[string]int{}
	for _, n := range sc.names {
		if strings.HasPrefix(n, "swarmjob-"+id+"-") {
			counts[n]++
		}
	}
	return counts
}

// TestServerKilledMidJob SIGKILLs the server at several points of a job's
// life and starts it again on the same store: the job must finish once, with
// its output, and each attempt's service must have been created exactly once.
func TestServerKilledMidJob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// killWhen waits for the moment to kill the server.
		killWhen func(t *testing.T, s *server, id string)
		// downFor is how long the server stays down.
		downFor time.Duration
		backoff int
		script  string
		want    string
		wantAtt int
	}{
		{
			name:     "right after submit",
			killWhen: func(*testing.T, *server, string) {},
			downFor:  500 * time.Millisecond,
			script:   "echo start; sleep 1; echo done",
			want:     "start\ndone\n",
			wantAtt:  1,
		},
		{
			name: "while the attempt runs, finishing while the server is down",
			killWhen: func(t *testing.T, s *server, id string) {
				waitFor(t, 20*time.Second, "the attempt to run", func() (bool, error) {
					j, err := s.client.GetJob(context.Background(), id)
					return err == nil && len(j.Status.Attempts) == 1 && j.Status.Attempts[0].State == "running", err
				})
			},
			downFor: 3 * time.Second,
			script:  "echo start; sleep 1; echo done",
			want:    "start\ndone\n",
			wantAtt: 1,
		},
		{
			name: "between a failed attempt and its retry",
			killWhen: func(t *testing.T, s *server, id string) {
				waitFor(t, 20*time.Second, "the first attempt to fail", func() (bool, error) {
					j, err := s.client.GetJob(context.Background(), id)
					return err == nil && j.Status.Failed == 1, err
				})
			},
			downFor: time.Second,
			backoff: 1500,
			script:  `echo "attempt $SWARMJOB_ATTEMPT"; test "$SWARMJOB_ATTEMPT" = 1`,
			want:    "attempt 0\nattempt 1\n",
			wantAtt: 2,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			created := watchServiceCreations(t)
			s, err := startServer(filepath.Join(t.TempDir(), "data"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.stop)
			req := types.CreateJobRequest{Name: "crash-" + string(rune('a'+i)), JobSpec: types.JobSpec{Command: sh(tt.script)}}
			if tt.backoff > 0 {
				req.BackoffLimit = intp(1)
				req.Backoff = &types.Backoff{InitialMs: int64p(int64(tt.backoff))}
			}
			j := submit(t, s, req)
			tt.killWhen(t, s, j.ID)
			s.kill()
			t.Logf("server killed; down for %v", tt.downFor)
			time.Sleep(tt.downFor)
			if err := s.start(); err != nil {
				t.Fatal(err)
			}
			j = waitTerminal(t, s, j.ID, 60*time.Second)
			if j.Status.Phase != types.PhaseSucceeded || len(j.Status.Attempts) != tt.wantAtt {
				t.Fatalf("status = %+v, want Succeeded with %d attempts", j.Status, tt.wantAtt)
			}
			if got := logs(t, s, j.ID, client.LogOptions{}); got != tt.want {
				t.Errorf("output = %q, want %q", got, tt.want)
			}
			assertEventsTellTheJob(t, s, j)
			// Let the event stream catch up before counting.
			time.Sleep(500 * time.Millisecond)
			counts := created.of(j.ID)
			if len(counts) != tt.wantAtt {
				t.Errorf("services created = %v, want one per attempt (%d)", counts, tt.wantAtt)
			}
			for name, n := range counts {
				if n != 1 {
					t.Errorf("service %s created %d times, want once", name, n)
				}
			}
		})
	}
}

func TestBadInputIsRefusedAndServerKeepsServing(t *testing.T) {
	t.Parallel()
	big := `{"image":"x","env":{"A":"` + strings.Repeat("a", 1<<20) + `"}}`
	tests := []struct {
		name, body, wantField string
		wantStatus            int
	}{
		{"malformed JSON", `{"image":`, "", 400},
		{"unknown field", `{"image":"x","imagee":"y"}`, "imagee", 400},
		{"missing image", `{"name":"x"}`, "image", 400},
		{"negative backoffLimit", `{"image":"x","backoffLimit":-1}`, "backoffLimit", 400},
		{"negative deadline", `{"image":"x","activeDeadlineSeconds":-5}`, "activeDeadlineSeconds", 400},
		{"negative backoff", `{"image":"x","backoff":{"initialMs":-1}}`, "backoff.initialMs", 400},
		{"negative memory", `{"image":"x","resources":{"limits":{"memoryBytes":-1}}}`, "memoryBytes", 400},
		{"wrong type", `{"image":"x","backoffLimit":"3"}`, "backoffLimit", 400},
		{"body over 1 MiB", big, "", 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawRequest(t, shared, "POST", "/v1/jobs", "application/json", strings.NewReader(tt.body))
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", status, tt.wantStatus, body)
			}
			if !strings.HasPrefix(body, `{"error":{"code":`) || !strings.Contains(body, tt.wantField) {
				t.Errorf("body = %s, want an error naming %q", body, tt.wantField)
			}
		})
	}
	if status, body := rawRequest(t, shared, "GET", "/v1/jobs/no-such-job", "", nil); status != 404 || !strings.Contains(body, "not_found") {
		t.Errorf("unknown job: %d %s", status, body)
	}
	if err := shared.client.Ready(testCtx(t, 5*time.Second)); err != nil {
		t.Errorf("server not ready after bad input: %v", err)
	}
}

// assertEventsTellTheJob replays the events of finished job j from the
// start: whatever the crashes, each change is stored with its event, so the
// stream tells the whole story: job.created, then attempt.started and
// attempt.finished of every attempt, and the final phase last.
func assertEventsTellTheJob(t *testing.T, s *server, j *types.Job) {
	t.Helper()
	ctx := testCtx(t, 30*time.Second)
	since := int64(0)
	st := openEvents(t, ctx, s, client.EventsOptions{Since: &since, JobID: j.ID})
	got, err := readEventsUntil(st, "the final phase", func(e types.Event) bool {
		return e.Type == types.EventPhaseChanged && types.TerminalPhase(e.Phase)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Type != types.EventJobCreated {
		t.Errorf("first event %s, want job.created; got %s", got[0].Type, describe(got))
	}
	if last := got[len(got)-1]; last.Phase != j.Status.Phase {
		t.Errorf("final phase event %s, want %s", last.Phase, j.Status.Phase)
	}
	for _, a := range j.Status.Attempts {
		var started, finished int
		for _, e := range got {
			if e.Index == nil || e.Attempt == nil || *e.Index != a.Index || *e.Attempt != a.Attempt {
				continue
			}
			switch e.Type {
			case types.EventAttemptStarted:
				started++
			case types.EventAttemptFinished:
				finished++
			}
		}
		if started != 1 || finished != 1 {
			t.Errorf("attempt %d/%d: %d attempt.started and %d attempt.finished events, want one each; got %s",
				a.Index, a.Attempt, started, finished, describe(got))
		}
	}
}
