//go:build cluster

package tests

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// TestManagerDockerdRestartedMidRun kills the manager's dockerd (the Engine
// the server talks to, and the swarm's only manager) while jobs run on the
// workers, and starts it again: every job finishes once, with its output,
// and no service is created twice or left behind.
func TestManagerDockerdRestartedMidRun(t *testing.T) {
	created := watchServiceCreations(t)
	s, err := startServer(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	ctx := testCtx(t, 5*time.Minute)
	var ids []string
	for i := range 4 {
		j := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{
			Command:   sh(fmt.Sprintf("echo job %d; sleep 8; echo done %d", i, i)),
			Placement: &types.Placement{Constraints: []string{"node.labels.swarmjob-test-role==worker"}},
		}})
		ids = append(ids, j.ID)
	}
	waitFor(t, time.Minute, "every job to run", func() (bool, error) {
		for _, id := range ids {
			j, err := s.client.GetJob(ctx, id)
			if err != nil || len(j.Status.Attempts) != 1 || j.Status.Attempts[0].State != "running" {
				return false, err
			}
		}
		return true, nil
	})
	clusterNodeCmd(t, "kill", "n1")
	time.Sleep(3 * time.Second)
	clusterNodeCmd(t, "start", "n1")
	for i, id := range ids {
		j := waitTerminal(t, s, id, 3*time.Minute)
		if j.Status.Phase != types.PhaseSucceeded || len(j.Status.Attempts) != 1 {
			t.Errorf("job %d: %+v, want Succeeded with one attempt", i, j.Status)
			continue
		}
		if got, want := logs(t, s, id, client.LogOptions{}), fmt.Sprintf("job %d\ndone %d\n", i, i); got != want {
			t.Errorf("job %d output = %q, want %q", i, got, want)
		}
	}
	time.Sleep(time.Second)
	for _, id := range ids {
		for name, n := range created.of(id) {
			if n != 1 {
				t.Errorf("service %s created %d times", name, n)
			}
		}
	}
}
