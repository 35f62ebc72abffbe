package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// putLogFixture stores job "j" with two attempts and their output:
// attempt 0 ends with an unterminated stdout line; attempt 1 has a stdout
// line split across two chunks with a stderr chunk between them.
func putLogFixture(t *testing.T, e *testEnv) {
	t.Helper()
	e.store.put(&jobs.Job{
		ID: "j", Spec: jobs.Spec{Image: "busybox"},
		Status: jobs.Status{Phase: jobs.PhaseSucceeded, Attempts: []jobs.Attempt{
			{Attempt: 0, State: jobs.AttemptFailed}, {Attempt: 1, State: jobs.AttemptSucceeded},
		}},
	})
	e.store.put(&jobs.Job{ID: "quiet", Spec: jobs.Spec{Image: "busybox"},
		Status: jobs.Status{Phase: jobs.PhaseSucceeded, Attempts: []jobs.Attempt{{Attempt: 0}}}})
	ctx := t.Context()
	for _, c := range []struct {
		attempt, seq int
		stream       jobs.Stream
		data         string
	}{
		{0, 0, jobs.Stdout, "2026-01-02T03:04:05.000000000Z out a\n2026-01-02T03:04:05.100000000Z out b\n"},
		{0, 1, jobs.Stderr, "2026-01-02T03:04:05.200000000Z err a\n"},
		{0, 2, jobs.Stdout, "2026-01-02T03:04:05.300000000Z tail"},
		{1, 0, jobs.Stdout, "2026-01-02T03:04:06.000000000Z spl"},
		{1, 1, jobs.Stderr, "2026-01-02T03:04:06.100000000Z err b\n"},
		{1, 2, jobs.Stdout, "it\n"},
	} {
		k := jobs.AttemptKey{JobID: "j", Attempt: c.attempt}
		if err := e.store.AppendLog(ctx, k, c.seq, c.stream, []byte(c.data)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestJobLogs(t *testing.T) {
	e := newTestEnv(t)
	putLogFixture(t, e)

	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"defaults: all streams, all attempts, no timestamps", "", "out a\nout b\nerr a\ntail\nsplerr b\nit\n"},
		{"stdout", "?stream=stdout", "out a\nout b\ntail\nsplit\n"},
		{"stderr", "?stream=stderr", "err a\nerr b\n"},
		{"all", "?stream=all&timestamps=false", "out a\nout b\nerr a\ntail\nsplerr b\nit\n"},
		{"one attempt", "?attempt=1&stream=stdout", "split\n"},
		{"attempt 0", "?attempt=0", "out a\nout b\nerr a\ntail"},
		{"timestamps", "?timestamps=true&stream=stdout", "2026-01-02T03:04:05.000000000Z out a\n2026-01-02T03:04:05.100000000Z out b\n" +
			"2026-01-02T03:04:05.300000000Z tail\n2026-01-02T03:04:06.000000000Z split\n"},
		{"timestamps of one attempt", "?timestamps=1&attempt=1&stream=stderr", "2026-01-02T03:04:06.100000000Z err b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(http.MethodGet, "/v1/jobs/j/logs"+tt.query, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/plain; charset=utf-8", ct)
			}
			if diff := cmp.Diff(tt.want, rec.Body.String()); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("no output", func(t *testing.T) {
		rec := e.do(http.MethodGet, "/v1/jobs/quiet/logs", "")
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Errorf("status %d, body %q; want 200 and empty", rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type = %q, want text/plain; charset=utf-8", ct)
		}
	})
}

func TestJobLogsErrors(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		fail       error // of the store's ReadLogs, before any chunk
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{name: "unknown job", path: "/v1/jobs/nope/logs", wantStatus: 404, wantCode: types.CodeNotFound, wantMsg: `job "nope" not found`},
		{name: "attempt the job lacks", path: "/v1/jobs/j/logs?attempt=5", wantStatus: 404, wantCode: types.CodeNotFound, wantMsg: `job "j" has no attempt 5`},
		{name: "negative attempt", path: "/v1/jobs/j/logs?attempt=-1", wantStatus: 400, wantCode: types.CodeInvalid, wantMsg: `attempt: must be a non-negative integer, got "-1"`},
		{name: "attempt not a number", path: "/v1/jobs/j/logs?attempt=last", wantStatus: 400, wantCode: types.CodeInvalid, wantMsg: `attempt: must be a non-negative integer, got "last"`},
		{name: "unknown stream", path: "/v1/jobs/j/logs?stream=both", wantStatus: 400, wantCode: types.CodeInvalid, wantMsg: `stream: must be one of stdout, stderr, all, got "both"`},
		{name: "bad timestamps", path: "/v1/jobs/j/logs?timestamps=yes", wantStatus: 400, wantCode: types.CodeInvalid, wantMsg: `timestamps: must be true or false, got "yes"`},
		{name: "store fails before output", path: "/v1/jobs/j/logs", fail: errors.New("database is locked"), wantStatus: 500, wantCode: types.CodeInternal, wantMsg: "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			putLogFixture(t, e)
			if tt.fail != nil {
				e.store.setFail("ReadLogs:start", tt.fail)
			}
			wantError(t, e.do(http.MethodGet, tt.path, ""), tt.wantStatus, tt.wantCode, tt.wantMsg)
		})
	}
}

// A store failure after output was sent must not look like a complete,
// shorter log: the transfer is cut.
func TestJobLogsAbortsOnFailureMidStream(t *testing.T) {
	e := newTestEnv(t)
	putLogFixture(t, e)
	e.store.setFail("ReadLogs", errors.New("database is locked"))
	ts := httptest.NewServer(withAdminToken(e.srv.Handler()))
	defer ts.Close()

	resp, err := ts.Client().Get(ts.URL + "/v1/jobs/j/logs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200 (headers go out with the first chunk)", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("read the whole body %q without error; want a cut transfer", body)
	}
	if string(body) != "out a\nout b\n" {
		t.Errorf("body before the cut = %q, want the first chunk", body)
	}
	if e.logs.findRecord(t, "log stream aborted") == nil {
		t.Error("the failure was not logged")
	}
}
