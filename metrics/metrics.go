// Package metrics holds swarmjob's Prometheus metrics: what the controller,
// the observer and the garbage collector do, and the events of jobs. Every
// method is safe on a nil *Metrics, which records nothing, so components
// can be built without metrics in tests.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/swarmjob/swarmjob/jobs"
)

// Metrics is the set of swarmjob's metrics in their own registry.
type Metrics struct {
	registry         *prometheus.Registry
	events           *prometheus.CounterVec
	attemptsFinished *prometheus.CounterVec
	phases           *prometheus.CounterVec
	syncs            *prometheus.CounterVec
	syncDuration     prometheus.Histogram
	polls            *prometheus.CounterVec
	pollDuration     prometheus.Histogram
	gcRemoved        *prometheus.CounterVec
	jobsExpired      prometheus.Counter
}

// New returns the metrics, registered with a new registry together with the
// Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmjob_events_total", Help: "Job events recorded, by type.",
		}, []string{"type"}),
		attemptsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmjob_attempts_finished_total", Help: "Attempts whose outcome was recorded, by state and reason.",
		}, []string{"state", "reason"}),
		phases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmjob_job_phase_changes_total", Help: "Job phase changes, by new phase and reason.",
		}, []string{"phase", "reason"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmjob_syncs_total", Help: "Job syncs of the controller, by result (ok or error).",
		}, []string{"result"}),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "swarmjob_sync_duration_seconds", Help: "Duration of one job sync, log capture included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmjob_swarm_polls_total", Help: "Polls of Swarm's services and tasks, by result (ok or error).",
		}, []string{"result"}),
		pollDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "swarmjob_swarm_poll_duration_seconds", Help: "Duration of one poll of Swarm.",
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 8),
		}),
		gcRemoved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "swarmjob_gc_services_removed_total", Help: "Orphaned services removed by the garbage collector, by reason.",
		}, []string{"reason"}),
		jobsExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "swarmjob_gc_jobs_expired_total", Help: "Finished jobs deleted for their TTL or the server's retention.",
		}),
	}
	m.registry.MustRegister(m.events, m.attemptsFinished, m.phases, m.syncs, m.syncDuration,
		m.polls, m.pollDuration, m.gcRemoved, m.jobsExpired,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Registry returns the registry, for tests and for extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// SyncDone records one controller sync.
func (m *Metrics) SyncDone(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.syncs.WithLabelValues(result(err)).Inc()
	m.syncDuration.Observe(d.Seconds())
}

// Polled records one poll of Swarm.
func (m *Metrics) Polled(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(result(err)).Inc()
	m.pollDuration.Observe(d.Seconds())
}

// ServiceCollected records a service removed by the garbage collector.
func (m *Metrics) ServiceCollected(reason string) {
	if m == nil {
		return
	}
	m.gcRemoved.WithLabelValues(reason).Inc()
}

// JobExpired records a finished job deleted for its retention.
func (m *Metrics) JobExpired() {
	if m == nil {
		return
	}
	m.jobsExpired.Inc()
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// CountEvents returns an announcer of stored events (sqlite.DB.OnEvents)
// that counts them and passes them on to next (nil: to nothing).
func (m *Metrics) CountEvents(next func(context.Context, []jobs.Event)) func(context.Context, []jobs.Event) {
	return func(ctx context.Context, events []jobs.Event) {
		if m != nil {
			for _, e := range events {
				m.count(e)
			}
		}
		if next != nil {
			next(ctx, events)
		}
	}
}

func (m *Metrics) count(e jobs.Event) {
	m.events.WithLabelValues(string(e.Type)).Inc()
	switch e.Type {
	case jobs.EventAttemptFinished:
		m.attemptsFinished.WithLabelValues(string(e.State), e.Reason).Inc()
	case jobs.EventPhaseChanged:
		m.phases.WithLabelValues(string(e.Phase), e.Reason).Inc()
	}
}
