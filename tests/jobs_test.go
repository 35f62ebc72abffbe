package tests

import (
	"strings"
	"testing"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

func TestStdoutAndStderrKeptApart(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command: sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2"),
	}})
	j = waitTerminal(t, shared, j.ID, 30*time.Second)
	if j.Status.Phase != types.PhaseSucceeded {
		t.Fatalf("phase = %s (%s: %s), want Succeeded", j.Status.Phase, j.Status.Reason, j.Status.Message)
	}
	if code, ok := j.ExitCode(); !ok || code != 0 {
		t.Errorf("exit code = %d, %v; want 0", code, ok)
	}
	if got := logs(t, shared, j.ID, client.LogOptions{Stream: "stdout"}); got != "out1\nout2\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := logs(t, shared, j.ID, client.LogOptions{Stream: "stderr"}); got != "err1\nerr2\n" {
		t.Errorf("stderr = %q", got)
	}
	all := logs(t, shared, j.ID, client.LogOptions{})
	if len(all) != len("out1\nout2\nerr1\nerr2\n") || !strings.Contains(all, "out1\n") || !strings.Contains(all, "err2\n") {
		t.Errorf("all = %q", all)
	}
	stamped := logs(t, shared, j.ID, client.LogOptions{Stream: "stdout", Timestamps: true})
	for _, line := range strings.Split(strings.TrimSpace(stamped), "\n") {
		ts, _, ok := strings.Cut(line, " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); !ok || err != nil {
			t.Errorf("line %q has no timestamp: %v", line, err)
		}
	}
	a := j.Status.Attempts[0]
	if a.LogBytes != int64(len("out1\nout2\nerr1\nerr2\n")) || a.Truncated || a.Task == "" || a.Node == "" || a.StartedAt == nil || a.FinishedAt == nil {
		t.Errorf("attempt = %+v", a)
	}
}

func TestEnvironmentNamesTheAttempt(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command: sh(`echo "$SWARMJOB_JOB_ID $SWARMJOB_INDEX $SWARMJOB_ATTEMPT $GREETING"`),
		Env:     map[string]string{"GREETING": "hi"},
	}})
	waitTerminal(t, shared, j.ID, 30*time.Second)
	if got, want := logs(t, shared, j.ID, client.LogOptions{}), j.ID+" 0 0 hi\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestNonZeroExitFailsWithExitCode(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("echo bye; exit 3")}})
	j = waitTerminal(t, shared, j.ID, 30*time.Second)
	if j.Status.Phase != types.PhaseFailed || j.Status.Reason != "BackoffLimitExceeded" || j.Status.Failed != 1 {
		t.Fatalf("status = %+v, want Failed/BackoffLimitExceeded after 1 failure", j.Status)
	}
	if code, ok := j.ExitCode(); !ok || code != 3 {
		t.Errorf("exit code = %d, %v; want 3", code, ok)
	}
	if got := logs(t, shared, j.ID, client.LogOptions{}); got != "bye\n" {
		t.Errorf("output of a failed attempt = %q, want it kept", got)
	}
}

func TestMissingImageFailsWithSwarmError(t *testing.T) {
	t.Parallel()
	start := time.Now()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{Image: "swarmjob/no-such-image:1"}})
	j = waitTerminal(t, shared, j.ID, 10*time.Second)
	t.Logf("failed after %v", time.Since(start))
	if j.Status.Phase != types.PhaseFailed {
		t.Fatalf("phase = %s, want Failed", j.Status.Phase)
	}
	a := j.Status.Attempts[0]
	if !strings.Contains(a.Error, "No such image") || !strings.Contains(j.Status.Message, "No such image") {
		t.Errorf("attempt error %q / message %q, want Swarm's 'No such image'", a.Error, j.Status.Message)
	}
	if a.ExitCode != nil {
		t.Errorf("exit code = %d, want none for a rejected task", *a.ExitCode)
	}
}

