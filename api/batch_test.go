package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// putBatchJob stores job id in phase with a defaulted spec of parallelism 2.
func putBatchJob(e *testEnv, id string, phase jobs.Phase, mutate ...func(*jobs.Job)) {
	spec := jobs.Spec{Image: "busybox", Parallelism: 2}
	spec.Defaults()
	j := &jobs.Job{ID: id, CreatedAt: testNow, Spec: spec, Status: jobs.Status{Phase: phase}}
	for _, m := range mutate {
		m(j)
	}
	e.store.put(j)
}

func TestSuspendAndResume(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		phase       jobs.Phase
		suspended   bool // stored spec before the call
		deleted     bool
		wantStatus  int
		wantCode    string
		wantMsg     string
		wantSuspend bool // stored spec after the call
	}{
		{name: "suspend a running job", path: "/v1/jobs/j/suspend", phase: jobs.PhaseRunning, wantStatus: 202, wantSuspend: true},
		{name: "suspend a pending job", path: "/v1/jobs/j/suspend", phase: jobs.PhasePending, wantStatus: 202, wantSuspend: true},
		{name: "suspend again", path: "/v1/jobs/j/suspend", phase: jobs.PhaseSuspended, suspended: true, wantStatus: 202, wantSuspend: true},
		{name: "resume a suspended job", path: "/v1/jobs/j/resume", phase: jobs.PhaseSuspended, suspended: true, wantStatus: 202},
		{name: "resume a job being suspended", path: "/v1/jobs/j/resume", phase: jobs.PhaseRunning, suspended: true, wantStatus: 202},
		{name: "resume a running job changes nothing", path: "/v1/jobs/j/resume", phase: jobs.PhaseRunning, wantStatus: 202},
		{name: "suspend unknown", path: "/v1/jobs/nope/suspend", phase: jobs.PhaseRunning, wantStatus: 404, wantCode: types.CodeNotFound, wantMsg: `job "nope" not found`},
		{name: "resume unknown", path: "/v1/jobs/nope/resume", phase: jobs.PhaseRunning, wantStatus: 404, wantCode: types.CodeNotFound, wantMsg: `job "nope" not found`},
		{name: "suspend deleted", path: "/v1/jobs/j/suspend", phase: jobs.PhaseRunning, deleted: true, wantStatus: 404, wantCode: types.CodeNotFound, wantMsg: `job "j" not found`},
		{name: "suspend succeeded", path: "/v1/jobs/j/suspend", phase: jobs.PhaseSucceeded, wantStatus: 409, wantCode: types.CodeConflict,
			wantMsg: `job "j" is Succeeded; a finished job cannot be suspended`},
		{name: "suspend failed", path: "/v1/jobs/j/suspend", phase: jobs.PhaseFailed, wantStatus: 409, wantCode: types.CodeConflict,
			wantMsg: `job "j" is Failed; a finished job cannot be suspended`},
		{name: "resume cancelled", path: "/v1/jobs/j/resume", phase: jobs.PhaseCancelled, suspended: true, wantStatus: 409, wantCode: types.CodeConflict,
			wantMsg: `job "j" is Cancelled; a finished job cannot be resumed`, wantSuspend: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			putBatchJob(e, "j", tt.phase, func(j *jobs.Job) {
				j.Spec.Suspend = tt.suspended
				j.DeleteRequested = tt.deleted
			})
			woken := e.hub.Changed("j")

			// The body is ignored, as for cancel.
			rec := e.do(http.MethodPost, tt.path, `{"ignored":true}`)
			stored := e.store.get("j")
			if stored.Spec.Suspend != tt.wantSuspend {
				t.Errorf("stored suspend = %v, want %v", stored.Spec.Suspend, tt.wantSuspend)
			}
			if tt.wantStatus != http.StatusAccepted {
				wantError(t, rec, tt.wantStatus, tt.wantCode, tt.wantMsg)
				if got := e.enq.enqueued(); len(got) != 0 {
					t.Errorf("enqueued %v for a refused request", got)
				}
				return
			}
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status = %d, want 202; body %s", rec.Code, rec.Body)
			}
			job := decodeBody[types.Job](t, rec)
			if job.ID != "j" || job.Spec.Suspend == nil || *job.Spec.Suspend != tt.wantSuspend || job.Status.Phase != string(tt.phase) {
				t.Errorf("answered job %s suspend=%v phase %s; want j suspend=%v phase %s",
					job.ID, job.Spec.Suspend, job.Status.Phase, tt.wantSuspend, tt.phase)
			}
			if diff := cmp.Diff([]string{"j"}, e.enq.enqueued()); diff != "" {
				t.Errorf("enqueued (-want +got):\n%s", diff)
			}
			select {
			case <-woken:
			default:
				t.Error("waiters of the job were not woken")
			}
		})
	}
}

