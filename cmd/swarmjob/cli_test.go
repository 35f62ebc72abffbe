package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/swarmjob/swarmjob/api/types"
)

// runCLI runs the command line args with SWARMJOB_URL set to server and
// an empty stdin, and returns the exit code and what was written.
func runCLI(t *testing.T, ctx context.Context, server string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIWithStdin(t, ctx, server, "", args...)
}

// runCLIWithStdin is runCLI with stdin holding the given text.
func runCLIWithStdin(t *testing.T, ctx context.Context, server, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	getenv := func(k string) string {
		if k == "SWARMJOB_URL" {
			return server
		}
		return ""
	}
	var out, errOut bytes.Buffer
	err := run(ctx, args, getenv, strings.NewReader(stdin), &out, &errOut)
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			t.Fatalf("run returned %T %v, want nil or *exitError", err, err)
		}
		code = ee.code
	}
	return code, out.String(), errOut.String()
}

func ptr[T any](v T) *T { return &v }

// attempt is a finished attempt with an optional exit code.
func attempt(exitCode *int) types.Attempt {
	return types.Attempt{Service: "svc", State: "failed", ExitCode: exitCode}
}

// followedStreams are the logs queries of run: it follows stdout and
// stderr apart.
var followedStreams = []string{"follow=true&stream=stderr", "follow=true&stream=stdout"}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		final      *types.JobStatus
		logs       map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
		wantWaits  int
		wantLogs   []string // queries of logs calls
	}{
		{
			name:       "succeeded",
			args:       []string{"run", "busybox", "echo", "hi"},
			final:      &types.JobStatus{Phase: types.PhaseSucceeded, Attempts: []types.Attempt{attempt(ptr(0))}},
			logs:       map[string]string{"stdout": "out\n", "stderr": "err\n"},
			wantStdout: "out\n",
			wantStderr: "err\n",
			wantWaits:  1,
			wantLogs:   followedStreams,
		},
		{
			name: "failed with exit code 3",
			args: []string{"run", "busybox", "sh", "-c", "exit 3"},
			final: &types.JobStatus{Phase: types.PhaseFailed, Reason: "BackoffLimitExceeded", Message: "attempt 0 exited with code 3",
				Attempts: []types.Attempt{attempt(ptr(3))}},
			logs:       map[string]string{"stdout": "out\n", "stderr": "err\n"},
			wantCode:   3,
			wantStdout: "out\n",
			wantStderr: "err\nswarmjob: job job-1 Failed: BackoffLimitExceeded: attempt 0 exited with code 3\n",
			wantWaits:  1,
			wantLogs:   followedStreams,
		},
		{
			name: "rejected without exit code",
			args: []string{"run", "nope:latest"},
			final: &types.JobStatus{Phase: types.PhaseFailed, Reason: "BackoffLimitExceeded", Message: "No such image: nope:latest",
				Attempts: []types.Attempt{{Service: "svc", State: "rejected", Error: "No such image: nope:latest"}}},
			wantCode:   125,
			wantStderr: "swarmjob: job job-1 Failed: BackoffLimitExceeded: No such image: nope:latest\n",
			wantWaits:  1,
			wantLogs:   followedStreams,
		},
		{
			name: "deadline exceeded",
			args: []string{"run", "--deadline", "1s", "busybox", "sleep", "60"},
			final: &types.JobStatus{Phase: types.PhaseFailed, Reason: "DeadlineExceeded", Message: "job ran longer than 1s",
				Attempts: []types.Attempt{attempt(ptr(137))}},
			logs:       map[string]string{"stdout": "started\n"},
			wantCode:   124,
			wantStdout: "started\n",
			wantStderr: "swarmjob: job job-1 Failed: DeadlineExceeded: job ran longer than 1s\n",
			wantWaits:  1,
			wantLogs:   followedStreams,
		},
		{
			name:       "cancelled elsewhere before any attempt",
			args:       []string{"run", "busybox"},
			final:      &types.JobStatus{Phase: types.PhaseCancelled, Reason: "Cancelled", Message: "cancelled by request", Attempts: []types.Attempt{}},
			wantCode:   130,
			wantStderr: "swarmjob: job job-1 Cancelled: cancelled by request\n",
			wantWaits:  1,
			wantLogs:   followedStreams,
		},
		{
			name:       "detach prints the ID and does not wait",
			args:       []string{"run", "-d", "busybox"},
			wantStdout: "job-1\n",
		},
		{
			name:       "verbose reports the submitted job",
			args:       []string{"run", "-v", "busybox"},
			final:      &types.JobStatus{Phase: types.PhaseSucceeded, Attempts: []types.Attempt{attempt(ptr(0))}},
			logs:       map[string]string{"stdout": "hi\n"},
			wantStdout: "hi\n",
			wantStderr: "swarmjob: job job-1 submitted\n",
			wantWaits:  1,
			wantLogs:   followedStreams,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.final, f.logs = tt.final, tt.logs
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.wantStdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			calls := f.calls()
			if len(calls.Created) != 1 {
				t.Errorf("server saw %d creates, want 1", len(calls.Created))
			}
			// Plus at most one from the reporter of why the job waits,
			// which races with the output streams ending.
			if calls.Waits < tt.wantWaits || calls.Waits > tt.wantWaits+1 {
				t.Errorf("server saw %d wait calls, want %d (or one more)", calls.Waits, tt.wantWaits)
			}
			// The two streams are requested concurrently.
			if diff := cmp.Diff(tt.wantLogs, calls.Queries, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("logs queries (-want +got):\n%s", diff)
			}
			if len(calls.Cancels) != 0 {
				t.Errorf("server saw cancels %v, want none", calls.Cancels)
			}
		})
	}
}

