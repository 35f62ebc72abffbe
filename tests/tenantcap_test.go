package tests

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
)

// TestTenantCapQueuesThenRuns: a tenant capped at 2 active attempts submits
// three jobs; the third waits Pending/Queued while two run, then runs, and
// all three succeed. Another tenant is not held back.
func TestTenantCapQueuesThenRuns(t *testing.T) {
	t.Parallel()
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("tenants:\n  capped:\n    maxActiveAttempts: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--policy", pol)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	ctx := testCtx(t, 2*time.Minute)
	capped := tenantClient(t, s, "capped", "jobs:read", "jobs:write")
	free := tenantClient(t, s, "free", "jobs:read", "jobs:write")
	req := types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage, Command: sh("sleep 4")}}
	var ids []string
	for range 3 {
		j, err := capped.CreateJob(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
		t.Cleanup(func() { assertNoServices(t, j.ID) })
	}
	waitFor(t, 30*time.Second, "two capped jobs running and the third queued", func() (bool, error) {
		running, queued := 0, 0
		for _, id := range ids {
			j, err := capped.GetJob(ctx, id)
			if err != nil {
				return false, err
			}
			switch {
			case len(j.Status.Attempts) == 1 && j.Status.Attempts[0].FinishedAt == nil:
				running++
			case len(j.Status.Attempts) == 0 && j.Status.Reason == "Queued" && j.Status.Phase == types.PhasePending:
				queued++
			}
		}
		return running == 2 && queued == 1, nil
	})
	other, err := free.CreateJob(ctx, types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage, Command: sh("true")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { assertNoServices(t, other.ID) })
	if j := waitTerminalWith(t, free, other.ID); j.Status.Phase != types.PhaseSucceeded {
		t.Errorf("other tenant's job: %+v", j.Status)
	}
	for _, id := range ids {
		if j := waitTerminalWith(t, capped, id); j.Status.Phase != types.PhaseSucceeded || len(j.Status.Attempts) != 1 {
			t.Errorf("capped job %s: %+v", id, j.Status)
		}
	}
}
