package tests

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// followed is a followed logs response read in the background, line by line.
type followed struct {
	lines chan string // each line as it arrives, with its newline
	mu    sync.Mutex
	body  bytes.Buffer
	err   error // how the body ended; nil for a clean end
	done  chan struct{}
}

// followLogs starts a followed logs read of job id on s.
func followLogs(t *testing.T, s *server, id string, opts client.LogOptions, limit time.Duration) *followed {
	t.Helper()
	opts.Follow = true
	rc, err := s.client.Logs(testCtx(t, limit), id, opts)
	if err != nil {
		t.Fatalf("following logs: %v", err)
	}
	f := &followed{lines: make(chan string, 1000), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer close(f.lines)
		defer rc.Close()
		br := bufio.NewReader(rc)
		for {
			line, err := br.ReadString('\n')
			f.mu.Lock()
			f.body.WriteString(line)
			f.mu.Unlock()
			if line != "" {
				f.lines <- line
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					f.mu.Lock()
					f.err = err
					f.mu.Unlock()
				}
				return
			}
		}
	}()
	return f
}

// next returns the next line, failing the test after limit.
func (f *followed) next(t *testing.T, limit time.Duration) string {
	t.Helper()
	select {
	case line, ok := <-f.lines:
		if !ok {
			t.Fatalf("followed logs ended; body %q", f.all(t, time.Second))
		}
		return line
	case <-time.After(limit):
		t.Fatalf("no line within %v", limit)
		return ""
	}
}

// all waits for the followed response to end and returns its body; a cut
// response fails the test.
func (f *followed) all(t *testing.T, limit time.Duration) string {
	t.Helper()
	select {
	case <-f.done:
	case <-time.After(limit):
		t.Fatalf("followed logs did not end within %v", limit)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		t.Fatalf("followed logs were cut: %v; body %q", f.err, f.body.String())
	}
	return f.body.String()
}

// TestFollowLogsWhileTheJobRuns: a job prints a line per second for 4 s.
// The first line reaches a follower long before the job ends, and the whole
// followed output is exactly what a read of the stored output returns
// afterwards, with timestamps (so each line is the same line, not just the
// same text) and without.
func TestFollowLogsWhileTheJobRuns(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		// The last line has no newline: the Engine never sends it on a
		// follow stream, so it comes from the stored output.
		Command: sh("for i in 1 2 3 4; do echo line $i; echo err $i >&2; sleep 1; done; printf 'no newline'"),
	}})
	stamped := followLogs(t, shared, j.ID, client.LogOptions{Timestamps: true}, time.Minute)
	plain := followLogs(t, shared, j.ID, client.LogOptions{Stream: "stdout"}, time.Minute)

	first := plain.next(t, 20*time.Second)
	cur, err := shared.client.GetJob(testCtx(t, 5*time.Second), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first != "line 1\n" || types.TerminalPhase(cur.Status.Phase) {
		t.Fatalf("first line %q arrived with the job %s; want %q while it runs", first, cur.Status.Phase, "line 1\n")
	}
	second := plain.next(t, 5*time.Second)
	if second != "line 2\n" {
		t.Errorf("second line = %q", second)
	}
	cur, err = shared.client.GetJob(testCtx(t, 5*time.Second), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if types.TerminalPhase(cur.Status.Phase) {
		t.Errorf("the second line came after the job ended (%s)", cur.Status.Phase)
	}

	gotPlain := plain.all(t, 30*time.Second)
	gotStamped := stamped.all(t, 30*time.Second)
	final := waitTerminal(t, shared, j.ID, 10*time.Second)
	if final.Status.Phase != types.PhaseSucceeded {
		t.Fatalf("phase = %s", final.Status.Phase)
	}
	if want := logs(t, shared, j.ID, client.LogOptions{Stream: "stdout"}); gotPlain != want || want != "line 1\nline 2\nline 3\nline 4\nno newline" {
		t.Errorf("followed stdout %q, stored %q; want both the job's whole stdout", gotPlain, want)
	}
	want := logs(t, shared, j.ID, client.LogOptions{Timestamps: true})
	if gotStamped != want {
		t.Errorf("followed output with timestamps differs from the stored output:\nfollowed %q\nstored   %q", gotStamped, want)
	}
	if n := strings.Count(want, "\n"); n != 8 {
		t.Errorf("stored output has %d lines, want 8 and a last without newline: %q", n, want)
	}
}

// TestFollowLogsAcrossARetry: a job whose first attempt fails and whose
// retry succeeds streams both attempts, in order, in one followed response.
func TestFollowLogsAcrossARetry(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:      sh(`echo "attempt $SWARMJOB_ATTEMPT start"; sleep 1; echo "attempt $SWARMJOB_ATTEMPT end" >&2; [ "$SWARMJOB_ATTEMPT" = 1 ] || exit 3`),
		BackoffLimit: intp(1),
	}})
	f := followLogs(t, shared, j.ID, client.LogOptions{}, time.Minute)
	if line := f.next(t, 20*time.Second); line != "attempt 0 start\n" {
		t.Fatalf("first line = %q", line)
	}
	cur, err := shared.client.GetJob(testCtx(t, 5*time.Second), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cur.Status.Attempts) != 1 {
		t.Errorf("the first line came with %d attempts recorded, want it during attempt 0", len(cur.Status.Attempts))
	}
	got := f.all(t, 40*time.Second)
	final := waitTerminal(t, shared, j.ID, 10*time.Second)
	if final.Status.Phase != types.PhaseSucceeded || len(final.Status.Attempts) != 2 {
		t.Fatalf("status = %+v, want Succeeded after 2 attempts", final.Status)
	}
	want := "attempt 0 start\nattempt 0 end\nattempt 1 start\nattempt 1 end\n"
	if stored := logs(t, shared, j.ID, client.LogOptions{}); got != want || stored != want {
		t.Errorf("followed %q, stored %q; want both %q", got, stored, want)
	}
}

