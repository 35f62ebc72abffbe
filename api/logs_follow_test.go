package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/results"
)

// followEnv is a test server with a fake Engine log source, served over
// real HTTP so that a test reads a followed response as it is written.
type followEnv struct {
	*testEnv
	live *fakeLive
	ts   *httptest.Server
	// stop cancels every request's context with the given cause, as serve
	// does at shutdown.
	stop context.CancelCauseFunc
}

func newFollowEnv(t *testing.T, opts ...func(*Config)) *followEnv {
	t.Helper()
	live := newFakeLive()
	e := newTestEnv(t, append([]func(*Config){func(c *Config) { c.LiveLogs = live }}, opts...)...)
	base, stop := context.WithCancelCause(context.Background())
	ts := httptest.NewUnstartedServer(withAdminToken(e.srv.Handler()))
	ts.Config.BaseContext = func(net.Listener) context.Context { return base }
	ts.Start()
	t.Cleanup(func() {
		stop(nil)
		ts.Close()
	})
	return &followEnv{testEnv: e, live: live, ts: ts, stop: stop}
}

// putJob stores a running NonIndexed job with no attempts yet.
func (e *followEnv) putJob(id string, mutate ...func(*jobs.Job)) {
	putBatchJob(e.testEnv, id, jobs.PhaseRunning, mutate...)
}

// start records a running attempt of job id whose service is svc, and
// notifies the Hub, as the controller does.
func (e *followEnv) start(id string, index, attempt int, svc string) {
	e.t.Helper()
	e.live.create(svc)
	a := jobs.Attempt{Index: index, Attempt: attempt, Service: svc, ServiceID: svc, State: "running", CreatedAt: testNow}
	if err := e.store.PutAttempt(e.t.Context(), id, a); err != nil {
		e.t.Fatal(err)
	}
	e.hub.Notify(id)
}

// finish does what the controller does when an attempt's task ended: it
// captures the service's whole log (what a stream without follow returns)
// into the store, records the outcome, and only then removes the service.
// A non-empty phase also moves the job there (with completed indexes).
func (e *followEnv) finish(id string, index, attempt int, svc string, state jobs.AttemptState, phase jobs.Phase, completed string) {
	e.t.Helper()
	ctx := e.t.Context()
	k := jobs.AttemptKey{JobID: id, Index: index, Attempt: attempt}
	sum, err := results.Capture(e.live.multiplexed(svc), 1<<20, func(seq int, s jobs.Stream, data []byte) error {
		return e.store.AppendLog(ctx, k, seq, s, data)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	a := jobs.Attempt{Index: index, Attempt: attempt, Service: svc, ServiceID: svc, State: state, CreatedAt: testNow, LogBytes: sum.Bytes}
	if err := e.store.PutAttempt(ctx, id, a); err != nil {
		e.t.Fatal(err)
	}
	e.store.mu.Lock()
	j := e.store.jobs[id]
	if phase != "" {
		j.Status.Phase = phase
	}
	if completed != "" {
		j.Status.CompletedIndexes = completed
	}
	e.store.mu.Unlock()
	e.hub.Notify(id)
	e.live.remove(svc)
	e.hub.Notify(id)
}

// stored reads the logs without follow, as a client does after the end.
func (e *followEnv) stored(query string) string {
	e.t.Helper()
	rec := e.do(http.MethodGet, "/v1/jobs/"+query, "")
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET %s: status %d, body %s", query, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// follower reads a followed response in the background.
type follower struct {
	mu   sync.Mutex
	body strings.Builder
	more chan struct{} // closed and replaced on every read
	err  error         // how the body ended: nil for a clean end
	done chan struct{}
}

// follow starts GET path on the test server and reads its body as it comes.
func (e *followEnv) follow(ctx context.Context, path string) *follower {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		e.t.Fatalf("GET %s: status %d, body %s", path, resp.StatusCode, b)
	}
	f := &follower{more: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer resp.Body.Close()
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			f.mu.Lock()
			f.body.Write(buf[:n])
			close(f.more)
			f.more = make(chan struct{})
			if err != nil {
				if !errors.Is(err, io.EOF) {
					f.err = err
				}
				f.mu.Unlock()
				return
			}
			f.mu.Unlock()
		}
	}()
	return f
}

// waitFor blocks until the body read so far is want, failing after 5 s.
func (f *follower) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		f.mu.Lock()
		got, more := f.body.String(), f.more
		f.mu.Unlock()
		if got == want {
			return
		}
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("followed body after 5s = %q, want %q", got, want)
		}
	}
}

