package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/swarmjob/swarmjob/api/types"
)

func TestRunBatchRequest(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want types.CreateJobRequest
	}{
		{
			name: "every batch flag",
			args: []string{"run", "-d", "--completions", "10", "--parallelism", "3", "--indexed",
				"--backoff-limit-per-index", "2", "--max-failed-indexes", "1", "--attempt-deadline", "1500ms",
				"--stop-grace-period", "30s", "--suspend", "busybox", "sh", "-c", "echo $SWARMJOB_INDEX"},
			want: types.CreateJobRequest{JobSpec: types.JobSpec{
				Image: "busybox", Args: []string{"sh", "-c", "echo $SWARMJOB_INDEX"},
				Completions: ptr(10), Parallelism: ptr(3), CompletionMode: types.CompletionIndexed,
				BackoffLimitPerIndex: ptr(2), MaxFailedIndexes: ptr(1), AttemptDeadlineSeconds: ptr[int64](2),
				StopGracePeriodSeconds: ptr[int64](30), Suspend: ptr(true),
			}},
		},
		{
			name: "explicit values equal to the defaults are sent",
			args: []string{"run", "-d", "--completions", "1", "--parallelism", "1", "--backoff-limit-per-index", "0",
				"--max-failed-indexes", "0", "--attempt-deadline", "0", "--stop-grace-period", "0", "busybox"},
			want: types.CreateJobRequest{JobSpec: types.JobSpec{
				Image: "busybox", Completions: ptr(1), Parallelism: ptr(1), BackoffLimitPerIndex: ptr(0), MaxFailedIndexes: ptr(0),
				StopGracePeriodSeconds: ptr[int64](0),
			}},
		},
		{
			name: "--suspend=false sends nothing",
			args: []string{"run", "-d", "--suspend=false", "--indexed=false", "busybox"},
			want: types.CreateJobRequest{JobSpec: types.JobSpec{Image: "busybox"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 0 || stdout != "job-1\n" {
				t.Fatalf("exit code = %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			if diff := cmp.Diff([]types.CreateJobRequest{tt.want}, f.calls().Created); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

// run --suspend without --detach says how to start the job, then waits.
func TestRunSuspendedSaysHowToResume(t *testing.T) {
	f, srv := newFakeAPI(t)
	f.final = &types.JobStatus{Phase: types.PhaseSucceeded, Attempts: []types.Attempt{attempt(ptr(0))}}
	code, _, stderr := runCLI(t, t.Context(), srv.URL, "run", "--suspend", "busybox")
	if code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if want := "swarmjob: job job-1 is suspended; it starts once resumed: swarmjob resume job-1\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

func TestBatchUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"zero completions", []string{"run", "--completions", "0", "busybox"},
			"swarmjob: --completions: must be at least 1, got 0\nRun 'swarmjob run --help' for usage.\n"},
		{"zero parallelism", []string{"run", "--parallelism", "0", "busybox"},
			"swarmjob: --parallelism: must be at least 1, got 0\nRun 'swarmjob run --help' for usage.\n"},
		{"negative backoff limit per index", []string{"run", "--indexed", "--backoff-limit-per-index", "-1", "busybox"},
			"swarmjob: --backoff-limit-per-index: must be at least 0, got -1\nRun 'swarmjob run --help' for usage.\n"},
		{"negative max failed indexes", []string{"run", "--max-failed-indexes", "-2", "busybox"},
			"swarmjob: --max-failed-indexes: must be at least 0, got -2\nRun 'swarmjob run --help' for usage.\n"},
		{"negative stop grace period", []string{"run", "--stop-grace-period", "-1s", "busybox"},
			"swarmjob: --stop-grace-period: must be between 0 and 1h0m0s, got -1s\nRun 'swarmjob run --help' for usage.\n"},
		{"stop grace period too long", []string{"run", "--stop-grace-period", "1h1m", "busybox"},
			"swarmjob: --stop-grace-period: must be between 0 and 1h0m0s, got 1h1m0s\nRun 'swarmjob run --help' for usage.\n"},
		{"negative attempt deadline", []string{"run", "--attempt-deadline", "-1s", "busybox"},
			"swarmjob: --attempt-deadline: must not be negative, got -1s\nRun 'swarmjob run --help' for usage.\n"},
		{"scale without parallelism", []string{"scale", "j1"},
			"swarmjob: --parallelism is required\nRun 'swarmjob scale --help' for usage.\n"},
		{"scale to zero", []string{"scale", "j1", "--parallelism", "0"},
			"swarmjob: --parallelism: must be at least 1, got 0\nRun 'swarmjob scale --help' for usage.\n"},
		{"scale without ID", []string{"scale", "--parallelism", "2"},
			"swarmjob: \"swarmjob scale\" requires exactly one job ID, got 0 arguments\nRun 'swarmjob scale --help' for usage.\n"},
		{"suspend without ID", []string{"suspend"},
			"swarmjob: \"swarmjob suspend\" requires at least one job ID\nRun 'swarmjob suspend --help' for usage.\n"},
		{"resume without ID", []string{"resume"},
			"swarmjob: \"swarmjob resume\" requires at least one job ID\nRun 'swarmjob resume --help' for usage.\n"},
		{"results in yaml", []string{"results", "-o", "yaml", "j1"},
			"swarmjob: --output: must be table or json, got \"yaml\"\nRun 'swarmjob results --help' for usage.\n"},
		{"negative log index", []string{"logs", "--index", "-1", "j1"},
			"swarmjob: --index: must not be negative, got -1\nRun 'swarmjob logs --help' for usage.\n"},
		{"submit without a file", []string{"submit"},
			"swarmjob: -f/--file is required: a YAML or JSON job file, or - for stdin\nRun 'swarmjob submit --help' for usage.\n"},
		{"submit with an argument", []string{"submit", "-f", "job.json", "extra"},
			"swarmjob: submit takes its file with -f: swarmjob submit -f extra\nRun 'swarmjob submit --help' for usage.\n"},
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

func TestExitCodeOfBatchJobs(t *testing.T) {
	at := func(state string, exit *int, finished time.Time, reason string) types.Attempt {
		return types.Attempt{Service: "s", State: state, ExitCode: exit, FinishedAt: &finished, Reason: reason}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Second), t0.Add(2*time.Second)
	tests := []struct {
		name   string
		status types.JobStatus
		want   int
	}{
		{"succeeded after failures", types.JobStatus{Phase: types.PhaseSucceeded, Attempts: []types.Attempt{
			at("failed", ptr(3), t0, "Failed"), at("succeeded", ptr(0), t1, "Completed")}}, 0},
		{"the last failed attempt, not the last in the list", types.JobStatus{Phase: types.PhaseFailed, Reason: types.ReasonFailurePolicy, Attempts: []types.Attempt{
			at("failed", ptr(42), t1, "Failed"), at("succeeded", ptr(0), t0, "Completed"), at("stopped", nil, t2, "JobFinished")}}, 42},
		{"the failed attempt that finished last", types.JobStatus{Phase: types.PhaseFailed, Reason: types.ReasonFailedIndexes, Attempts: []types.Attempt{
			at("failed", ptr(3), t2, "Failed"), at("failed", ptr(4), t1, "Failed")}}, 3},
		{"on a tie, the later in the list", types.JobStatus{Phase: types.PhaseFailed, Attempts: []types.Attempt{
			at("failed", ptr(3), t1, "Failed"), at("failed", ptr(4), t1, "Failed")}}, 4},
		{"the last failed attempt has no exit code", types.JobStatus{Phase: types.PhaseFailed, Attempts: []types.Attempt{
			at("failed", ptr(3), t0, "Failed"), at("failed", nil, t1, "Rejected")}}, 125},
		{"the last failed attempt passed its deadline", types.JobStatus{Phase: types.PhaseFailed, Attempts: []types.Attempt{
			at("failed", ptr(3), t0, "Failed"), at("failed", nil, t1, "DeadlineExceeded")}}, 124},
		{"the job's deadline wins", types.JobStatus{Phase: types.PhaseFailed, Reason: types.ReasonDeadlineExceeded, Attempts: []types.Attempt{
			at("failed", ptr(3), t0, "Failed"), at("stopped", nil, t1, "JobFinished")}}, 124},
		{"only stopped attempts", types.JobStatus{Phase: types.PhaseFailed, Attempts: []types.Attempt{
			at("stopped", nil, t0, "JobFinished")}}, 125},
		{"suspended is not terminal", types.JobStatus{Phase: types.PhaseSuspended}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(&types.Job{Status: tt.status}); got != tt.want {
				t.Errorf("exitCode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSuspendResumeScale(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		wantCode     int
		wantStdout   string
		wantStderr   string
		wantSuspends []string
		wantResumes  []string
		wantPatches  []string
	}{
		{name: "suspend several", args: []string{"suspend", "j1", "j2"}, wantStdout: "j1\nj2\n", wantSuspends: []string{"j1", "j2"}},
		{name: "suspend goes on past errors", args: []string{"suspend", "done", "nope", "j1"}, wantCode: 1, wantStdout: "j1\n",
			wantStderr:   "swarmjob: job \"done\" is Succeeded\nswarmjob: job \"nope\" not found\n",
			wantSuspends: []string{"j1"}},
		{name: "resume", args: []string{"resume", "j2"}, wantStdout: "j2\n", wantResumes: []string{"j2"}},
		{name: "resume a finished job", args: []string{"resume", "done"}, wantCode: 1, wantStderr: "swarmjob: job \"done\" is Succeeded\n"},
		{name: "scale", args: []string{"scale", "j1", "--parallelism", "4"}, wantStdout: "j1\n", wantPatches: []string{`j1 {"parallelism":4}`}},
		{name: "scale a finished job", args: []string{"scale", "--parallelism", "4", "done"}, wantCode: 1, wantStderr: "swarmjob: job \"done\" is Succeeded\n"},
		{name: "scale unknown", args: []string{"scale", "nope", "--parallelism", "4"}, wantCode: 1, wantStderr: "swarmjob: job \"nope\" not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.addJob(types.Job{ID: "j1", Status: types.JobStatus{Phase: types.PhaseRunning}})
			f.addJob(types.Job{ID: "j2", Status: types.JobStatus{Phase: types.PhaseSuspended}})
			f.addJob(types.Job{ID: "done", Status: types.JobStatus{Phase: types.PhaseSucceeded}})
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
			for _, c := range []struct {
				what      string
				want, got []string
			}{{"suspends", tt.wantSuspends, calls.Suspends}, {"resumes", tt.wantResumes, calls.Resumes}, {"patches", tt.wantPatches, calls.Patches}} {
				if diff := cmp.Diff(c.want, c.got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s (-want +got):\n%s", c.what, diff)
				}
			}
		})
	}
}

func TestResults(t *testing.T) {
	res := types.Results{JobID: "j1", CompletionMode: types.CompletionIndexed, Items: []types.ResultItem{
		{Index: 0, State: types.IndexSucceeded, ExitCode: ptr(0), Attempts: 2, LogBytes: 1234, LastAttempt: &types.Attempt{Service: "s", State: "succeeded", ExitCode: ptr(0)}},
		{Index: 1, State: types.IndexFailed, ExitCode: ptr(42), Attempts: 1, LogBytes: 7},
		{Index: 2, State: types.IndexRunning, Attempts: 1},
		{Index: 10, State: types.IndexPending},
	}}
	f, srv := newFakeAPI(t)
	f.addJob(types.Job{ID: "j1", Status: types.JobStatus{Phase: types.PhaseRunning}})
	f.results["j1"] = res

	code, stdout, stderr := runCLI(t, t.Context(), srv.URL, "results", "j1")
	if code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, stderr)
	}
	want := "" +
		"INDEX   STATE       EXIT   ATTEMPTS   LOGBYTES\n" +
		"0       Succeeded   0      2          1234\n" +
		"1       Failed      42     1          7\n" +
		"2       Running     -      1          0\n" +
		"10      Pending     -      0          0\n"
	if stdout != want {
		t.Errorf("stdout =\n%s\nwant\n%s", stdout, want)
	}

	code, stdout, stderr = runCLI(t, t.Context(), srv.URL, "results", "-o", "json", "j1")
	if code != 0 {
		t.Fatalf("-o json: exit code = %d, stderr %q", code, stderr)
	}
	var got types.Results
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not results: %v\n%s", err, stdout)
	}
	if diff := cmp.Diff(res, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(stdout, "{\n  \"jobId\": \"j1\",\n") {
		t.Errorf("stdout is not indented JSON:\n%s", stdout)
	}

	code, _, stderr = runCLI(t, t.Context(), srv.URL, "results", "nope")
	if code != 1 || stderr != "swarmjob: job \"nope\" not found\n" {
		t.Errorf("unknown job: exit code %d, stderr %q", code, stderr)
	}
}

func TestSubmit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `{"name":"idx","labels":{"team":"a"},"image":"busybox","command":["sh","-c","exit $SWARMJOB_INDEX"],
		"completions":4,"parallelism":2,"completionMode":"Indexed","backoffLimitPerIndex":1,
		"failurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":[42]}},{"action":"Ignore","onReasons":["NodeLost"]}]},
		"successPolicy":{"rules":[{"succeededIndexes":"0-1"}]}}`
	wantGood := types.CreateJobRequest{Name: "idx", Labels: map[string]string{"team": "a"}, JobSpec: types.JobSpec{
		Image: "busybox", Command: []string{"sh", "-c", "exit $SWARMJOB_INDEX"},
		Completions: ptr(4), Parallelism: ptr(2), CompletionMode: "Indexed", BackoffLimitPerIndex: ptr(1),
		FailurePolicy: &types.FailurePolicy{Rules: []types.FailureRule{
			{Action: "FailJob", OnExitCodes: &types.ExitCodes{Operator: "In", Values: []int{42}}},
			{Action: "Ignore", OnReasons: []string{"NodeLost"}},
		}},
		SuccessPolicy: &types.SuccessPolicy{Rules: []types.SuccessRule{{SucceededIndexes: "0-1"}}},
	}}
	goodFile := write("job.json", good)
	unknownField := write("unknown.json", `{"image":"busybox","completion":3}`)
	trailing := write("trailing.json", `{"image":"busybox"} {"image":"x"}`)
	wrongType := write("type.json", `{"image":"busybox","parallelism":"2"}`)
	goodYAML := `# the job of job.json
name: idx
labels: {team: a}
image: busybox
command: [sh, -c, "exit $SWARMJOB_INDEX"]
completions: 4
parallelism: 2
completionMode: Indexed
backoffLimitPerIndex: 1
failurePolicy:
  rules:
  - action: FailJob
    onExitCodes: {operator: In, values: [42]}
  - action: Ignore
    onReasons: [NodeLost]
successPolicy:
  rules:
  - succeededIndexes: "0-1"
`
	yamlFile := write("job.yaml", goodYAML)
	ymlFile := write("job.yml", "image: busybox\nenv:\n  PORT: \"8080\"\n")
	yamlAsJSON := write("yaml.json", "image: busybox\n")
	jsonAsText := write("job.txt", good)
	yamlUnknown := write("unknown.yaml", "image: busybox\ncompletion: 3\n")
	yamlNumber := write("number.yaml", "image: busybox\nenv:\n  PORT: 8080\n")
	yamlWrongType := write("type.yaml", "image: busybox\nparallelism: two\n")
	yamlDup := write("dup.yaml", "image: busybox\nimage: alpine\n")
	yamlTwo := write("two.yaml", "image: busybox\n---\nimage: alpine\n")
	yamlEmpty := write("empty.yaml", "# nothing yet\n")
	yamlBad := write("bad.yaml", "image: busybox\ncommand: [sh\n")
	yamlList := write("list.yaml", "- image: busybox\n")

	tests := []struct {
		name        string
		args        []string
		stdin       string
		wantCode    int
		wantStdout  string
		wantStderr  string
		wantCreated []types.CreateJobRequest
	}{
		{name: "file", args: []string{"submit", "-f", goodFile}, wantStdout: "job-1\n", wantCreated: []types.CreateJobRequest{wantGood}},
		{name: "stdin", args: []string{"submit", "--file", "-"}, stdin: good, wantStdout: "job-1\n", wantCreated: []types.CreateJobRequest{wantGood}},
		{name: "unknown field", args: []string{"submit", "-f", unknownField}, wantCode: 1,
			wantStderr: "swarmjob: " + unknownField + ": unknown field \"completion\"; did you mean \"completions\"?\n"},
		{name: "trailing data", args: []string{"submit", "-f", trailing}, wantCode: 1,
			wantStderr: "swarmjob: " + trailing + ": unexpected data after the JSON object at byte offset 19\n"},
		{name: "wrong type", args: []string{"submit", "-f", wrongType}, wantCode: 1,
			wantStderr: "swarmjob: " + wrongType + ": parallelism: must be an integer (64-bit), got string\n"},
		{name: "a .json file is JSON", args: []string{"submit", "-f", yamlAsJSON}, wantCode: 1,
			wantStderr: "swarmjob: " + yamlAsJSON + ": malformed JSON at byte offset 1: invalid character 'i' looking for beginning of value\n"},
		{name: "JSON found by its content", args: []string{"submit", "-f", jsonAsText}, wantStdout: "job-1\n", wantCreated: []types.CreateJobRequest{wantGood}},
		{name: "YAML file", args: []string{"submit", "-f", yamlFile}, wantStdout: "job-1\n", wantCreated: []types.CreateJobRequest{wantGood}},
		{name: "YAML on stdin", args: []string{"submit", "-f", "-"}, stdin: goodYAML, wantStdout: "job-1\n", wantCreated: []types.CreateJobRequest{wantGood}},
		{name: ".yml file", args: []string{"submit", "-f", ymlFile}, wantStdout: "job-1\n",
			wantCreated: []types.CreateJobRequest{{JobSpec: types.JobSpec{Image: "busybox", Env: map[string]string{"PORT": "8080"}}}}},
		{name: "YAML unknown field", args: []string{"submit", "-f", yamlUnknown}, wantCode: 1,
			wantStderr: "swarmjob: " + yamlUnknown + ": unknown field \"completion\"; did you mean \"completions\"?\n"},
		{name: "YAML number for a string", args: []string{"submit", "-f", yamlNumber}, wantCode: 1,
			wantStderr: "swarmjob: " + yamlNumber + ": env.PORT: must be a string, got number; YAML reads unquoted 8080, 1.5, yes or no as a number or boolean: quote the value\n"},
		{name: "YAML wrong type", args: []string{"submit", "-f", yamlWrongType}, wantCode: 1,
			wantStderr: "swarmjob: " + yamlWrongType + ": parallelism: must be an integer (64-bit), got string\n"},
		{name: "YAML duplicate key", args: []string{"submit", "-f", yamlDup}, wantCode: 1,
			wantStderr: "swarmjob: " + yamlDup + ": malformed YAML: line 2: key \"image\" already set in map\n"},
		{name: "YAML with two documents", args: []string{"submit", "-f", yamlTwo}, wantCode: 1,
			wantStderr: "swarmjob: " + yamlTwo + ": holds more than one YAML document; submit one job per file\n"},
		{name: "empty YAML", args: []string{"submit", "-f", yamlEmpty}, wantCode: 1,
			wantStderr: "swarmjob: " + yamlEmpty + ": is empty; a job object is required\n"},
		{name: "malformed YAML", args: []string{"submit", "-f", yamlBad}, wantCode: 1,
			wantStderr: "swarmjob: " + yamlBad + ": malformed YAML: line 2: did not find expected ',' or ']'\n"},
		{name: "YAML list", args: []string{"submit", "-f", yamlList}, wantCode: 1,
			wantStderr: "swarmjob: " + yamlList + ": must be an object, got array\n"},
		{name: "empty stdin", args: []string{"submit", "-f", "-"}, wantCode: 1,
			wantStderr: "swarmjob: stdin: is empty; a JSON object is required\n"},
		{name: "missing file", args: []string{"submit", "-f", filepath.Join(dir, "nope.json")}, wantCode: 1,
			wantStderr: "swarmjob: open " + filepath.Join(dir, "nope.json") + ": no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			code, stdout, stderr := runCLIWithStdin(t, t.Context(), srv.URL, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.wantStdout)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			if diff := cmp.Diff(tt.wantCreated, f.calls().Created, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLogsByIndex(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantQuery string
	}{
		{"one index", []string{"logs", "--index", "2", "j1"}, "index=2&stream=all"},
		{"one attempt of one index", []string{"logs", "--index", "0", "--attempt", "1", "--stream", "stdout", "j1"}, "attempt=1&index=0&stream=stdout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.addJob(types.Job{ID: "j1"})
			f.logs = map[string]string{"all": "o\n", "stdout": "o\n"}
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
