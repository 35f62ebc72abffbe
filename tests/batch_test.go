package tests

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// sampleActive samples the number of live managed services of a job every
// 100ms until stop is closed, and returns the maximum seen.
func sampleActive(t *testing.T, id string, stop <-chan struct{}) *atomic.Int64 {
	t.Helper()
	var peak atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			names, err := managedServices(context.Background(), id)
			if err == nil && int64(len(names)) > peak.Load() {
				peak.Store(int64(len(names)))
			}
		}
	}()
	return &peak
}

// liveAttempts counts a job's attempts that have not finished.
func liveAttempts(j *types.Job) int {
	n := 0
	for _, a := range j.Status.Attempts {
		if a.FinishedAt == nil {
			n++
		}
	}
	return n
}

func TestIndexedJobRunsEachIndexOnceWithinParallelism(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:        sh(`echo "index $SWARMJOB_INDEX"; sleep 0.5`),
		Completions:    intp(10),
		Parallelism:    intp(3),
		CompletionMode: "Indexed",
	}})
	stop := make(chan struct{})
	peak := sampleActive(t, j.ID, stop)
	j = waitTerminal(t, shared, j.ID, 2*time.Minute)
	close(stop)
	if j.Status.Phase != types.PhaseSucceeded || j.Status.Succeeded != 10 || j.Status.CompletedIndexes != "0-9" {
		t.Fatalf("status = %+v, want Succeeded with indexes 0-9", j.Status)
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak of %d live services, want at most parallelism 3 (and some parallelism seen)", p)
	}
	res, err := shared.client.Results(testCtx(t, 10*time.Second), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 10 {
		t.Fatalf("results have %d items, want 10", len(res.Items))
	}
	for i, it := range res.Items {
		if it.Index != i || it.State != "Succeeded" || it.Attempts != 1 || it.ExitCode == nil || *it.ExitCode != 0 {
			t.Errorf("result %d = %+v", i, it)
		}
		if got, want := logs(t, shared, j.ID, client.LogOptions{Index: intp(i)}), fmt.Sprintf("index %d\n", i); got != want {
			t.Errorf("index %d output = %q, want %q", i, got, want)
		}
	}
}

func TestFailurePolicyFailJobStopsAtTheFirst42(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		// Index 1 exits 42; the others would run long.
		Command:        sh(`if [ "$SWARMJOB_INDEX" = 1 ]; then exit 42; fi; sleep 60`),
		Completions:    intp(4),
		Parallelism:    intp(2),
		CompletionMode: "Indexed",
		BackoffLimit:   intp(5),
		FailurePolicy: &types.FailurePolicy{Rules: []types.FailureRule{
			{Action: "FailJob", OnExitCodes: &types.ExitCodes{Operator: "In", Values: []int{42}}},
		}},
	}})
	j = waitTerminal(t, shared, j.ID, time.Minute)
	if j.Status.Phase != types.PhaseFailed || j.Status.Reason != "FailurePolicy" {
		t.Fatalf("status = %+v, want Failed/FailurePolicy", j.Status)
	}
	if n := len(j.Status.Attempts); n != 2 {
		t.Errorf("%d attempts, want exactly the two first indexes and no retry: %+v", n, j.Status.Attempts)
	}
	for _, a := range j.Status.Attempts {
		switch a.Index {
		case 1:
			if a.ExitCode == nil || *a.ExitCode != 42 {
				t.Errorf("index 1 attempt = %+v, want exit 42", a)
			}
		default:
			if a.State != "stopped" || a.Reason != "JobFinished" {
				t.Errorf("attempt %+v, want stopped because the job finished", a)
			}
		}
	}
}

func TestPerIndexBackoffLimit(t *testing.T) {
	t.Parallel()
	// Index 2 always fails; the others succeed. Each index may fail once.
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:              sh(`echo "i$SWARMJOB_INDEX a$SWARMJOB_ATTEMPT"; test "$SWARMJOB_INDEX" != 2`),
		Completions:          intp(4),
		Parallelism:          intp(4),
		CompletionMode:       "Indexed",
		BackoffLimitPerIndex: intp(1),
		Backoff:              &types.Backoff{InitialMs: int64p(100)},
	}})
	j = waitTerminal(t, shared, j.ID, time.Minute)
	if j.Status.Phase != types.PhaseFailed || j.Status.Reason != "FailedIndexes" ||
		j.Status.CompletedIndexes != "0-1,3" || j.Status.FailedIndexes != "2" {
		t.Fatalf("status = %+v, want Failed/FailedIndexes with 0-1,3 done and 2 failed", j.Status)
	}
	perIndex := map[int]int{}
	for _, a := range j.Status.Attempts {
		perIndex[a.Index]++
	}
	if perIndex[2] != 2 || perIndex[0] != 1 || perIndex[1] != 1 || perIndex[3] != 1 {
		t.Errorf("attempts per index = %v, want index 2 tried twice (limit 1) and the others once", perIndex)
	}
	if got := logs(t, shared, j.ID, client.LogOptions{Index: intp(2)}); got != "i2 a0\ni2 a1\n" {
		t.Errorf("index 2 output = %q", got)
	}
}