// end waits for the body to end and returns it with the error that ended
// it (nil for a complete response).
func (f *follower) end(t *testing.T) (string, error) {
	t.Helper()
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		f.mu.Lock()
		defer f.mu.Unlock()
		t.Fatalf("followed response did not end within 5s; body so far %q", f.body.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body.String(), f.err
}

// ended reports whether the response ended.
func (f *follower) ended() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// waitUntil polls cond every millisecond for at most 5 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 5s waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFollowHandsOverFromLiveToStored follows a running attempt: its lines
// arrive while it runs, and after its outcome is recorded the response
// continues with the stored output beyond what was relayed, so that the
// whole followed body is the stored output exactly, with and without
// timestamps.
func TestFollowHandsOverFromLiveToStored(t *testing.T) {
	for _, query := range []string{"", "&timestamps=true", "&stream=stdout", "&stream=stderr&timestamps=1"} {
		t.Run(query, func(t *testing.T) {
			e := newFollowEnv(t)
			e.putJob("j")
			e.start("j", 0, 0, "s0")
			e.live.emit("s0", jobs.Stdout, "one\n")
			e.live.emit("s0", jobs.Stderr, "err one\n")

			f := e.follow(t.Context(), "/v1/jobs/j/logs?follow=true"+query)
			waitUntil(t, "the live stream to open", func() bool { return e.live.openStreams() == 1 })
			e.live.emit("s0", jobs.Stdout, "two\n")
			e.live.emit("s0", jobs.Stdout, "thr") // a line the Engine split
			e.live.emit("s0", jobs.Stderr, "err two\n")
			// What the relay never sees: written as the task ended.
			e.live.emitNotLive("s0", jobs.Stdout, "ee\n")
			e.live.emitNotLive("s0", jobs.Stderr, "err three\n")
			e.live.emitNotLive("s0", jobs.Stdout, "four")

			// The live part: everything the follow stream delivered.
			e.finishLater(t, f, func() { e.finish("j", 0, 0, "s0", jobs.AttemptSucceeded, jobs.PhaseSucceeded, "") }, query)
			body, err := f.end(t)
			if err != nil {
				t.Fatalf("followed response ended with %v; body %q", err, body)
			}
			want := e.stored("j/logs?follow=false" + query)
			if diff := cmp.Diff(want, body); diff != "" {
				t.Errorf("followed body differs from the stored output (-stored +followed):\n%s", diff)
			}
			if query == "" && body != "one\nerr one\ntwo\nthrerr two\nee\nerr three\nfour" {
				t.Errorf("body = %q", body)
			}
			waitUntil(t, "the live stream to close", func() bool { return e.live.openStreams() == 0 })
		})
	}
}

// finishLater waits until the follower received the live lines, then runs
// finish. The live lines are known only without timestamps; with them, it
// waits for the last live line's text.
func (e *followEnv) finishLater(t *testing.T, f *follower, finish func(), query string) {
	t.Helper()
	last := "err two\n"
	if strings.Contains(query, "stream=stdout") {
		last = "thr"
	}
	waitUntil(t, "the live lines to arrive", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return strings.HasSuffix(f.body.String(), last)
	})
	if f.ended() {
		t.Fatal("the response ended before the attempt did")
	}
	finish()
}

// TestFollowAcrossRetries follows a job whose first attempt fails and whose
// retry succeeds: both attempts stream live, in order, and the response
// ends when the job is terminal.
func TestFollowAcrossRetries(t *testing.T) {
	e := newFollowEnv(t)
	e.putJob("j")
	e.start("j", 0, 0, "s0")
	f := e.follow(t.Context(), "/v1/jobs/j/logs?follow=true")

	e.live.emit("s0", jobs.Stdout, "attempt 0\n")
	f.waitFor(t, "attempt 0\n")
	e.live.emit("s0", jobs.Stderr, "failing\n")
	f.waitFor(t, "attempt 0\nfailing\n")
	e.finish("j", 0, 0, "s0", jobs.AttemptFailed, "", "")

	// The backoff passes; the retry starts.
	e.start("j", 0, 1, "s1")
	e.live.emit("s1", jobs.Stdout, "attempt 1\n")
	f.waitFor(t, "attempt 0\nfailing\nattempt 1\n")
	if f.ended() {
		t.Fatal("the response ended while the job runs")
	}
	e.finish("j", 0, 1, "s1", jobs.AttemptSucceeded, jobs.PhaseSucceeded, "")

	body, err := f.end(t)
	if err != nil {
		t.Fatalf("response ended with %v", err)
	}
	if want := e.stored("j/logs"); body != want || want != "attempt 0\nfailing\nattempt 1\n" {
		t.Errorf("followed %q, stored %q; want both %q", body, want, "attempt 0\nfailing\nattempt 1\n")
	}
}

