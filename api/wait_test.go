package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// calls returns how often method was called on the store.
func (f *fakeStore) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == method {
			n++
		}
	}
	return n
}

// waitForCalls blocks until method was called n times on the store, so a
// test knows its waiter has read the job and is parked on the Hub.
func waitForCalls(t *testing.T, f *fakeStore, method string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.callCount(method) < n {
		if time.Now().After(deadline) {
			t.Fatalf("store.%s called %d times after 5s, want %d", method, f.callCount(method), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// startWait serves a wait request in the background; the returned channel
// delivers its recorder once the handler returned.
func startWait(ctx context.Context, e *testEnv, target string) <-chan *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	go func() {
		rec := httptest.NewRecorder()
		withAdminToken(e.srv.Handler()).ServeHTTP(rec, req)
		done <- rec
	}()
	return done
}

func awaitResponse(t *testing.T, done <-chan *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	t.Helper()
	select {
	case rec := <-done:
		return rec
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return within 5s")
		return nil
	}
}

func putRunning(e *testEnv, id string) {
	e.store.put(&jobs.Job{ID: id, Spec: jobs.Spec{Image: "busybox"}, Status: jobs.Status{Phase: jobs.PhaseRunning}})
}

func wantWaitAnswer(t *testing.T, rec *httptest.ResponseRecorder, phase, terminal string) {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get(HeaderTerminal); got != terminal {
		t.Errorf("%s = %q, want %q", HeaderTerminal, got, terminal)
	}
	if job := decodeBody[types.Job](t, rec); job.Status.Phase != phase {
		t.Errorf("phase = %q, want %q", job.Status.Phase, phase)
	}
}

func TestWaitReturnsWhenJobBecomesTerminal(t *testing.T) {
	for _, phase := range []jobs.Phase{jobs.PhaseSucceeded, jobs.PhaseFailed, jobs.PhaseCancelled} {
		t.Run(string(phase), func(t *testing.T) {
			e := newTestEnv(t)
			putRunning(e, "j")
			done := startWait(t.Context(), e, "/v1/jobs/j/wait?timeout=1m")
			waitForCalls(t, e.store, "GetJob", 1)

			// A change that is not terminal wakes the waiter, which reads
			// the job again and keeps waiting.
			e.hub.Notify("j")
			waitForCalls(t, e.store, "GetJob", 2)

			e.store.setPhase("j", phase)
			e.hub.Notify("j")
			wantWaitAnswer(t, awaitResponse(t, done), string(phase), "true")
			if n := e.store.callCount("GetJob"); n != 3 {
				t.Errorf("GetJob called %d times, want 3: one per wake-up, no polling", n)
			}
		})
	}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name         string
		phase        jobs.Phase
		query        string
		maxWait      time.Duration
		wantPhase    string
		wantTerminal string
	}{
		{name: "already terminal", phase: jobs.PhaseSucceeded, query: "?timeout=1m", wantPhase: "Succeeded", wantTerminal: "true"},
		{name: "timeout passes", phase: jobs.PhaseRunning, query: "?timeout=20ms", wantPhase: "Running", wantTerminal: "false"},
		{name: "zero timeout answers at once", phase: jobs.PhasePending, query: "?timeout=0s", wantPhase: "Pending", wantTerminal: "false"},
		{name: "timeout capped by MaxWait", phase: jobs.PhaseRunning, query: "?timeout=1h", maxWait: 20 * time.Millisecond, wantPhase: "Running", wantTerminal: "false"},
		{name: "default timeout capped by MaxWait", phase: jobs.PhaseRunning, query: "", maxWait: 20 * time.Millisecond, wantPhase: "Running", wantTerminal: "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) { c.MaxWait = tt.maxWait })
			e.store.put(&jobs.Job{ID: "j", Spec: jobs.Spec{Image: "busybox"}, Status: jobs.Status{Phase: tt.phase}})
			entry := e.hub.Changed("j")
			done := startWait(t.Context(), e, "/v1/jobs/j/wait"+tt.query)
			wantWaitAnswer(t, awaitResponse(t, done), tt.wantPhase, tt.wantTerminal)

			// A wait on a job that will not change again leaves no Hub
			// entry behind; one on a job that still may keeps it.
			select {
			case <-entry:
				if tt.wantTerminal != "true" {
					t.Error("the Hub entry of a job still running was dropped")
				}
			default:
				if tt.wantTerminal == "true" {
					t.Error("the Hub entry of a terminal job was kept")
				}
			}
		})
	}
}

func TestWaitErrors(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"unknown job", "/v1/jobs/nope/wait", 404, types.CodeNotFound, `job "nope" not found`},
		{"bad timeout", "/v1/jobs/j/wait?timeout=soon", 400, types.CodeInvalid, `timeout: must be a non-negative duration such as 30s or 2m, got "soon"`},
		{"timeout without unit", "/v1/jobs/j/wait?timeout=30", 400, types.CodeInvalid, `timeout:`},
		{"negative timeout", "/v1/jobs/j/wait?timeout=-1s", 400, types.CodeInvalid, `timeout:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			putRunning(e, "j")
			entry := e.hub.Changed("nope")
			wantError(t, e.do(http.MethodGet, tt.path, ""), tt.wantStatus, tt.wantCode, tt.wantMsg)
			if tt.wantStatus == http.StatusNotFound {
				select {
				case <-entry:
				default:
					t.Error("a wait on an unknown job left a Hub entry behind")
				}
			}
		})
	}
}

func TestWaitJobDeletedWhileWaiting(t *testing.T) {
	e := newTestEnv(t)
	putRunning(e, "j")
	done := startWait(t.Context(), e, "/v1/jobs/j/wait?timeout=1m")
	waitForCalls(t, e.store, "GetJob", 1)

	if rec := e.do(http.MethodDelete, "/v1/jobs/j", ""); rec.Code != http.StatusNoContent {
		t.Fatalf("DELETE: status %d, body %s", rec.Code, rec.Body)
	}
	wantError(t, awaitResponse(t, done), http.StatusNotFound, types.CodeNotFound, `job "j" not found`)
}

func TestWaitCancelledByCaller(t *testing.T) {
	e := newTestEnv(t)
	putRunning(e, "j")
	ctx, cancel := context.WithCancel(t.Context())
	done := startWait(ctx, e, "/v1/jobs/j/wait?timeout=1m")
	waitForCalls(t, e.store, "GetJob", 1)
	cancel()
	rec := awaitResponse(t, done)
	if rec.Body.Len() != 0 {
		t.Errorf("wrote %q to a client that is gone", rec.Body)
	}
}

func TestWaitAtServerShutdownAsksToRetry(t *testing.T) {
	e := newTestEnv(t)
	putRunning(e, "j")
	ctx, cancel := context.WithCancelCause(t.Context())
	done := startWait(ctx, e, "/v1/jobs/j/wait?timeout=1m")
	waitForCalls(t, e.store, "GetJob", 1)
	cancel(ErrShuttingDown)
	wantError(t, awaitResponse(t, done), http.StatusServiceUnavailable, types.CodeUnavailable, "server is shutting down; retry the wait")
}