func TestPatchJob(t *testing.T) {
	big := `{"parallelism":` + strings.Repeat(" ", 2000) + `3}`
	tests := []struct {
		name        string
		id          string
		phase       jobs.Phase
		body        string
		contentType string
		wantStatus  int
		wantCode    string
		wantMsg     []string
		wantPar     int // stored parallelism after the call
	}{
		{name: "raise", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":5}`, contentType: "application/json", wantStatus: 200, wantPar: 5},
		{name: "lower, no Content-Type", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":1}`, wantStatus: 200, wantPar: 1},
		{name: "while suspended", id: "j", phase: jobs.PhaseSuspended, body: `{"parallelism":4}`, wantStatus: 200, wantPar: 4},
		{name: "largest", id: "j", phase: jobs.PhasePending, body: `{"parallelism":10000}`, wantStatus: 200, wantPar: 10000},
		{name: "zero", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":0}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"parallelism: must be between 1 and 10000, got 0"}, wantPar: 2},
		{name: "negative", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":-1}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"parallelism: must be between 1 and 10000, got -1"}, wantPar: 2},
		{name: "too large", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":10001}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"parallelism: must be between 1 and 10000, got 10001"}, wantPar: 2},
		{name: "empty object", id: "j", phase: jobs.PhaseRunning, body: `{}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"parallelism: is required"}, wantPar: 2},
		{name: "null parallelism", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":null}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"parallelism: is required"}, wantPar: 2},
		{name: "a field PATCH does not change", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":3,"completions":4}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{`unknown field "completions"`}, wantPar: 2},
		{name: "wrong type", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":"3"}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"parallelism: must be an integer", "got string"}, wantPar: 2},
		{name: "fraction", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":2.5}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"parallelism: must be an integer", "got number 2.5"}, wantPar: 2},
		{name: "malformed", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"request body: malformed JSON"}, wantPar: 2},
		{name: "empty body", id: "j", phase: jobs.PhaseRunning, body: ``, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"request body: is empty"}, wantPar: 2},
		{name: "trailing data", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":3} {}`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"unexpected data after the JSON object"}, wantPar: 2},
		{name: "not an object", id: "j", phase: jobs.PhaseRunning, body: `[3]`, wantStatus: 400, wantCode: types.CodeInvalid,
			wantMsg: []string{"request body: must be a JSON object, got array"}, wantPar: 2},
		{name: "wrong Content-Type", id: "j", phase: jobs.PhaseRunning, body: `{"parallelism":3}`, contentType: "text/plain", wantStatus: 415,
			wantCode: types.CodeUnsupported, wantMsg: []string{"Content-Type: must be application/json"}, wantPar: 2},
		{name: "body too large", id: "j", phase: jobs.PhaseRunning, body: big, wantStatus: 413, wantCode: types.CodeTooLarge,
			wantMsg: []string{"request body: must be at most 1024 bytes"}, wantPar: 2},
		{name: "unknown job", id: "nope", phase: jobs.PhaseRunning, body: `{"parallelism":3}`, wantStatus: 404, wantCode: types.CodeNotFound,
			wantMsg: []string{`job "nope" not found`}, wantPar: 2},
		{name: "bad body of an unknown job is checked first", id: "nope", phase: jobs.PhaseRunning, body: `{"parallelism":0}`, wantStatus: 400,
			wantCode: types.CodeInvalid, wantMsg: []string{"parallelism:"}, wantPar: 2},
		{name: "succeeded job", id: "j", phase: jobs.PhaseSucceeded, body: `{"parallelism":3}`, wantStatus: 409, wantCode: types.CodeConflict,
			wantMsg: []string{`job "j" is Succeeded; a finished job cannot be changed`}, wantPar: 2},
		{name: "cancelled job", id: "j", phase: jobs.PhaseCancelled, body: `{"parallelism":3}`, wantStatus: 409, wantCode: types.CodeConflict,
			wantMsg: []string{`job "j" is Cancelled`}, wantPar: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) { c.MaxBodyBytes = 1024 })
			putBatchJob(e, "j", tt.phase)
			woken := e.hub.Changed("j")
			var hdr []string
			if tt.contentType != "" {
				hdr = []string{"Content-Type", tt.contentType}
			}
			rec := e.do(http.MethodPatch, "/v1/jobs/"+tt.id, tt.body, hdr...)
			if got := e.store.get("j").Spec.Parallelism; got != tt.wantPar {
				t.Errorf("stored parallelism = %d, want %d", got, tt.wantPar)
			}
			if tt.wantStatus != http.StatusOK {
				wantError(t, rec, tt.wantStatus, tt.wantCode, tt.wantMsg...)
				if got := e.enq.enqueued(); len(got) != 0 {
					t.Errorf("enqueued %v for a refused request", got)
				}
				return
			}
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			job := decodeBody[types.Job](t, rec)
			if job.Spec.Parallelism == nil || *job.Spec.Parallelism != tt.wantPar {
				t.Errorf("answered parallelism = %v, want %d", job.Spec.Parallelism, tt.wantPar)
			}
			if diff := cmp.Diff([]string{"j"}, e.enq.enqueued()); diff != "" {
				t.Errorf("enqueued (-want +got):\n%s", diff)
			}
			select {
			case <-woken:
			default:
				t.Error("waiters of the job were not woken")
			}
		})
	}
}

func TestPatchStoreErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"internal", errors.New("database is locked"), 500, types.CodeInternal, "internal error"},
		// A job deleted between the read and the write.
		{"not found", jobs.Errorf(jobs.ENOTFOUND, "no such job"), 404, types.CodeNotFound, `job "j" not found`},
		// A store that refuses terminal jobs itself keeps its message.
		{"conflict", jobs.Errorf(jobs.ECONFLICT, "job j finished"), 409, types.CodeConflict, "job j finished"},
	}
	for _, tt := range tests {
		for _, req := range []struct{ method, path, body string }{
			{http.MethodPost, "/v1/jobs/j/suspend", ""},
			{http.MethodPost, "/v1/jobs/j/resume", ""},
			{http.MethodPatch, "/v1/jobs/j", `{"parallelism":3}`},
		} {
			t.Run(tt.name+" "+req.method+" "+req.path, func(t *testing.T) {
				e := newTestEnv(t)
				putBatchJob(e, "j", jobs.PhaseRunning)
				e.store.setFail("PatchSpec", tt.err)
				wantError(t, e.do(req.method, req.path, req.body), tt.wantStatus, tt.wantCode, tt.wantMsg)
				if got := e.enq.enqueued(); len(got) != 0 {
					t.Errorf("enqueued %v although nothing was stored", got)
				}
			})
		}
	}
}