// TestFollowTerminalJob answers a follow on a finished job with its stored
// output, at once, without asking the Engine.
func TestFollowTerminalJob(t *testing.T) {
	e := newFollowEnv(t)
	putLogFixture(t, e.testEnv)
	body, err := e.follow(t.Context(), "/v1/jobs/j/logs?follow=true").end(t)
	if err != nil {
		t.Fatal(err)
	}
	if want := "out a\nout b\nerr a\ntail\nsplerr b\nit\n"; body != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	if calls := e.live.callOptions(); len(calls) != 0 {
		t.Errorf("asked the Engine %d times, want none", len(calls))
	}
}

// TestFollowWithoutLiveStream covers attempts whose output cannot be read
// live: the service is gone before the follower attaches, or the server
// has no LiveLogs. The follower gets all of it once it is stored.
func TestFollowWithoutLiveStream(t *testing.T) {
	tests := []struct {
		name  string
		opts  []func(*Config)
		setup func(e *followEnv)
	}{
		{name: "service gone", setup: func(e *followEnv) { e.live.remove("s0") }},
		{name: "no LiveLogs", opts: []func(*Config){func(c *Config) { c.LiveLogs = nil }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFollowEnv(t, tt.opts...)
			e.putJob("j")
			e.start("j", 0, 0, "s0")
			e.live.emit("s0", jobs.Stdout, "out\n")
			e.live.emit("s0", jobs.Stderr, "err\n")
			if tt.setup != nil {
				tt.setup(e)
			}
			f := e.follow(t.Context(), "/v1/jobs/j/logs?follow=1&timestamps=1")
			waitForCalls(t, e.store, "GetJob", 3)
			if f.ended() {
				t.Fatal("the response ended before the attempt did")
			}
			e.finish("j", 0, 0, "s0", jobs.AttemptFailed, jobs.PhaseFailed, "")
			body, err := f.end(t)
			if err != nil {
				t.Fatal(err)
			}
			if want := e.stored("j/logs?timestamps=1"); body != want || !strings.HasSuffix(want, " err\n") {
				t.Errorf("followed %q, want the stored %q", body, want)
			}
		})
	}
}

// TestFollowIndexedOrder: output comes index by index, as stored, even when
// a later index finishes while an earlier one still waits for a retry.
func TestFollowIndexedOrder(t *testing.T) {
	e := newFollowEnv(t)
	e.putJob("ix", func(j *jobs.Job) { j.Spec.CompletionMode, j.Spec.Completions = jobs.Indexed, 2 })
	e.start("ix", 0, 0, "i0a0")
	e.start("ix", 1, 0, "i1a0")
	e.live.emit("i0a0", jobs.Stdout, "i0 a0\n")
	e.live.emit("i1a0", jobs.Stdout, "i1 a0\n")
	f := e.follow(t.Context(), "/v1/jobs/ix/logs?follow=true")
	f.waitFor(t, "i0 a0\n")
	e.finish("ix", 1, 0, "i1a0", jobs.AttemptSucceeded, "", "1")
	e.finish("ix", 0, 0, "i0a0", jobs.AttemptFailed, "", "1")
	// Index 0 waits for its retry: index 1 must not come first.
	waitForCalls(t, e.store, "ReadLogs:start", 1)
	e.start("ix", 0, 1, "i0a1")
	e.live.emit("i0a1", jobs.Stdout, "i0 a1\n")
	f.waitFor(t, "i0 a0\ni0 a1\n")
	e.finish("ix", 0, 1, "i0a1", jobs.AttemptSucceeded, jobs.PhaseSucceeded, "0-1")
	body, err := f.end(t)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.stored("ix/logs"); body != want || want != "i0 a0\ni0 a1\ni1 a0\n" {
		t.Errorf("followed %q, stored %q", body, want)
	}
}

// TestFollowOneIndexEndsWhenItSettles: a follow of one index ends once that
// index succeeded, while the job goes on.
func TestFollowOneIndexEndsWhenItSettles(t *testing.T) {
	e := newFollowEnv(t)
	e.putJob("ix", func(j *jobs.Job) { j.Spec.CompletionMode, j.Spec.Completions = jobs.Indexed, 2 })
	e.start("ix", 1, 0, "s")
	f := e.follow(t.Context(), "/v1/jobs/ix/logs?follow=true&index=1")
	e.live.emit("s", jobs.Stdout, "one\n")
	f.waitFor(t, "one\n")
	e.finish("ix", 1, 0, "s", jobs.AttemptSucceeded, "", "1")
	if body, err := f.end(t); err != nil || body != "one\n" {
		t.Errorf("body %q, err %v; want %q and a complete response", body, err, "one\n")
	}
}