// TestRunStreamsOutput: `swarmjob run` prints the job's output while it
// runs, stdout to stdout and stderr to stderr, and still exits with the
// job's exit code.
func TestRunStreamsOutput(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, time.Minute)
	cmd := exec.CommandContext(ctx, binary, "--server", shared.url, "run", "--label", "test=run-streams",
		testImage, "sh", "-c", "echo first; echo oops >&2; sleep 3; echo second; exit 4")
	cmd.Env = append(os.Environ(), "SWARMJOB_TOKEN="+shared.token)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	first, err := br.ReadString('\n')
	if err != nil || first != "first\n" {
		t.Fatalf("first line = %q, %v", first, err)
	}
	// The job sleeps 3 s after its first line: run must still be going.
	exited := make(chan error, 1)
	rest := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(br)
		if err != nil {
			b = append(b, "<read error: "+err.Error()+">"...)
		}
		rest <- string(b)
		exited <- cmd.Wait()
	}()
	select {
	case <-exited:
		t.Fatal("run exited right after the first line; want the line shown while the job runs")
	case <-time.After(time.Second):
	}
	err = <-exited
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Errorf("run exited with %v, want exit code 4", err)
	}
	if got := first + <-rest; got != "first\nsecond\n" {
		t.Errorf("stdout = %q", got)
	}
	if !strings.HasPrefix(stderr.String(), "oops\n") {
		t.Errorf("stderr = %q, want the job's stderr first", stderr.String())
	}
	cleanupByLabel(t, "test=run-streams")
}

// cleanupByLabel waits until the jobs with the label are terminal and
// checks that they left no service behind.
func cleanupByLabel(t *testing.T, label string) {
	t.Helper()
	k, v, _ := strings.Cut(label, "=")
	page, err := shared.client.ListJobs(testCtx(t, 10*time.Second), client.ListOptions{Labels: map[string]string{k: v}})
	if err != nil {
		t.Fatalf("listing jobs: %v", err)
	}
	for _, j := range page.Items {
		waitTerminal(t, shared, j.ID, 30*time.Second)
		assertNoServices(t, j.ID)
	}
}