func TestRunRequest(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want types.CreateJobRequest
	}{
		{
			name: "image only",
			args: []string{"run", "-d", "busybox"},
			want: types.CreateJobRequest{JobSpec: types.JobSpec{Image: "busybox"}},
		},
		{
			name: "every flag, and flags after IMAGE belong to the job",
			args: []string{"run", "-d", "--name", "n1", "--label", "team=a", "--label", "tier=b",
				"-e", "A=1", "--env", "B=x=y", "--env", "C=", "--command", "sh", "--command", "-c",
				"-w", "/tmp", "-u", "1000:1000", "--backoff-limit", "2", "--deadline", "1500ms",
				"--cpus", "0.5", "--memory", "64m", "--constraint", "node.role==worker",
				"--network", "n1", "--network", "n2", "busybox", "echo $A", "-e", "--name"},
			want: types.CreateJobRequest{
				Name:   "n1",
				Labels: map[string]string{"team": "a", "tier": "b"},
				JobSpec: types.JobSpec{
					Image:                 "busybox",
					Command:               []string{"sh", "-c"},
					Args:                  []string{"echo $A", "-e", "--name"},
					Env:                   map[string]string{"A": "1", "B": "x=y", "C": ""},
					WorkingDir:            "/tmp",
					User:                  "1000:1000",
					BackoffLimit:          ptr(2),
					ActiveDeadlineSeconds: ptr(int64(2)),
					Resources:             &types.Resources{Limits: &types.ResourceAmounts{CPUs: 0.5, MemoryBytes: 64 << 20}},
					Placement:             &types.Placement{Constraints: []string{"node.role==worker"}},
					Networks:              []string{"n1", "n2"},
				},
			},
		},
		{
			name: "explicit zero backoff limit is sent",
			args: []string{"run", "-d", "--backoff-limit", "0", "--memory", "1g", "busybox"},
			want: types.CreateJobRequest{JobSpec: types.JobSpec{Image: "busybox", BackoffLimit: ptr(0),
				Resources: &types.Resources{Limits: &types.ResourceAmounts{MemoryBytes: 1 << 30}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			code, _, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 0 {
				t.Fatalf("exit code = %d, stderr %q", code, stderr)
			}
			if diff := cmp.Diff([]types.CreateJobRequest{tt.want}, f.calls().Created); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	f, srv := newFakeAPI(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f.logs = map[string]string{"stdout": "started\n"}
	f.onLogs = func() {
		// Ctrl-C while the output streams, once both streams are asked for.
		if len(f.calls().Queries) == 2 {
			cancel()
		}
	}
	code, stdout, stderr := runCLI(t, ctx, srv.URL, "run", "busybox", "sleep", "60")
	if code != 130 {
		t.Errorf("exit code = %d, want 130", code)
	}
	if stdout != "" && stdout != "started\n" {
		t.Errorf("stdout = %q, want at most the output streamed before the interrupt", stdout)
	}
	if want := "swarmjob: cancel requested for job job-1; what it writes while it stops is kept: swarmjob logs job-1\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	if diff := cmp.Diff([]string{"job-1"}, f.calls().Cancels); diff != "" {
		t.Errorf("cancels (-want +got):\n%s", diff)
	}
}

func TestWaitInterruptedDoesNotCancel(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.addJob(types.Job{ID: "j1", Status: types.JobStatus{Phase: types.PhaseRunning}})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	f.onWait = cancel
	code, _, stderr := runCLI(t, ctx, srv.URL, "wait", "j1")
	if code != 130 {
		t.Errorf("exit code = %d, want 130", code)
	}
	if want := "swarmjob: job j1 Running\nswarmjob: interrupted\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	if c := f.calls().Cancels; len(c) != 0 {
		t.Errorf("server saw cancels %v, want none", c)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{
			name:       "env without equals",
			args:       []string{"run", "--env", "NOEQUALS", "busybox"},
			wantStderr: "swarmjob: invalid argument \"NOEQUALS\" for \"-e, --env\" flag: must be KEY=VALUE\nRun 'swarmjob run --help' for usage.\n",
		},
		{
			name:       "label without key",
			args:       []string{"run", "--label", "=v", "busybox"},
			wantStderr: "swarmjob: invalid argument \"=v\" for \"--label\" flag: KEY must not be empty\nRun 'swarmjob run --help' for usage.\n",
		},
		{
			name:       "bad memory",
			args:       []string{"run", "--memory", "12x", "busybox"},
			wantStderr: "swarmjob: invalid argument \"12x\" for \"--memory\" flag: invalid size \"12x\": unknown unit \"x\" (use b, k, m, g or t)\nRun 'swarmjob run --help' for usage.\n",
		},
		{
			name:       "negative deadline",
			args:       []string{"run", "--deadline", "-1s", "busybox"},
			wantStderr: "swarmjob: --deadline: must not be negative, got -1s\nRun 'swarmjob run --help' for usage.\n",
		},
		{
			name:       "negative backoff limit",
			args:       []string{"run", "--backoff-limit", "-1", "busybox"},
			wantStderr: "swarmjob: --backoff-limit: must not be negative, got -1\nRun 'swarmjob run --help' for usage.\n",
		},
		{
			name:       "run without image",
			args:       []string{"run", "-d"},
			wantStderr: "swarmjob: \"swarmjob run\" requires at least one IMAGE\nRun 'swarmjob run --help' for usage.\n",
		},
		{
			name:       "get without ID",
			args:       []string{"get"},
			wantStderr: "swarmjob: \"swarmjob get\" requires exactly one job ID, got 0 arguments\nRun 'swarmjob get --help' for usage.\n",
		},
		{
			name:       "unknown flag",
			args:       []string{"ls", "--bogus"},
			wantStderr: "swarmjob: unknown flag: --bogus\nRun 'swarmjob ls --help' for usage.\n",
		},
		{
			name:       "unknown command",
			args:       []string{"gett"},
			wantStderr: "swarmjob: unknown command \"gett\" for \"swarmjob\"; did you mean get?\nRun 'swarmjob --help' for usage.\n",
		},
		{
			name:       "bad stream",
			args:       []string{"logs", "--stream", "both", "j1"},
			wantStderr: "swarmjob: --stream: must be stdout, stderr or all, got \"both\"\nRun 'swarmjob logs --help' for usage.\n",
		},
		{
			name:       "bad server URL",
			args:       []string{"--server", "ftp://x", "get", "j1"},
			wantStderr: "swarmjob: --server: server URL \"ftp://x\": scheme must be http or https\nRun 'swarmjob get --help' for usage.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want none", stdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr =\n%q\nwant\n%q", stderr, tt.wantStderr)
			}
			if diff := cmp.Diff(fakeCalls{}, f.calls(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("a usage error reached the server (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGet(t *testing.T) {
	f, srv := newFakeAPI(t)
	job := types.Job{ID: "j1", Name: "n", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Spec: types.JobSpec{Image: "busybox"}, Status: types.JobStatus{Phase: types.PhaseSucceeded, Attempts: []types.Attempt{attempt(ptr(0))}}}
	f.addJob(job)

	code, stdout, stderr := runCLI(t, t.Context(), srv.URL, "get", "j1")
	if code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, stderr)
	}
	var got types.Job
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not a job: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(job, got); diff != "" {
		t.Errorf("job (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(stdout, "{\n  \"id\": \"j1\",\n") {
		t.Errorf("stdout is not indented JSON:\n%s", stdout)
	}

	code, stdout, stderr = runCLI(t, t.Context(), srv.URL, "get", "nope")
	if code != 1 {
		t.Errorf("exit code for an unknown job = %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want none", stdout)
	}
	if want := "swarmjob: job \"nope\" not found\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

func TestLs(t *testing.T) {
	now := time.Now()
	jobs := []types.Job{
		{ID: "j1", Name: "backup", CreatedAt: now.Add(-3*time.Hour - time.Minute),
			Status: types.JobStatus{Phase: types.PhaseSucceeded, Reason: "Completed", Attempts: []types.Attempt{attempt(ptr(0))}}},
		{ID: "j2", CreatedAt: now.Add(-5*time.Minute - time.Second),
			Status: types.JobStatus{Phase: types.PhaseFailed, Reason: "BackoffLimitExceeded", Attempts: []types.Attempt{attempt(ptr(1)), attempt(ptr(1))}}},
		{ID: "job-with-a-long-id", Name: "n", CreatedAt: now.Add(-72*time.Hour - time.Hour),
			Status: types.JobStatus{Phase: types.PhaseRunning, Attempts: []types.Attempt{{State: "running"}}}},
	}
	tests := []struct {
		name        string
		args        []string
		pageSize    int
		wantStdout  string
		wantStderr  string
		wantQueries []string
	}{
		{
			name: "table",
			args: []string{"ls"},
			wantStdout: "" +
				"ID                   NAME     PHASE       ATTEMPTS   AGE   REASON\n" +
				"j1                   backup   Succeeded   1          3h    Completed\n" +
				"j2                   -        Failed      2          5m    BackoffLimitExceeded\n" +
				"job-with-a-long-id   n        Running     1          3d    -\n",
			wantQueries: []string{""},
		},
		{
			name:        "quiet with filters",
			args:        []string{"ls", "-q", "--phase", "Running", "--label", "b=2", "--label", "a=1", "--limit", "10"},
			wantStdout:  "j1\nj2\njob-with-a-long-id\n",
			wantQueries: []string{"label=b%3D2%2Ca%3D1&limit=10&phase=Running"},
		},
		{
			name: "selector, name, times and order",
			args: []string{"ls", "-q", "--label", "team!=x,!urgent", "--name-prefix", "nightly-",
				"--created-after", "2026-01-01T00:00:00Z", "--created-before", "2026-01-02T03:04:05+01:00", "--order", "asc"},
			wantStdout: "j1\nj2\njob-with-a-long-id\n",
			wantQueries: []string{"createdAfter=2026-01-01T00%3A00%3A00Z" +
				"&createdBefore=2026-01-02T03%3A04%3A05%2B01%3A00&label=team%21%3Dx%2C%21urgent&namePrefix=nightly-&order=asc"},
		},
		{
			name:        "an admin lists one tenant",
			args:        []string{"ls", "-q", "--tenant", "team-a"},
			wantStdout:  "j1\nj2\njob-with-a-long-id\n",
			wantQueries: []string{"tenant=team-a"},
		},
		{
			name:        "one page says there is more",
			args:        []string{"ls", "-q"},
			pageSize:    2,
			wantStdout:  "j1\nj2\n",
			wantStderr:  "swarmjob: more jobs exist; use --all to list them all\n",
			wantQueries: []string{""},
		},
		{
			name:        "all follows cursors",
			args:        []string{"ls", "-q", "--all"},
			pageSize:    2,
			wantStdout:  "j1\nj2\njob-with-a-long-id\n",
			wantQueries: []string{"", "cursor=2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.pageSize = tt.pageSize
			for _, j := range jobs {
				f.addJob(j)
			}
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 0 {
				t.Fatalf("exit code = %d, stderr %q", code, stderr)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout, tt.wantStdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			if diff := cmp.Diff(tt.wantQueries, f.calls().Queries); diff != "" {
				t.Errorf("list queries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		final      *types.JobStatus
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name:       "succeeded",
			args:       []string{"wait", "j1"},
			final:      &types.JobStatus{Phase: types.PhaseSucceeded, Attempts: []types.Attempt{attempt(ptr(0))}},
			wantStdout: "Succeeded\n",
			wantStderr: "swarmjob: job j1 Running\n",
		},
		{
			name:       "failed with exit code 3",
			args:       []string{"wait", "--timeout", "1m", "j1"},
			final:      &types.JobStatus{Phase: types.PhaseFailed, Reason: "BackoffLimitExceeded", Attempts: []types.Attempt{attempt(ptr(3))}},
			wantCode:   3,
			wantStdout: "Failed\n",
			wantStderr: "swarmjob: job j1 Running\nswarmjob: job j1 Failed: BackoffLimitExceeded\n",
		},
		{
			name:       "timeout",
			args:       []string{"wait", "--timeout", "200ms", "j1"},
			wantCode:   2,
			wantStdout: "Running\n",
			wantStderr: "swarmjob: job j1 Running\nswarmjob: timed out after 200ms waiting for job j1 (Running)\n",
		},
		{
			name:       "unknown job",
			args:       []string{"wait", "nope"},
			wantCode:   1,
			wantStderr: "swarmjob: job \"nope\" not found\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.final = tt.final
			f.addJob(types.Job{ID: "j1", Status: types.JobStatus{Phase: types.PhaseRunning}})
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.wantStdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestLogs(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		wantQuery  string
	}{
		{"default is all", []string{"logs", "j1"}, "o\ne\n", "stream=all"},
		{"stderr of one attempt with timestamps", []string{"logs", "--stream", "stderr", "--attempt", "1", "--timestamps", "j1"}, "e\n", "attempt=1&stream=stderr&timestamps=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.addJob(types.Job{ID: "j1"})
			f.logs = map[string]string{"all": "o\ne\n", "stdout": "o\n", "stderr": "e\n"}
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 0 {
				t.Fatalf("exit code = %d, stderr %q", code, stderr)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.wantStdout)
			}
			if diff := cmp.Diff([]string{tt.wantQuery}, f.calls().Queries); diff != "" {
				t.Errorf("logs query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCancelAndRm(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantCode    int
		wantStdout  string
		wantStderr  string
		wantCancels []string
		wantDeletes []string
	}{
		{
			name:        "cancel",
			args:        []string{"cancel", "j1"},
			wantStdout:  "j1\n",
			wantCancels: []string{"j1"},
		},
		{
			name:        "cancel goes on past an unknown job",
			args:        []string{"cancel", "nope", "j2"},
			wantCode:    1,
			wantStdout:  "j2\n",
			wantStderr:  "swarmjob: job \"nope\" not found\n",
			wantCancels: []string{"j2"},
		},
		{
			name:        "rm several",
			args:        []string{"rm", "j1", "j2"},
			wantStdout:  "j1\nj2\n",
			wantDeletes: []string{"j1", "j2"},
		},
		{
			name:       "rm unknown",
			args:       []string{"rm", "nope"},
			wantCode:   1,
			wantStderr: "swarmjob: job \"nope\" not found\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.addJob(types.Job{ID: "j1", Status: types.JobStatus{Phase: types.PhaseRunning}})
			f.addJob(types.Job{ID: "j2", Status: types.JobStatus{Phase: types.PhaseRunning}})
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.wantStdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			calls := f.calls()
			if diff := cmp.Diff(tt.wantCancels, calls.Cancels, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("cancels (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDeletes, calls.Deletes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("deletes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServerSelection(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.addJob(types.Job{ID: "j1"})
	tests := []struct {
		name string
		env  string // SWARMJOB_URL
		args []string
	}{
		{"from SWARMJOB_URL", srv.URL, []string{"get", "j1"}},
		{"--server wins over SWARMJOB_URL", "http://127.0.0.1:1", []string{"--server", srv.URL, "get", "j1"}},
		{"--server after the command", "http://127.0.0.1:1", []string{"get", "--server", srv.URL, "j1"}},
		{"no scheme means http", "", []string{"--server", strings.TrimPrefix(srv.URL, "http://"), "get", "j1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, t.Context(), tt.env, tt.args...)
			if code != 0 {
				t.Errorf("exit code = %d, stderr %q", code, stderr)
			}
		})
	}
}

func TestRootHelp(t *testing.T) {
	code, stdout, stderr := runCLI(t, t.Context(), "")
	if code != 0 || stderr != "" {
		t.Errorf("exit code = %d, stderr %q; want 0 and none", code, stderr)
	}
	for _, sub := range []string{"serve", "run", "submit", "get", "ls", "logs", "results", "wait", "cancel", "suspend", "resume", "scale", "rm", "events", "watch", "completion"} {
		if !strings.Contains(stdout, "\n  "+sub+" ") {
			t.Errorf("help does not list %q:\n%s", sub, stdout)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name   string
		status types.JobStatus
		want   int
	}{
		{"succeeded", types.JobStatus{Phase: types.PhaseSucceeded, Attempts: []types.Attempt{attempt(ptr(0))}}, 0},
		{"failed with exit code", types.JobStatus{Phase: types.PhaseFailed, Attempts: []types.Attempt{attempt(ptr(1)), attempt(ptr(3))}}, 3},
		{"failed without attempts", types.JobStatus{Phase: types.PhaseFailed}, 125},
		{"failed without exit code", types.JobStatus{Phase: types.PhaseFailed, Attempts: []types.Attempt{attempt(nil)}}, 125},
		{"failed with exit code 0", types.JobStatus{Phase: types.PhaseFailed, Attempts: []types.Attempt{attempt(ptr(0))}}, 125},
		{"exit code a process cannot return", types.JobStatus{Phase: types.PhaseFailed, Attempts: []types.Attempt{attempt(ptr(256))}}, 125},
		{"deadline without exit code", types.JobStatus{Phase: types.PhaseFailed, Reason: "DeadlineExceeded"}, 124},
		{"deadline wins over the killed attempt's code", types.JobStatus{Phase: types.PhaseFailed, Reason: "DeadlineExceeded", Attempts: []types.Attempt{attempt(ptr(137))}}, 124},
		{"cancelled", types.JobStatus{Phase: types.PhaseCancelled, Attempts: []types.Attempt{attempt(ptr(143))}}, 130},
		{"not terminal", types.JobStatus{Phase: types.PhaseRunning}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(&types.Job{Status: tt.status}); got != tt.want {
				t.Errorf("exitCode = %d, want %d", got, tt.want)
			}
		})
	}
}