// TestFollowClientDisconnect: a follower that goes away releases the
// Engine's log stream.
func TestFollowClientDisconnect(t *testing.T) {
	e := newFollowEnv(t)
	e.putJob("j")
	e.start("j", 0, 0, "s0")
	ctx, cancel := context.WithCancel(t.Context())
	f := e.follow(ctx, "/v1/jobs/j/logs?follow=true")
	e.live.emit("s0", jobs.Stdout, "hi\n")
	f.waitFor(t, "hi\n")
	cancel()
	waitUntil(t, "the live stream to close", func() bool { return e.live.openStreams() == 0 })
	if _, err := f.end(t); err == nil {
		t.Error("the cancelled read ended cleanly")
	}
}

// TestFollowCutByShutdownOrDelete: a follow that cannot finish (the server
// stops, the job is deleted) is cut, so the client cannot take it for the
// complete output.
func TestFollowCutByShutdownOrDelete(t *testing.T) {
	tests := []struct {
		name string
		cut  func(e *followEnv)
	}{
		{"server shutdown", func(e *followEnv) { e.stop(ErrShuttingDown) }},
		{"job deleted", func(e *followEnv) {
			if _, err := e.store.RequestCancel(e.t.Context(), "j", true); err != nil {
				e.t.Fatal(err)
			}
			e.hub.Notify("j")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFollowEnv(t)
			e.putJob("j")
			e.start("j", 0, 0, "s0")
			f := e.follow(t.Context(), "/v1/jobs/j/logs?follow=true")
			e.live.emit("s0", jobs.Stdout, "hi\n")
			f.waitFor(t, "hi\n")
			tt.cut(e)
			body, err := f.end(t)
			if err == nil {
				t.Errorf("response ended cleanly with %q; want it cut", body)
			}
			waitUntil(t, "the live stream to close", func() bool { return e.live.openStreams() == 0 })
		})
	}
}

// TestFollowTail: tail counts the lines the running attempt has when the
// request arrives, then everything new follows.
func TestFollowTail(t *testing.T) {
	e := newFollowEnv(t)
	e.putJob("j")
	e.start("j", 0, 0, "s0")
	for _, l := range []string{"a\n", "b\n", "c\n"} {
		e.live.emit("s0", jobs.Stdout, l)
	}
	e.live.emit("s0", jobs.Stderr, "e\n")
	f := e.follow(t.Context(), "/v1/jobs/j/logs?follow=true&tail=2&stream=stdout")
	f.waitFor(t, "b\nc\n")
	e.live.emit("s0", jobs.Stdout, "d\n")
	f.waitFor(t, "b\nc\nd\n")
	e.finish("j", 0, 0, "s0", jobs.AttemptSucceeded, jobs.PhaseSucceeded, "")
	if body, err := f.end(t); err != nil || body != "b\nc\nd\n" {
		t.Errorf("body %q, err %v", body, err)
	}
	calls := e.live.callOptions()
	if len(calls) != 2 || calls[0].Follow || !calls[1].Follow || calls[0].ShowStderr || !calls[1].Timestamps {
		t.Errorf("Engine calls = %+v, want a count without follow, then a follow, stdout only, with timestamps", calls)
	}
}

func TestLogsTailAndSince(t *testing.T) {
	// Stored lines by start, in order: attempt 0 "out a" (05.0), "out b"
	// (05.1), "err a" (05.2), "tail" (05.3, no newline); attempt 1 "split"
	// (06.0, with "err b" (06.1) written inside it).
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"tail 0", "?tail=0", ""},
		{"tail 1: the last line to start", "?tail=1", "err b\n"},
		{"tail 2", "?tail=2", "splerr b\nit\n"},
		{"tail across attempts ends the unterminated line", "?tail=3", "tail\nsplerr b\nit\n"},
		{"tail all", "?tail=all", "out a\nout b\nerr a\ntail\nsplerr b\nit\n"},
		{"tail more than there is", "?tail=100", "out a\nout b\nerr a\ntail\nsplerr b\nit\n"},
		{"tail of one stream", "?tail=2&stream=stdout", "tail\nsplit\n"},
		{"since a time", "?since=2026-01-02T03:04:05.2Z", "err a\ntail\nsplerr b\nit\n"},
		{"since a time with an offset", "?since=2026-01-02T04:04:05.25%2B01:00", "tail\nsplerr b\nit\n"},
		{"since a duration before now (03:04:06.5)", "?since=1s", "splerr b\nit\n"},
		{"since and tail", "?since=2026-01-02T03:04:05.1Z&tail=3&timestamps=true",
			"2026-01-02T03:04:05.300000000Z tail\n2026-01-02T03:04:06.000000000Z spl2026-01-02T03:04:06.100000000Z err b\nit\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, func(c *Config) {
				c.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 6, 5e8, time.UTC) }
			})
			putLogFixture(t, e)
			rec := e.do(http.MethodGet, "/v1/jobs/j/logs"+tt.query, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tt.want, rec.Body.String()); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
		})
	}
}
