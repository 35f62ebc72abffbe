package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/swarmjob/swarmjob/jobs"
)

type sink struct{ got []jobs.Event }

func (s *sink) announce(_ context.Context, events []jobs.Event) { s.got = append(s.got, events...) }

func TestCountEventsCountsAndPassesOn(t *testing.T) {
	m := New()
	next := &sink{}
	announce := m.CountEvents(next.announce)
	failed := jobs.Event{Type: jobs.EventAttemptFinished, State: jobs.AttemptFailed, Reason: jobs.AttemptReasonFailed}
	announce(t.Context(), []jobs.Event{failed, failed})
	announce(t.Context(), []jobs.Event{{Type: jobs.EventPhaseChanged, Phase: jobs.PhaseSucceeded, Reason: jobs.ReasonCompleted}})
	if len(next.got) != 3 {
		t.Fatalf("passed on %d events, want 3", len(next.got))
	}
	if got := testutil.ToFloat64(m.attemptsFinished.WithLabelValues("failed", "Failed")); got != 2 {
		t.Errorf("attempts finished = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.phases.WithLabelValues("Succeeded", "Completed")); got != 1 {
		t.Errorf("phase changes = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.events.WithLabelValues("attempt.finished")); got != 2 {
		t.Errorf("events = %v, want 2", got)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.SyncDone(time.Second, nil)
	m.Polled(time.Second, errors.New("x"))
	m.ServiceCollected("orphan")
	m.JobExpired()
	next := &sink{}
	m.CountEvents(next.announce)(t.Context(), []jobs.Event{{Type: jobs.EventJobCreated}})
	if len(next.got) != 1 {
		t.Errorf("nil metrics must still pass events on")
	}
}

func TestHandlerServesTheMetrics(t *testing.T) {
	m := New()
	m.SyncDone(3*time.Millisecond, nil)
	m.Polled(time.Millisecond, errors.New("engine down"))
	m.ServiceCollected("job record gone")
	m.JobExpired()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`swarmjob_syncs_total{result="ok"} 1`,
		`swarmjob_swarm_polls_total{result="error"} 1`,
		`swarmjob_gc_services_removed_total{reason="job record gone"} 1`,
		`swarmjob_gc_jobs_expired_total 1`,
		"swarmjob_sync_duration_seconds_bucket",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
