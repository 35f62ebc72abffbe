package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/swarmjob/swarmjob/api/types"
)

// outputJobs are the jobs of the -o tests: one finished, one running with
// labels, created at fixed ages before now.
func outputJobs(now time.Time) []types.Job {
	return []types.Job{
		{ID: "j1", Name: "backup", CreatedAt: now.Add(-3*time.Hour - time.Minute),
			Spec: types.JobSpec{Image: "busybox", Completions: ptr(1), Parallelism: ptr(1)},
			Status: types.JobStatus{Phase: types.PhaseSucceeded, Reason: "Completed", Succeeded: 1,
				StartedAt: ptr(now.Add(-3 * time.Hour)), FinishedAt: ptr(now.Add(-3*time.Hour + 75*time.Second)),
				Attempts: []types.Attempt{attempt(ptr(0))}}},
		{ID: "j2", Tenant: "team-a", ParentID: "j1", Labels: map[string]string{"team": "data", "env": "dev"}, CreatedAt: now.Add(-5*time.Minute - time.Second),
			Spec: types.JobSpec{Image: "busybox", Completions: ptr(4), Parallelism: ptr(2), CompletionMode: "Indexed"},
			Status: types.JobStatus{Phase: types.PhaseRunning, Succeeded: 2, Active: 2,
				StartedAt: ptr(now.Add(-2*time.Minute - 5*time.Second)),
				Attempts:  []types.Attempt{{State: "running"}, {State: "running"}}}},
		{ID: "j3", CreatedAt: now.Add(-10 * time.Second),
			Spec:   types.JobSpec{Image: "busybox"},
			Status: types.JobStatus{Phase: types.PhasePending, Attempts: []types.Attempt{}}},
	}
}

func TestLsOutput(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		pageSize   int
		wantStdout string // for table and wide
		wantStderr string
		wantIDs    []string // for json and yaml
		wantCursor string
	}{
		{
			name: "table is the default",
			args: []string{"ls"},
			wantStdout: "" +
				"ID   NAME     PHASE       ATTEMPTS   AGE   REASON\n" +
				"j1   backup   Succeeded   1          3h    Completed\n" +
				"j2   -        Running     2          5m    -\n" +
				"j3   -        Pending     0          10s   -\n",
		},
		{
			name: "wide",
			args: []string{"ls", "-o", "wide"},
			wantStdout: "" +
				"ID   NAME     TENANT   PHASE       COMPLETIONS   PARALLELISM   ATTEMPTS   AGE   STARTED   DURATION   REASON      PARENT   LABELS\n" +
				"j1   backup   -        Succeeded   1/1           1             1          3h    3h        1m15s      Completed   -        -\n" +
				"j2   -        team-a   Running     2/4           2             2          5m    2m        2m5s       -           j1       env=dev,team=data\n" +
				"j3   -        -        Pending     0/1           -             0          10s   -         -          -           -        -\n",
		},
		{name: "json", args: []string{"ls", "-o", "json"}, wantIDs: []string{"j1", "j2", "j3"}},
		{name: "yaml", args: []string{"ls", "--output", "yaml"}, wantIDs: []string{"j1", "j2", "j3"}},
		{name: "json of one page keeps the cursor", args: []string{"ls", "-o", "json"}, pageSize: 2,
			wantIDs: []string{"j1", "j2"}, wantCursor: "2", wantStderr: "swarmjob: more jobs exist; use --all to list them all\n"},
		{name: "json of every page", args: []string{"ls", "-o", "json", "--all"}, pageSize: 2, wantIDs: []string{"j1", "j2", "j3"}},
		{name: "wide with more pages", args: []string{"ls", "-o", "wide"}, pageSize: 1,
			wantStdout: "" +
				"ID   NAME     TENANT   PHASE       COMPLETIONS   PARALLELISM   ATTEMPTS   AGE   STARTED   DURATION   REASON      PARENT   LABELS\n" +
				"j1   backup   -        Succeeded   1/1           1             1          3h    3h        1m15s      Completed   -        -\n",
			wantStderr: "swarmjob: more jobs exist; use --all to list them all\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			f.pageSize = tt.pageSize
			for _, j := range outputJobs(time.Now()) {
				f.addJob(j)
			}
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 0 {
				t.Fatalf("exit code = %d, stderr %q", code, stderr)
			}
			if stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			if tt.wantIDs == nil {
				if stdout != tt.wantStdout {
					t.Errorf("stdout =\n%s\nwant\n%s", stdout, tt.wantStdout)
				}
				return
			}
			list := decodeOutput[types.JobList](t, stdout, tt.args)
			var ids []string
			for _, j := range list.Items {
				ids = append(ids, j.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("listed IDs (-want +got):\n%s", diff)
			}
			if list.NextCursor != tt.wantCursor {
				t.Errorf("nextCursor = %q, want %q", list.NextCursor, tt.wantCursor)
			}
		})
	}
}

