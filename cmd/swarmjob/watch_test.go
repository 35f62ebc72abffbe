package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
)

// syncBuffer is a bytes.Buffer that a command writes while a test reads
// it. With tty set it says it is a terminal (see isTerminal).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	tty bool
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) IsTerminal() bool { return b.tty }

// startCLI runs the command line args in the background with SWARMJOB_URL
// set to server, writing to stdout and stderr. The returned function stops
// it as Ctrl-C would and returns its exit code.
func startCLI(t *testing.T, server string, stdout, stderr io.Writer, args ...string) (stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	getenv := func(k string) string {
		if k == "SWARMJOB_URL" {
			return server
		}
		return ""
	}
	done := make(chan int, 1)
	go func() {
		err := run(ctx, args, getenv, strings.NewReader(""), stdout, stderr)
		var ee *exitError
		switch {
		case err == nil:
			done <- 0
		case errors.As(err, &ee):
			done <- ee.code
		default:
			done <- -1
		}
	}()
	return func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatalf("%v did not return within 10s of the interrupt", args)
			return 0
		}
	}
}

// eventually polls cond every 10ms for up to 5s and fails the test with
// what, and the output so far, when it never holds.
func eventually(t *testing.T, what string, out *syncBuffer, cond func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond(out.String()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; output so far:\n%s", what, out.String())
}

// sseEvent is one event of the events stream, as the server writes it.
func sseEvent(id int, typ, jobID string) string {
	return fmt.Sprintf("id: %d\nevent: %s\ndata: {\"id\":%d,\"type\":%q,\"time\":\"2026-01-02T03:04:05Z\",\"jobId\":%q}\n\n",
		id, typ, id, typ, jobID)
}

// plainLine matches a line of watch's plain output, without its time.
var plainLine = regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (.*)$`)

// plainLines returns the lines of watch's plain output without their time.
func plainLines(out string) []string {
	var lines []string
	for _, m := range plainLine.FindAllStringSubmatch(out, -1) {
		lines = append(lines, m[1])
	}
	return lines
}

func TestWatchPlain(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.events = make(chan string)
	now := time.Now()
	f.addJob(types.Job{ID: "j1", Name: "backup", CreatedAt: now.Add(-time.Hour), Status: types.JobStatus{Phase: types.PhaseRunning}})
	f.addJob(types.Job{ID: "j2", CreatedAt: now.Add(-time.Minute), Status: types.JobStatus{Phase: types.PhasePending}})
	var stdout, stderr syncBuffer
	stop := startCLI(t, srv.URL, &stdout, &stderr, "watch", "--label", "team=a")

	// Every listed job, oldest first.
	want := []string{"j1 backup Running -", "j2 - Pending -"}
	eventually(t, "the first list", &stdout, func(s string) bool { return len(plainLines(s)) == 2 })

	// A burst of events: one list after it, with only what changed.
	lists := f.listCount()
	f.setStatus("j1", types.PhaseSucceeded, "Completed")
	f.addJob(types.Job{ID: "j3", Name: "new", CreatedAt: now, Status: types.JobStatus{Phase: types.PhasePending}})
	f.removeJob("j2")
	for i := 1; i <= 5; i++ {
		f.events <- sseEvent(i, types.EventPhaseChanged, "j1")
	}
	want = append(want, "j1 backup Succeeded Completed", "j3 new Pending -", "j2 - Gone -")
	eventually(t, "the changes", &stdout, func(s string) bool { return len(plainLines(s)) == len(want) })
	time.Sleep(3 * watchDebounce)
	if n := f.listCount() - lists; n != 1 {
		t.Errorf("a burst of 5 events made %d list calls, want 1", n)
	}

	// The server ends the stream: watch opens it again from the last event
	// it saw, and lists again in case it missed something.
	lists = f.listCount()
	f.events <- ""
	deadline := time.Now().Add(5 * time.Second)
	for len(f.eventConnections()) < 2 || f.listCount() == lists {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnection: events requests %q, %d lists", f.eventConnections(), f.listCount()-lists)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if diff := cmp.Diff([]string{"", "5"}, f.eventConnections()); diff != "" {
		t.Errorf("Last-Event-ID of the events requests (-want +got):\n%s", diff)
	}

	if code := stop(); code != 0 {
		t.Errorf("exit code after Ctrl-C = %d, want 0", code)
	}
	if diff := cmp.Diff(want, plainLines(stdout.String())); diff != "" {
		t.Errorf("lines (-want +got):\n%s\noutput:\n%s", diff, stdout.String())
	}
	if got := stderr.String(); got != "" {
		t.Errorf("stderr = %q, want none", got)
	}
	if q := f.calls().Queries[0]; q != "label=team%3Da" {
		t.Errorf("list query = %q, want the label selector", q)
	}
}

func TestWatchTerminal(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.events = make(chan string)
	f.addJob(types.Job{ID: "j1", Name: "backup", CreatedAt: time.Now().Add(-time.Hour), Status: types.JobStatus{Phase: types.PhaseRunning}})
	stdout := &syncBuffer{tty: true}
	var stderr syncBuffer
	stop := startCLI(t, srv.URL, stdout, &stderr, "watch", "-o", "wide")
	eventually(t, "the table", stdout, func(s string) bool { return strings.Contains(s, "j1   backup   -        Running") })

	f.setStatus("j1", types.PhaseFailed, "BackoffLimitExceeded")
	f.events <- sseEvent(7, types.EventPhaseChanged, "j1")
	eventually(t, "the redrawn table", stdout, func(s string) bool { return strings.Contains(s, "BackoffLimitExceeded") })
	if code := stop(); code != 0 {
		t.Errorf("exit code after Ctrl-C = %d, want 0", code)
	}
	screens := strings.Split(stdout.String(), clearScreen)
	last := screens[len(screens)-1]
	if !regexp.MustCompile(`^swarmjob watch: 1 jobs at \d\d:\d\d:\d\d; Ctrl-C to quit\n\nID +NAME +TENANT +PHASE +COMPLETIONS`).MatchString(last) {
		t.Errorf("last screen does not start with the status line and the wide header:\n%s", last)
	}
	if !strings.Contains(last, "j1   backup   -        Failed") {
		t.Errorf("last screen does not show the change:\n%s", last)
	}
	if stderr.String() != "" {
		t.Errorf("stderr = %q, want none", stderr.String())
	}
}

func TestWatchWithoutEvents(t *testing.T) {
	_, srv := newFakeAPI(t) // answers GET /v1/events with 503
	code, stdout, stderr := runCLI(t, t.Context(), srv.URL, "watch")
	if code != 1 || stdout != "" || stderr != "swarmjob: events: this server keeps no events stream\n" {
		t.Errorf("exit code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