func TestSuccessPolicyStopsTheRest(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		// Index 0 is quick; the others would take a minute.
		Command:        sh(`if [ "$SWARMJOB_INDEX" = 0 ]; then echo leader done; exit 0; fi; sleep 60`),
		Completions:    intp(3),
		Parallelism:    intp(3),
		CompletionMode: "Indexed",
		SuccessPolicy:  &types.SuccessPolicy{Rules: []types.SuccessRule{{SucceededIndexes: "0"}}},
	}})
	j = waitTerminal(t, shared, j.ID, time.Minute)
	if j.Status.Phase != types.PhaseSucceeded || j.Status.Reason != "SuccessPolicy" || j.Status.CompletedIndexes != "0" {
		t.Fatalf("status = %+v, want Succeeded/SuccessPolicy with index 0", j.Status)
	}
	if took := j.Status.FinishedAt.Sub(*j.Status.StartedAt); took > 30*time.Second {
		t.Errorf("job took %v; the remaining attempts were not stopped", took)
	}
	for _, a := range j.Status.Attempts {
		if a.Index != 0 && (a.State != "stopped" || a.Reason != "JobFinished") {
			t.Errorf("attempt %+v, want stopped because the job finished", a)
		}
	}
}

func TestSuspendThenResumeCompletes(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:        sh(`echo "i$SWARMJOB_INDEX a$SWARMJOB_ATTEMPT"; sleep 3`),
		Completions:    intp(4),
		Parallelism:    intp(2),
		CompletionMode: "Indexed",
	}})
	waitFor(t, 30*time.Second, "two attempts to run", func() (bool, error) {
		cur, err := shared.client.GetJob(ctx, j.ID)
		return err == nil && liveAttempts(cur) == 2 && cur.Status.Attempts[0].State == "running", err
	})
	if _, err := shared.client.SuspendJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the job to be Suspended with no service", func() (bool, error) {
		cur, err := shared.client.GetJob(ctx, j.ID)
		if err != nil {
			return false, err
		}
		names, err := managedServices(ctx, j.ID)
		return cur.Status.Phase == types.PhaseSuspended && len(names) == 0, err
	})
	susp, _ := shared.client.GetJob(ctx, j.ID)
	if susp.Status.Failed != 0 || susp.Status.Active != 0 {
		t.Errorf("suspended status = %+v, want no failure counted and nothing active", susp.Status)
	}
	time.Sleep(time.Second)
	if cur, _ := shared.client.GetJob(ctx, j.ID); len(cur.Status.Attempts) != len(susp.Status.Attempts) {
		t.Errorf("attempts started while suspended")
	}
	if _, err := shared.client.ResumeJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	j = waitTerminal(t, shared, j.ID, 2*time.Minute)
	if j.Status.Phase != types.PhaseSucceeded || j.Status.Succeeded != 4 || j.Status.Failed != 0 || j.Status.CompletedIndexes != "0-3" {
		t.Fatalf("status = %+v, want Succeeded 4/4 without failures", j.Status)
	}
	suspended := 0
	for _, a := range j.Status.Attempts {
		if a.Reason == "Suspended" {
			suspended++
		}
	}
	if suspended != 2 || len(j.Status.Attempts) != 6 {
		t.Errorf("attempts = %d with %d stopped by the suspend, want 6 and 2", len(j.Status.Attempts), suspended)
	}
	var sawSuspended bool
	for _, c := range j.Status.Conditions {
		if c.Type == "Suspended" {
			sawSuspended = c.Status == "False"
		}
	}
	if !sawSuspended {
		t.Errorf("conditions = %+v, want Suspended=False after the resume", j.Status.Conditions)
	}
}

func TestRaisingParallelismTakesEffect(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:     sh(`sleep 4`),
		Completions: intp(6),
		Parallelism: intp(1),
	}})
	waitFor(t, 30*time.Second, "the first attempt", func() (bool, error) {
		cur, err := shared.client.GetJob(ctx, j.ID)
		return err == nil && liveAttempts(cur) == 1, err
	})
	if _, err := shared.client.PatchJob(ctx, j.ID, types.JobPatch{Parallelism: intp(3)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "three attempts at once", func() (bool, error) {
		cur, err := shared.client.GetJob(ctx, j.ID)
		return err == nil && liveAttempts(cur) == 3, err
	})
	j = waitTerminal(t, shared, j.ID, 2*time.Minute)
	if j.Status.Phase != types.PhaseSucceeded || j.Status.Succeeded != 6 || len(j.Status.Attempts) != 6 {
		t.Fatalf("status = %+v, want Succeeded with 6 attempts", j.Status)
	}
	if j.Spec.Parallelism == nil || *j.Spec.Parallelism != 3 {
		t.Errorf("spec parallelism = %v, want 3", j.Spec.Parallelism)
	}
	// A finished job can no longer be changed.
	if _, err := shared.client.PatchJob(ctx, j.ID, types.JobPatch{Parallelism: intp(1)}); err == nil || !strings.Contains(err.Error(), "Succeeded") {
		t.Errorf("patching a finished job: err = %v, want a conflict naming its phase", err)
	}
}