// decodeOutput decodes the JSON, or the YAML when args ask for it, of
// stdout strictly.
func decodeOutput[T any](t *testing.T, stdout string, args []string) T {
	t.Helper()
	var v T
	data := []byte(stdout)
	if strings.Contains(strings.Join(args, " "), "yaml") {
		if strings.HasPrefix(stdout, "{") {
			t.Fatalf("stdout is JSON, want YAML:\n%s", stdout)
		}
		var err error
		if data, err = yaml.YAMLToJSON(data); err != nil {
			t.Fatalf("stdout is not YAML: %v\n%s", err, stdout)
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %T: %v\n%s", v, err, stdout)
	}
	return v
}

func TestLsEmptyJSONHasItems(t *testing.T) {
	_, srv := newFakeAPI(t)
	code, stdout, stderr := runCLI(t, t.Context(), srv.URL, "ls", "-o", "json")
	if code != 0 || stdout != "{\n  \"items\": []\n}\n" {
		t.Errorf("exit code %d, stdout %q, stderr %q; want an empty items array", code, stdout, stderr)
	}
}

func TestGetOutput(t *testing.T) {
	now := time.Now()
	jobs := outputJobs(now)
	tests := []struct {
		name       string
		args       []string
		wantStdout string // for table and wide
		structured bool
	}{
		{name: "json is the default", args: []string{"get", "j2"}, structured: true},
		{name: "json", args: []string{"get", "-o", "json", "j2"}, structured: true},
		{name: "yaml", args: []string{"get", "-o", "yaml", "j2"}, structured: true},
		{name: "table", args: []string{"get", "-o", "table", "j2"}, wantStdout: "" +
			"ID   NAME   PHASE     ATTEMPTS   AGE   REASON\n" +
			"j2   -      Running   2          5m    -\n"},
		{name: "wide", args: []string{"get", "j2", "-o", "wide"}, wantStdout: "" +
			"ID   NAME   TENANT   PHASE     COMPLETIONS   PARALLELISM   ATTEMPTS   AGE   STARTED   DURATION   REASON   PARENT   LABELS\n" +
			"j2   -      team-a   Running   2/4           2             2          5m    2m        2m5s       -        j1       env=dev,team=data\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			for _, j := range jobs {
				f.addJob(j)
			}
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 0 {
				t.Fatalf("exit code = %d, stderr %q", code, stderr)
			}
			if !tt.structured {
				if stdout != tt.wantStdout {
					t.Errorf("stdout =\n%s\nwant\n%s", stdout, tt.wantStdout)
				}
				return
			}
			got := decodeOutput[types.Job](t, stdout, tt.args)
			if diff := cmp.Diff(jobs[1], got); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutputUsageErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"get", []string{"get", "-o", "xml", "j1"}, "swarmjob: --output: must be table, wide, json or yaml, got \"xml\"\nRun 'swarmjob get --help' for usage.\n"},
		{"ls", []string{"ls", "-o", "csv"}, "swarmjob: --output: must be table, wide, json or yaml, got \"csv\"\nRun 'swarmjob ls --help' for usage.\n"},
		{"ls quiet and json", []string{"ls", "-q", "-o", "json"}, "swarmjob: --quiet and --output cannot be combined\nRun 'swarmjob ls --help' for usage.\n"},
		{"watch", []string{"watch", "-o", "json"}, "swarmjob: --output: must be table or wide, got \"json\"\nRun 'swarmjob watch --help' for usage.\n"},
		{"watch limit", []string{"watch", "--limit", "-1"}, "swarmjob: --limit: must not be negative, got -1\nRun 'swarmjob watch --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			code, stdout, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 2 || stdout != "" || stderr != tt.wantStderr {
				t.Errorf("exit code %d, stdout %q, stderr\n%q\nwant 2, none,\n%q", code, stdout, stderr, tt.wantStderr)
			}
			if n := f.listCount(); n != 0 {
				t.Errorf("a usage error reached the server: %d list calls", n)
			}
		})
	}
}

func TestElapsed(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{1500 * time.Millisecond, "1s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m0s"},
		{12*time.Minute + 5*time.Second, "12m5s"},
		{3*time.Hour + 2*time.Minute + 59*time.Second, "3h2m"},
		{50 * time.Hour, "50h0m"},
	}
	for _, tt := range tests {
		if got := elapsed(tt.d); got != tt.want {
			t.Errorf("elapsed(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