func TestFailedAttemptIsRetried(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:      sh(`echo "attempt $SWARMJOB_ATTEMPT"; test "$SWARMJOB_ATTEMPT" = 1`),
		BackoffLimit: intp(2),
		Backoff:      &types.Backoff{InitialMs: int64p(200)},
	}})
	j = waitTerminal(t, shared, j.ID, 60*time.Second)
	if j.Status.Phase != types.PhaseSucceeded || len(j.Status.Attempts) != 2 || j.Status.Failed != 1 || j.Status.Succeeded != 1 {
		t.Fatalf("status = %+v, want Succeeded with 2 attempts", j.Status)
	}
	if a := j.Status.Attempts[0]; a.State != "failed" || a.ExitCode == nil || *a.ExitCode != 1 {
		t.Errorf("attempt 0 = %+v, want failed with exit 1", a)
	}
	gap := j.Status.Attempts[1].StartedAt.Sub(*j.Status.Attempts[0].FinishedAt)
	if gap < 200*time.Millisecond {
		t.Errorf("attempt 1 started %v after attempt 0 ended, want at least the 200ms backoff", gap)
	}
	if got := logs(t, shared, j.ID, client.LogOptions{}); got != "attempt 0\nattempt 1\n" {
		t.Errorf("all attempts' output = %q", got)
	}
	if got := logs(t, shared, j.ID, client.LogOptions{Attempt: intp(1)}); got != "attempt 1\n" {
		t.Errorf("attempt 1 output = %q", got)
	}
}

func TestDeadlineStopsAndKeepsOutput(t *testing.T) {
	t.Parallel()
	// The stop signal interrupts the wait; what the trap prints during
	// the grace period is kept too.
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command: sh("trap 'echo stopping; exit 0' TERM; echo started; sleep 60 & wait; echo never"),
		// Long enough for the container to start on a loaded machine.
		ActiveDeadlineSeconds: int64p(5),
		BackoffLimit:          intp(3),
	}})
	j = waitTerminal(t, shared, j.ID, 30*time.Second)
	if j.Status.Phase != types.PhaseFailed || j.Status.Reason != "DeadlineExceeded" {
		t.Fatalf("status = %+v, want Failed/DeadlineExceeded", j.Status)
	}
	if len(j.Status.Attempts) != 1 || j.Status.Attempts[0].State != "stopped" {
		t.Errorf("attempts = %+v, want one stopped attempt and no retry", j.Status.Attempts)
	}
	if took := j.Status.FinishedAt.Sub(*j.Status.StartedAt); took < 5*time.Second || took > 15*time.Second {
		t.Errorf("job ran %v, want about the 5s deadline", took)
	}
	if got := logs(t, shared, j.ID, client.LogOptions{}); got != "started\nstopping\n" {
		t.Errorf("output = %q, want what the attempt printed before the deadline and while it stopped", got)
	}
}

func TestCancelStopsTheJob(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 30*time.Second)
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command: sh("trap 'echo got TERM; sleep 1; echo saved; exit 3' TERM; echo started; sleep 60 & wait"),
	}})
	waitFor(t, 15*time.Second, "the attempt to run", func() (bool, error) {
		cur, err := shared.client.GetJob(ctx, j.ID)
		return err == nil && len(cur.Status.Attempts) == 1 && cur.Status.Attempts[0].State == "running", err
	})
	time.Sleep(300 * time.Millisecond) // let "started" reach the log
	if _, err := shared.client.CancelJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	j = waitTerminal(t, shared, j.ID, 20*time.Second)
	if j.Status.Phase != types.PhaseCancelled || j.Status.Failed != 0 {
		t.Fatalf("status = %+v, want Cancelled, no failure counted", j.Status)
	}
	// What it wrote after the stop signal is kept: the attempt is stopped
	// by an update that keeps its container until it exited.
	if got := logs(t, shared, j.ID, client.LogOptions{}); got != "started\ngot TERM\nsaved\n" {
		t.Errorf("output = %q, want the output before the cancel and during the stop", got)
	}
	if a := j.Status.Attempts[0]; a.State != "stopped" || a.Reason != "Cancelled" {
		t.Errorf("attempt = %+v, want stopped, Cancelled", a)
	}
}

func TestDeleteRemovesJobAndServices(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 30*time.Second)
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("sleep 60")}})
	waitFor(t, 15*time.Second, "a service for the job", func() (bool, error) {
		names, err := managedServices(ctx, j.ID)
		return len(names) == 1, err
	})
	if err := shared.client.DeleteJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.client.GetJob(ctx, j.ID); !client.IsNotFound(err) {
		t.Errorf("get after delete: err = %v, want not found", err)
	}
	waitFor(t, 15*time.Second, "the job's service to be removed", func() (bool, error) {
		names, err := managedServices(ctx, j.ID)
		return len(names) == 0, err
	})
}

