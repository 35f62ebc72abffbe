package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
)

// TestMetricsCountWhatHappened: /metrics (no token) reports the attempts
// that finished and the polls of Swarm.
func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("exit 5")}})
	waitTerminal(t, shared, j.ID, 30*time.Second)
	status, body := rawRequest(t, shared, "GET", "/metrics", "", nil)
	if status != 200 {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	for _, want := range []string{
		`swarmjob_attempts_finished_total{reason="Failed",state="failed"}`,
		`swarmjob_job_phase_changes_total{phase="Failed",reason="BackoffLimitExceeded"}`,
		`swarmjob_swarm_polls_total{result="ok"}`,
		`swarmjob_syncs_total{result="ok"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