func TestJobResults(t *testing.T) {
	at := func(idx, n int, state jobs.AttemptState, exit *int, logBytes int64, mutate ...func(*jobs.Attempt)) jobs.Attempt {
		a := jobs.Attempt{Index: idx, Attempt: n, Service: "s", State: state, ExitCode: exit, LogBytes: logBytes, CreatedAt: testNow}
		for _, m := range mutate {
			m(&a)
		}
		return a
	}
	wire := func(a jobs.Attempt) *types.Attempt { w := attemptToWire(a); return &w }
	truncated := func(a *jobs.Attempt) { a.Truncated = true }
	stoppedBySuspend := func(a *jobs.Attempt) { a.Reason = jobs.AttemptReasonSuspended }

	indexed := []jobs.Attempt{
		at(0, 0, jobs.AttemptFailed, ptr(1), 10),
		at(0, 1, jobs.AttemptSucceeded, ptr(0), 20),
		at(1, 0, "running", nil, 0),
		at(2, 0, jobs.AttemptFailed, ptr(2), 5),
		at(3, 0, jobs.AttemptFailed, ptr(5), 7),
		at(3, 1, jobs.AttemptFailed, ptr(5), 100, truncated),
		at(4, 0, jobs.AttemptStopped, nil, 3, stoppedBySuspend),
	}
	nonIndexed := []jobs.Attempt{
		at(0, 0, jobs.AttemptSucceeded, ptr(0), 1),
		at(0, 1, jobs.AttemptFailed, ptr(7), 2),
		at(0, 2, "running", nil, 0),
	}
	indexedItems := func(idx2, idx4 string) []types.ResultItem {
		return []types.ResultItem{
			{Index: 0, State: "Succeeded", ExitCode: ptr(0), Attempts: 2, LogBytes: 30, LastAttempt: wire(indexed[1])},
			{Index: 1, State: "Running", Attempts: 1, LastAttempt: wire(indexed[2])},
			{Index: 2, State: idx2, ExitCode: ptr(2), Attempts: 1, LogBytes: 5, LastAttempt: wire(indexed[3])},
			{Index: 3, State: "Failed", ExitCode: ptr(5), Attempts: 2, LogBytes: 107, Truncated: true, LastAttempt: wire(indexed[5])},
			{Index: 4, State: idx4, Attempts: 1, LogBytes: 3, LastAttempt: wire(indexed[6])},
			{Index: 5, State: "Pending", Attempts: 0},
		}
	}
	tests := []struct {
		name  string
		mode  jobs.CompletionMode
		phase jobs.Phase
		atts  []jobs.Attempt
		want  types.Results
	}{
		{
			name: "Indexed, running: a failed index waits for its retry", mode: jobs.Indexed, phase: jobs.PhaseRunning, atts: indexed,
			want: types.Results{JobID: "j", CompletionMode: "Indexed", Items: indexedItems("Pending", "Pending")},
		},
		{
			name: "Indexed, failed: a failed index will not be retried", mode: jobs.Indexed, phase: jobs.PhaseFailed, atts: indexed,
			want: types.Results{JobID: "j", CompletionMode: "Indexed", Items: indexedItems("Failed", "Pending")},
		},
		{
			name: "Indexed, nothing run yet", mode: jobs.Indexed, phase: jobs.PhasePending,
			want: types.Results{JobID: "j", CompletionMode: "Indexed", Items: []types.ResultItem{
				{Index: 0, State: "Pending"}, {Index: 1, State: "Pending"}, {Index: 2, State: "Pending"},
				{Index: 3, State: "Pending"}, {Index: 4, State: "Pending"}, {Index: 5, State: "Pending"},
			}},
		},
		{
			name: "NonIndexed, running", mode: jobs.NonIndexed, phase: jobs.PhaseRunning, atts: nonIndexed,
			want: types.Results{JobID: "j", CompletionMode: "NonIndexed", Items: []types.ResultItem{
				{Index: 0, State: "Running", Attempts: 3, LogBytes: 3, LastAttempt: wire(nonIndexed[2])},
			}},
		},
		{
			name: "NonIndexed, succeeded", mode: jobs.NonIndexed, phase: jobs.PhaseSucceeded, atts: nonIndexed[:2],
			want: types.Results{JobID: "j", CompletionMode: "NonIndexed", Items: []types.ResultItem{
				{Index: 0, State: "Succeeded", ExitCode: ptr(7), Attempts: 2, LogBytes: 3, LastAttempt: wire(nonIndexed[1])},
			}},
		},
		{
			name: "NonIndexed, failed", mode: jobs.NonIndexed, phase: jobs.PhaseFailed, atts: nonIndexed[:2],
			want: types.Results{JobID: "j", CompletionMode: "NonIndexed", Items: []types.ResultItem{
				{Index: 0, State: "Failed", ExitCode: ptr(7), Attempts: 2, LogBytes: 3, LastAttempt: wire(nonIndexed[1])},
			}},
		},
		{
			name: "NonIndexed, cancelled before any attempt", mode: jobs.NonIndexed, phase: jobs.PhaseCancelled,
			want: types.Results{JobID: "j", CompletionMode: "NonIndexed", Items: []types.ResultItem{{Index: 0, State: "Pending"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			putBatchJob(e, "j", tt.phase, func(j *jobs.Job) {
				j.Spec.CompletionMode, j.Spec.Completions = tt.mode, 6
				j.Status.Attempts = tt.atts
				if tt.mode == jobs.Indexed && len(tt.atts) > 0 {
					j.Status.CompletedIndexes, j.Status.FailedIndexes = "0", "3"
				}
			})
			rec := e.do(http.MethodGet, "/v1/jobs/j/results", "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), `"items":[`) {
				t.Errorf("body %s lacks an items array", rec.Body)
			}
			if diff := cmp.Diff(tt.want, decodeBody[types.Results](t, rec)); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("unknown job", func(t *testing.T) {
		e := newTestEnv(t)
		wantError(t, e.do(http.MethodGet, "/v1/jobs/nope/results", ""), 404, types.CodeNotFound, `job "nope" not found`)
	})
	t.Run("deleted job", func(t *testing.T) {
		e := newTestEnv(t)
		putBatchJob(e, "j", jobs.PhaseRunning, func(j *jobs.Job) { j.DeleteRequested = true })
		wantError(t, e.do(http.MethodGet, "/v1/jobs/j/results", ""), 404, types.CodeNotFound, `job "j" not found`)
	})
}

// putIndexedLogFixture stores Indexed job "ix" of 3 completions: index 0
// has attempts 0 and 1, index 1 attempt 0, index 2 none yet.
func putIndexedLogFixture(t *testing.T, e *testEnv) {
	t.Helper()
	putBatchJob(e, "ix", jobs.PhaseRunning, func(j *jobs.Job) {
		j.Spec.CompletionMode, j.Spec.Completions = jobs.Indexed, 3
		j.Status.Attempts = []jobs.Attempt{
			{Index: 0, Attempt: 0, State: jobs.AttemptFailed}, {Index: 0, Attempt: 1, State: jobs.AttemptSucceeded},
			{Index: 1, Attempt: 0, State: jobs.AttemptSucceeded},
		}
	})
	for _, c := range []struct {
		index, attempt int
		stream         jobs.Stream
		data           string
	}{
		{0, 0, jobs.Stdout, "2026-01-02T03:04:05.000000000Z i0a0\n"},
		{0, 1, jobs.Stdout, "2026-01-02T03:04:06.000000000Z i0a1\n"},
		{0, 1, jobs.Stderr, "2026-01-02T03:04:06.100000000Z i0a1 err\n"},
		{1, 0, jobs.Stdout, "2026-01-02T03:04:05.500000000Z i1a0\n"},
	} {
		k := jobs.AttemptKey{JobID: "ix", Index: c.index, Attempt: c.attempt}
		if err := e.store.AppendLog(t.Context(), k, 0+int(c.stream), c.stream, []byte(c.data)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestJobLogsByIndex(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		wantStatus int
		want       string
		wantMsg    string
	}{
		{name: "every index, in index order", path: "/v1/jobs/ix/logs", wantStatus: 200, want: "i0a0\ni0a1\ni0a1 err\ni1a0\n"},
		{name: "one index, every attempt", path: "/v1/jobs/ix/logs?index=0", wantStatus: 200, want: "i0a0\ni0a1\ni0a1 err\n"},
		{name: "one index, one attempt", path: "/v1/jobs/ix/logs?index=0&attempt=1&stream=stdout", wantStatus: 200, want: "i0a1\n"},
		{name: "another index", path: "/v1/jobs/ix/logs?index=1", wantStatus: 200, want: "i1a0\n"},
		{name: "an attempt number across indexes", path: "/v1/jobs/ix/logs?attempt=0", wantStatus: 200, want: "i0a0\ni1a0\n"},
		{name: "an index without attempts yet", path: "/v1/jobs/ix/logs?index=2", wantStatus: 200, want: ""},
		{name: "an index beyond completions", path: "/v1/jobs/ix/logs?index=3", wantStatus: 404, wantMsg: `job "ix" has no index 3: its indexes are 0 to 2`},
		{name: "an attempt the index lacks", path: "/v1/jobs/ix/logs?index=1&attempt=1", wantStatus: 404, wantMsg: `job "ix" has no attempt 1 of index 1`},
		{name: "NonIndexed has only index 0", path: "/v1/jobs/plain/logs?index=1", wantStatus: 404, wantMsg: `job "plain" has no index 1: a NonIndexed job runs every attempt as index 0`},
		{name: "NonIndexed index 0", path: "/v1/jobs/plain/logs?index=0", wantStatus: 200, want: ""},
		{name: "negative index", path: "/v1/jobs/ix/logs?index=-1", wantStatus: 400, wantMsg: `index: must be a non-negative integer, got "-1"`},
		{name: "index not a number", path: "/v1/jobs/ix/logs?index=first", wantStatus: 400, wantMsg: `index: must be a non-negative integer, got "first"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			putIndexedLogFixture(t, e)
			putBatchJob(e, "plain", jobs.PhaseRunning)
			rec := e.do(http.MethodGet, tt.path, "")
			switch tt.wantStatus {
			case http.StatusOK:
				if rec.Code != http.StatusOK {
					t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
				}
				if diff := cmp.Diff(tt.want, rec.Body.String()); diff != "" {
					t.Errorf("logs (-want +got):\n%s", diff)
				}
			case http.StatusNotFound:
				wantError(t, rec, tt.wantStatus, types.CodeNotFound, tt.wantMsg)
			default:
				wantError(t, rec, tt.wantStatus, types.CodeInvalid, tt.wantMsg)
			}
		})
	}
}

// The wire constants are the API's contract; they must name the domain's
// values exactly.
func TestWireConstantsMatchDomain(t *testing.T) {
	pairs := []struct{ wire, domain string }{
		{types.PhasePending, string(jobs.PhasePending)},
		{types.PhaseRunning, string(jobs.PhaseRunning)},
		{types.PhaseSucceeded, string(jobs.PhaseSucceeded)},
		{types.PhaseFailed, string(jobs.PhaseFailed)},
		{types.PhaseCancelled, string(jobs.PhaseCancelled)},
		{types.PhaseSuspended, string(jobs.PhaseSuspended)},

		{types.ReasonCompleted, jobs.ReasonCompleted},
		{types.ReasonBackoffLimitExceeded, jobs.ReasonBackoffLimitExceeded},
		{types.ReasonDeadlineExceeded, jobs.ReasonDeadlineExceeded},
		{types.ReasonCancelled, jobs.ReasonCancelled},
		{types.ReasonBackoff, jobs.ReasonBackoff},
		{types.ReasonSuspended, jobs.ReasonSuspended},
		{types.ReasonFailurePolicy, jobs.ReasonFailurePolicy},
		{types.ReasonSuccessPolicy, jobs.ReasonSuccessPolicy},
		{types.ReasonMaxFailedIndexes, jobs.ReasonMaxFailedIndexes},
		{types.ReasonFailedIndexes, jobs.ReasonFailedIndexes},

		{types.AttemptReasonCompleted, jobs.AttemptReasonCompleted},
		{types.AttemptReasonFailed, jobs.AttemptReasonFailed},
		{types.AttemptReasonRejected, jobs.AttemptReasonRejected},
		{types.AttemptReasonDeadlineExceeded, jobs.AttemptReasonDeadlineExceeded},
		{types.AttemptReasonNodeLost, jobs.AttemptReasonNodeLost},
		{types.AttemptReasonServiceLost, jobs.AttemptReasonServiceLost},
		{types.AttemptReasonCreateFailed, jobs.AttemptReasonCreateFailed},
		{types.AttemptReasonSuspended, jobs.AttemptReasonSuspended},
		{types.AttemptReasonScaledDown, jobs.AttemptReasonScaledDown},
		{types.AttemptReasonJobFinished, jobs.AttemptReasonJobFinished},
		{types.AttemptReasonCancelled, jobs.AttemptReasonCancelled},

		{types.AttemptCreating, string(jobs.AttemptCreating)},
		{types.AttemptSucceeded, string(jobs.AttemptSucceeded)},
		{types.AttemptFailed, string(jobs.AttemptFailed)},
		{types.AttemptStopped, string(jobs.AttemptStopped)},

		{types.CompletionNonIndexed, string(jobs.NonIndexed)},
		{types.CompletionIndexed, string(jobs.Indexed)},
		{types.ActionFailJob, string(jobs.ActionFailJob)},
		{types.ActionFailIndex, string(jobs.ActionFailIndex)},
		{types.ActionIgnore, string(jobs.ActionIgnore)},
		{types.ActionCount, string(jobs.ActionCount)},
	}
	for _, p := range pairs {
		if p.wire != p.domain {
			t.Errorf("wire constant %q differs from the domain's %q", p.wire, p.domain)
		}
	}
	for _, p := range []jobs.Phase{jobs.PhasePending, jobs.PhaseRunning, jobs.PhaseSucceeded, jobs.PhaseFailed, jobs.PhaseCancelled, jobs.PhaseSuspended} {
		if types.TerminalPhase(string(p)) != p.Terminal() {
			t.Errorf("TerminalPhase(%s) = %v, domain says %v", p, types.TerminalPhase(string(p)), p.Terminal())
		}
	}
}

// A job submitted suspended is stored suspended, and reads back so.
func TestCreateSuspended(t *testing.T) {
	e := newTestEnv(t)
	job := e.createJob(`{"image":"busybox","suspend":true}`)
	if job.Spec.Suspend == nil || !*job.Spec.Suspend {
		t.Errorf("answered suspend = %v, want true", job.Spec.Suspend)
	}
	if !e.store.get("job-1").Spec.Suspend {
		t.Error("stored spec is not suspended")
	}
}
