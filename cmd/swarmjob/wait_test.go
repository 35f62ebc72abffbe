package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
)

// phaseScript makes the fake's wait calls walk a job through statuses: the
// first wait call answers the first status, the next the next, the last one
// again and again. Each answers at once, as a server answers a job that
// changed.
func phaseScript(f *fakeAPI, statuses ...types.JobStatus) {
	n := 0
	f.mu.Lock()
	f.final = &statuses[0]
	f.mu.Unlock()
	// The fake reads final before it calls onWait: set the next answer.
	f.onWait = func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		n++
		f.final = &statuses[min(n, len(statuses)-1)]
	}
}

func TestWaitPlainProgress(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.addJob(types.Job{ID: "j1", Status: types.JobStatus{Phase: types.PhasePending, Message: "attempt 0 of index 0 is pending: no suitable node"}})
	phaseScript(f,
		types.JobStatus{Phase: types.PhaseRunning, Active: 1},
		types.JobStatus{Phase: types.PhaseRunning, Reason: types.ReasonBackoff, Message: "next attempt starts at 2026-01-02T03:04:05Z", Failed: 1},
		types.JobStatus{Phase: types.PhaseFailed, Reason: types.ReasonBackoffLimitExceeded, Failed: 2, Attempts: []types.Attempt{attempt(ptr(3))}},
	)
	start := time.Now()
	code, stdout, stderr := runCLI(t, t.Context(), srv.URL, "wait", "--timeout", "1m", "j1")
	if took := time.Since(start); took < 2*minWaitCall {
		t.Errorf("3 wait calls took %v, want them at least %v apart", took, minWaitCall)
	}
	if got := f.waitTimeouts(); len(got) != 3 || got[0] != "5s" {
		t.Errorf("timeouts of the wait calls = %q, want 3 of %v", got, plainRefresh)
	}
	if code != 3 {
		t.Errorf("exit code = %d, want 3", code)
	}
	if stdout != "Failed\n" {
		t.Errorf("stdout = %q, want only the final phase", stdout)
	}
	want := "swarmjob: job j1 Pending: attempt 0 of index 0 is pending: no suitable node\n" +
		"swarmjob: job j1 Running\n" +
		"swarmjob: job j1 Running: Backoff: next attempt starts at 2026-01-02T03:04:05Z\n" +
		"swarmjob: job j1 Failed: BackoffLimitExceeded\n"
	if stderr != want {
		t.Errorf("stderr =\n%s\nwant\n%s", stderr, want)
	}
}

func TestWaitLiveProgress(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.addJob(types.Job{ID: "j1", CreatedAt: time.Now().Add(-65 * time.Second),
		Spec:   types.JobSpec{Completions: ptr(4)},
		Status: types.JobStatus{Phase: types.PhasePending}})
	phaseScript(f,
		types.JobStatus{Phase: types.PhaseRunning, Active: 2, Succeeded: 1},
		types.JobStatus{Phase: types.PhaseRunning, Active: 2, Succeeded: 1},
		types.JobStatus{Phase: types.PhaseSucceeded, Reason: types.ReasonCompleted, Succeeded: 4, Attempts: []types.Attempt{attempt(ptr(0))}},
	)
	var stdout syncBuffer
	stderr := &syncBuffer{tty: true}
	stop := startCLI(t, srv.URL, &stdout, stderr, "wait", "j1")
	eventually(t, "the final phase", &stdout, func(s string) bool { return s == "Succeeded\n" })
	if code := stop(); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	// The line moves on at least every second: each wait call asks the
	// server to answer within a second.
	if got := f.waitTimeouts(); len(got) != 3 || got[0] != "1s" {
		t.Errorf("timeouts of the wait calls = %q, want 3 of %v", got, liveRefresh)
	}
	got := stderr.String()
	if !strings.HasSuffix(got, eraseLine) {
		t.Errorf("the status line is not erased at the end: %q", got)
	}
	var lines []string
	for _, l := range strings.Split(got, eraseLine) {
		if l != "" {
			lines = append(lines, l)
		}
	}
	status := regexp.MustCompile(`^(Pending|Running)  1m(5|6|7|8|9)s  active \d  succeeded \d/4  failed 0$`)
	if len(lines) != 3 {
		t.Errorf("status lines %q, want 3: the first read and two wait calls", lines)
	}
	for _, l := range lines {
		if !status.MatchString(l) {
			t.Errorf("status line %q does not match %v", l, status)
		}
	}
	if len(lines) > 0 && !strings.HasPrefix(lines[0], "Pending  1m") {
		t.Errorf("first status line = %q, want the job as first read", lines[0])
	}
	if strings.Contains(got, "\n") {
		t.Errorf("the live status wrote a newline: %q", got)
	}
}