func TestOutputOverTheCapIsTruncated(t *testing.T) {
	t.Parallel()
	// The shared server keeps 64 KiB per attempt.
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("yes 0123456789 | head -c 200000")}})
	j = waitTerminal(t, shared, j.ID, 30*time.Second)
	a := j.Status.Attempts[0]
	if !a.Truncated || a.LogBytes != 65536 {
		t.Errorf("attempt = %+v, want truncated at 65536 bytes", a)
	}
	if got := logs(t, shared, j.ID, client.LogOptions{}); len(got) != 65536 || !strings.HasPrefix(got, "0123456789\n0123456789\n") {
		t.Errorf("stored output has %d bytes, want 65536 of the job's output", len(got))
	}
}

// TestUnschedulableJobSaysWhyAndHitsItsDeadline: Swarm keeps a task that no
// node can take pending forever; the job shows Swarm's reason while it waits
// and its deadline ends it.
func TestUnschedulableJobSaysWhyAndHitsItsDeadline(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 30*time.Second)
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:               sh("echo never"),
		Placement:             &types.Placement{Constraints: []string{"node.labels.swarmjob-test-nowhere==1"}},
		ActiveDeadlineSeconds: int64p(3),
	}})
	waitFor(t, 10*time.Second, "the job to say why it waits", func() (bool, error) {
		cur, err := shared.client.GetJob(ctx, j.ID)
		return err == nil && strings.Contains(cur.Status.Message, "no suitable node"), err
	})
	j = waitTerminal(t, shared, j.ID, 20*time.Second)
	if j.Status.Phase != types.PhaseFailed || j.Status.Reason != "DeadlineExceeded" {
		t.Fatalf("status = %+v, want Failed/DeadlineExceeded", j.Status)
	}
}

func TestUnknownNetworkFailsWithTheEnginesError(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:  sh("true"),
		Networks: []string{"swarmjob-no-such-network"},
	}})
	j = waitTerminal(t, shared, j.ID, 20*time.Second)
	if j.Status.Phase != types.PhaseFailed || !strings.Contains(j.Status.Message, "swarmjob-no-such-network") {
		t.Fatalf("status = %+v, want Failed naming the network", j.Status)
	}
}

// TestStopGracePeriodOnSwarm: a job's stopGracePeriodSeconds is its
// service's stop grace period; a job that ignores SIGTERM is killed at its
// end, and its output until then is kept.
func TestStopGracePeriodOnSwarm(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 45*time.Second)
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:                sh("trap 'echo ignoring TERM' TERM; echo started; while :; do sleep 0.2; done"),
		StopGracePeriodSeconds: int64p(2),
	}})
	waitFor(t, 15*time.Second, "the attempt to run", func() (bool, error) {
		cur, err := shared.client.GetJob(ctx, j.ID)
		return err == nil && len(cur.Status.Attempts) == 1 && cur.Status.Attempts[0].State == "running", err
	})
	names, err := managedServices(ctx, j.ID)
	if err != nil || len(names) != 1 {
		t.Fatalf("services of the job: %v, %v", names, err)
	}
	svc, err := engine.ServiceInspect(ctx, names[0], dockerclient.ServiceInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g := svc.Service.Spec.TaskTemplate.ContainerSpec.StopGracePeriod; g == nil || *g != 2*time.Second {
		t.Errorf("service stop grace period = %v, want 2s", g)
	}
	time.Sleep(300 * time.Millisecond) // let "started" reach the log
	if _, err := shared.client.CancelJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	j = waitTerminal(t, shared, j.ID, 30*time.Second)
	if j.Status.Phase != types.PhaseCancelled || j.Status.Attempts[0].Reason != "Cancelled" {
		t.Fatalf("status = %+v, want Cancelled", j.Status)
	}
	// The trap ran (the signal came) and the loop went on until SIGKILL.
	if got := logs(t, shared, j.ID, client.LogOptions{}); !strings.HasPrefix(got, "started\nignoring TERM\n") {
		t.Errorf("output = %q, want the output until the kill", got)
	}
}
