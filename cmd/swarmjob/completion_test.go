package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/swarmjob/swarmjob/api/types"
)

func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash":       "__start_swarmjob",
		"zsh":        "#compdef swarmjob",
		"fish":       "complete -c swarmjob",
		"powershell": "Register-ArgumentCompleter",
	} {
		t.Run(shell, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, t.Context(), "", "completion", shell)
			if code != 0 || stderr != "" {
				t.Fatalf("exit code %d, stderr %q", code, stderr)
			}
			if !strings.Contains(stdout, marker) {
				t.Errorf("the %s script has no %q", shell, marker)
			}
		})
	}
}

func TestCompleteJobIDs(t *testing.T) {
	now := time.Now()
	jobs := []types.Job{
		{ID: "a1", Name: "backup", CreatedAt: now.Add(-3 * time.Hour), Status: types.JobStatus{Phase: types.PhaseSucceeded}},
		{ID: "a2", CreatedAt: now.Add(-5 * time.Minute), Status: types.JobStatus{Phase: types.PhaseRunning}},
		{ID: "b3", Name: "held", CreatedAt: now.Add(-time.Minute), Spec: types.JobSpec{Suspend: ptr(true)},
			Status: types.JobStatus{Phase: types.PhaseSuspended}},
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"get offers every job with a description", []string{"get", ""},
			[]string{"a1\tbackup Succeeded 3h", "a2\t- Running 5m", "b3\theld Suspended 1m"}},
		{"by prefix", []string{"logs", "a"}, []string{"a1\tbackup Succeeded 3h", "a2\t- Running 5m"}},
		{"one ID only", []string{"wait", "a1", ""}, nil},
		{"results", []string{"results", "b"}, []string{"b3\theld Suspended 1m"}},
		{"cancel offers unfinished jobs not given yet", []string{"cancel", "a2", ""}, []string{"b3\theld Suspended 1m"}},
		{"rm offers every job", []string{"rm", ""}, []string{"a1\tbackup Succeeded 3h", "a2\t- Running 5m", "b3\theld Suspended 1m"}},
		{"suspend", []string{"suspend", ""}, []string{"a2\t- Running 5m"}},
		{"resume", []string{"resume", ""}, []string{"b3\theld Suspended 1m"}},
		{"scale", []string{"scale", ""}, []string{"a2\t- Running 5m", "b3\theld Suspended 1m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeAPI(t)
			for _, j := range jobs {
				f.addJob(j)
			}
			code, stdout, _ := runCLI(t, t.Context(), srv.URL, append([]string{"__complete"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit code = %d", code)
			}
			got, directive := splitCompletions(t, stdout)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
			// No file names, and the server's order kept.
			if directive != ":36" {
				t.Errorf("directive = %q, want :36 (NoFileComp|KeepOrder)", directive)
			}
		})
	}
}

func TestCompleteJobIDsWithoutServer(t *testing.T) {
	code, stdout, _ := runCLI(t, t.Context(), "http://127.0.0.1:1", "__complete", "get", "")
	if code != 0 {
		t.Fatalf("exit code = %d", code)
	}
	if got, directive := splitCompletions(t, stdout); len(got) != 0 || directive != ":36" {
		t.Errorf("completions %q, directive %q; want none and :36", got, directive)
	}
}

// splitCompletions splits the output of __complete into its completions and
// the directive line that ends it.
func splitCompletions(t *testing.T, stdout string) ([]string, string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("no directive at the end of %q", stdout)
	}
	return lines[:len(lines)-1], last
}

func TestFlagCompletions(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"get", "j1", "-o", ""}, []string{"json", "yaml", "table", "wide"}},
		{[]string{"ls", "--output", ""}, []string{"table", "wide", "json", "yaml"}},
		{[]string{"ls", "--phase", ""}, []string{"Pending", "Running", "Suspended", "Succeeded", "Failed", "Cancelled"}},
		{[]string{"ls", "--order", ""}, []string{"desc", "asc"}},
		{[]string{"watch", "-o", ""}, []string{"table", "wide"}},
		{[]string{"watch", "--phase", "S"}, []string{"Suspended", "Succeeded"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, _ := runCLI(t, t.Context(), "http://127.0.0.1:1", append([]string{"__complete"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit code = %d", code)
			}
			got, directive := splitCompletions(t, stdout)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
			if directive != ":4" {
				t.Errorf("directive = %q, want :4 (NoFileComp)", directive)
			}
		})
	}
}
