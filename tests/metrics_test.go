package tests

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
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

// TestMetricsOnTheirOwnListener: with --metrics-listen, /metrics is served
// there and no longer on the API's listener.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--metrics-listen", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	if status, body := rawRequest(t, s, "GET", "/metrics", "", nil); status != http.StatusNotFound {
		t.Errorf("GET /metrics on the API listener: %d %s, want 404", status, body)
	}
	req, err := http.NewRequestWithContext(testCtx(t, 10*time.Second), "GET", "http://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "swarmjob_swarm_polls_total") {
		t.Errorf("GET /metrics on --metrics-listen: %d %.200s", resp.StatusCode, b)
	}
}
