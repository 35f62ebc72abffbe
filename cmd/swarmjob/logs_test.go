package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
)

func TestLogsFollowSinceTail(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantQuery string
	}{
		{"follow", []string{"logs", "-f", "j1"}, "follow=true&stream=all"},
		{"long follow, since a duration, tail", []string{"logs", "--follow", "--since", "10m", "--tail", "5", "j1"}, "follow=true&since=10m&stream=all&tail=5"},
		{"since a time, tail 0", []string{"logs", "--since", "2026-11-26T08:00:00Z", "--tail", "0", "j1"}, "since=2026-11-26T08%3A00%3A00Z&stream=all&tail=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.addJob(types.Job{ID: "j1"})
			f.final = &types.JobStatus{Phase: types.PhaseSucceeded}
			f.logs = map[string]string{"all": "o\n"}
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 0 || stdout != "o\n" {
				t.Fatalf("exit code = %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if diff := cmp.Diff([]string{tt.wantQuery}, f.calls().Queries); diff != "" {
				t.Errorf("logs query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLogsUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"since neither a time nor a duration", []string{"logs", "--since", "yesterday", "j1"},
			"swarmjob: --since: must be an RFC 3339 time such as 2026-11-26T08:00:00Z or a duration such as 10m, got \"yesterday\"\nRun 'swarmjob logs --help' for usage.\n"},
		{"negative since", []string{"logs", "--since", "-5m", "j1"},
			"swarmjob: --since: must be an RFC 3339 time such as 2026-11-26T08:00:00Z or a duration such as 10m, got \"-5m\"\nRun 'swarmjob logs --help' for usage.\n"},
		{"negative tail", []string{"logs", "--tail", "-1", "j1"},
			"swarmjob: --tail: must not be negative, got -1\nRun 'swarmjob logs --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			code, _, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 2 || stderr != tt.wantStderr {
				t.Errorf("exit code %d, stderr %q; want 2, %q", code, stderr, tt.wantStderr)
			}
			if q := f.calls().Queries; len(q) != 0 {
				t.Errorf("server saw %v, want nothing", q)
			}
		})
	}
}

// When the output cannot be streamed, run still waits and exits with the
// job's code, and says where the output is.
func TestRunReportsIncompleteOutput(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.final = &types.JobStatus{Phase: types.PhaseSucceeded, Attempts: []types.Attempt{attempt(ptr(0))}}
	f.logsDown = true
	code, stdout, stderr := runCLI(t, t.Context(), srv.URL, "run", "busybox")
	if code != 0 || stdout != "" {
		t.Errorf("exit code %d, stdout %q; want 0 and none", code, stdout)
	}
	want := "swarmjob: output of job job-1 is incomplete (server is shutting down); the stored output: swarmjob logs job-1\n"
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

// logs of a running job with nothing stored yet says how to follow it;
// with output, or once finished, it says nothing.
func TestLogsHintForRunningJobs(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status types.JobStatus
		logs   string
		hint   bool
	}{
		{"running, nothing stored", types.JobStatus{Phase: types.PhaseRunning, Active: 1}, "", true},
		{"running, a finished attempt stored", types.JobStatus{Phase: types.PhaseRunning, Active: 1}, "o\n", false},
		{"finished without output", types.JobStatus{Phase: types.PhaseSucceeded}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.addJob(types.Job{ID: "j1", Status: tt.status})
			f.logs = map[string]string{"all": tt.logs}
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, "logs", "j1")
			if code != 0 || stdout != tt.logs {
				t.Fatalf("exit code %d, stdout %q", code, stdout)
			}
			want := ""
			if tt.hint {
				want = "swarmjob: job j1 is Running: the output of its running attempts is stored when they end; follow it live with: swarmjob logs -f j1\n"
			}
			if stderr != want {
				t.Errorf("stderr %q, want %q", stderr, want)
			}
		})
	}
}

// An abbreviated job ID, as docker accepts, gets a hint.
func TestShortIDHint(t *testing.T) {
	_, srv := newFakeAPI(t)
	code, _, stderr := runCLI(t, t.Context(), srv.URL, "get", "4bf32ec2")
	if code != 1 || !strings.Contains(stderr, `job "4bf32ec2" not found, nor any job whose ID starts with it`) {
		t.Errorf("exit code %d, stderr %q", code, stderr)
	}
}

// Abbreviated IDs are resolved when one job starts with them, and refused
// naming the candidates when several do.
func TestAbbreviatedIDs(t *testing.T) {
	const a, b = "4bf3aaaa-0000-4000-8000-000000000001", "4bf3bbbb-0000-4000-8000-000000000002"
	f, srv := newFakeAPI(t)
	f.addJob(types.Job{ID: a, Status: types.JobStatus{Phase: types.PhaseSucceeded}})
	f.addJob(types.Job{ID: b, Status: types.JobStatus{Phase: types.PhaseRunning}})
	code, stdout, stderr := runCLI(t, t.Context(), srv.URL, "get", "-o", "json", "4bf3a")
	if code != 0 || !strings.Contains(stdout, a) {
		t.Errorf("get 4bf3a: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, t.Context(), srv.URL, "cancel", "4bf3")
	if code != 2 || !strings.Contains(stderr, `job ID "4bf3" is ambiguous`) || !strings.Contains(stderr, a) || !strings.Contains(stderr, b) {
		t.Errorf("cancel 4bf3: exit %d, stderr %q", code, stderr)
	}
	if code, stdout, _ := runCLI(t, t.Context(), srv.URL, "get", "-o", "json", a); code != 0 || !strings.Contains(stdout, a) {
		t.Errorf("get with a whole ID: exit %d", code)
	}
}
