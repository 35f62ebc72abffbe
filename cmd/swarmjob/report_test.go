package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// TestReportWaitingSaysWhyOnce: while a job waits, run tells why on
// stderr, once per distinct reason, and stops when the job ends.
func TestReportWaitingSaysWhyOnce(t *testing.T) {
	states := []types.JobStatus{
		{Phase: types.PhasePending, Message: "attempt 0 of index 0 is pending: no suitable node"},
		{Phase: types.PhasePending, Message: "attempt 0 of index 0 is pending: no suitable node"},
		{Phase: types.PhasePending, Reason: "Queued", Message: "waiting for the tenant's cap on active attempts"},
		{Phase: types.PhaseSucceeded, Reason: "Completed"},
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(states)-1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(types.Job{ID: "j1", Status: states[i]})
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	env := &cliEnv{stderr: &stderr, stdout: &bytes.Buffer{}}
	reportWaiting(t.Context(), c, env, "j1")
	want := "swarmjob: job j1 pending: attempt 0 of index 0 is pending: no suitable node\n" +
		"swarmjob: job j1 pending: Queued: waiting for the tenant's cap on active attempts\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	if strings.Count(stderr.String(), "no suitable node") != 1 {
		t.Errorf("the same reason was reported twice")
	}
}
