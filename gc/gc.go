// Package gc is swarmjob's garbage collector: a loop of its own, apart from
// the controller, that removes managed Swarm services nobody will ever
// reconcile. The controller removes the services of the attempts it records;
// the collector catches what falls outside that path: services whose job
// record is gone, and services of attempts the store never recorded.
package gc

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/controller"
	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/metrics"
)

// Engine is the part of the Engine API the collector uses.
type Engine interface {
	ServiceList(ctx context.Context, options client.ServiceListOptions) (client.ServiceListResult, error)
	ServiceRemove(ctx context.Context, serviceID string, options client.ServiceRemoveOptions) (client.ServiceRemoveResult, error)
}

// JobReader is the part of the store the collector uses.
type JobReader interface {
	GetJobForSync(ctx context.Context, id string) (*jobs.Job, error)
}

// Expirer finds and deletes finished job records past their retention.
type Expirer interface {
	ExpiredJobs(ctx context.Context, now time.Time, maxAge time.Duration, keep, limit int) ([]string, error)
	// DeleteJob deletes the job and stores its job.deleted event in the
	// same transaction (jobs.Store).
	DeleteJob(ctx context.Context, id string, events ...jobs.Event) error
}

// Collector removes orphaned managed services. Create it with New.
type Collector struct {
	metrics  *metrics.Metrics
	engine   Engine
	instance string
	store    JobReader
	expirer  Expirer
	maxAge   time.Duration
	keep     int
	log      *slog.Logger
	now      func() time.Time
	grace    time.Duration
	interval time.Duration
}

// Config configures a Collector.
type Config struct {
	Engine Engine
	// Instance is this swarmjob instance's ID: only services labelled with
	// it are ever considered.
	Instance string
	Store    JobReader
	Logger   *slog.Logger
	Now      func() time.Time
	// Grace is how old an orphan must be before it is removed (default
	// 1m): a service younger than that may belong to a create whose store
	// write is in flight.
	Grace time.Duration
	// Interval between passes (default 30s).
	Interval time.Duration

	// Expirer, when set, deletes finished job records past their own
	// ttlSecondsAfterFinished, older than RetentionAge (0: no limit), or
	// beyond the RetentionCount newest finished jobs (0: no limit).
	Expirer        Expirer
	RetentionAge   time.Duration
	RetentionCount int
	// Metrics counts what was removed; nil records nothing.
	Metrics *metrics.Metrics
}

// New returns a Collector.
func New(cfg Config) *Collector {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Minute
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Instance == "" {
		panic("gc: Config.Instance is empty")
	}
	return &Collector{metrics: cfg.Metrics, engine: cfg.Engine, instance: cfg.Instance, store: cfg.Store, log: cfg.Logger, now: cfg.Now,
		grace: cfg.Grace, interval: cfg.Interval, expirer: cfg.Expirer, maxAge: cfg.RetentionAge, keep: cfg.RetentionCount}
}

// Run collects every interval until ctx ends.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		if n, err := c.Collect(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("garbage collection failed", "err", err)
		} else if n > 0 {
			c.log.Info("garbage collected orphaned services", "removed", n)
		}
		if n, err := c.Expire(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("expiring finished jobs failed", "err", err)
		} else if n > 0 {
			c.log.Info("expired finished jobs", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Collect makes one pass and returns how many services it removed.
func (c *Collector) Collect(ctx context.Context) (int, error) {
	res, err := c.engine.ServiceList(ctx, client.ServiceListOptions{
		Filters: controller.OwnedFilters(c.instance),
	})
	if err != nil {
		return 0, fmt.Errorf("listing services: %w", err)
	}
	removed := 0
	for _, s := range res.Items {
		orphan, why, err := c.orphaned(ctx, s)
		if err != nil {
			return removed, err
		}
		if !orphan {
			continue
		}
		if _, err := c.engine.ServiceRemove(ctx, s.ID, client.ServiceRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return removed, fmt.Errorf("removing service %s: %w", s.ID, err)
		}
		c.log.Info("removed orphaned service", "service", s.Spec.Name, "job", s.Spec.Labels[controller.LabelJob], "why", why)
		c.metrics.ServiceCollected(why)
		removed++
	}
	return removed, nil
}

// orphaned decides whether s is a service no one will reconcile.
func (c *Collector) orphaned(ctx context.Context, s swarm.Service) (bool, string, error) {
	jobID, index, attempt, ok := controller.AttemptOf(c.instance, s.Spec.Labels)
	if !ok {
		return false, "", nil // never touch what is not ours
	}
	if c.now().Sub(s.Meta.CreatedAt) < c.grace {
		return false, "", nil
	}
	j, err := c.store.GetJobForSync(ctx, jobID)
	if jobs.IsNotFound(err) {
		return true, "job record gone", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("reading job %s: %w", jobID, err)
	}
	for _, a := range j.Status.Attempts {
		if a.Index == index && a.Attempt == attempt {
			// The controller owns it; it removes it after recording.
			return false, "", nil
		}
	}
	// The store write of an attempt precedes its service's creation, so a
	// service older than the grace period without a record was never
	// swarmjob's to account for.
	return true, "attempt not recorded", nil
}

// expireBatch bounds the records one pass deletes.
const expireBatch = 500

// Expire deletes finished job records past their retention, with their
// attempts, logs and events, and returns how many it deleted.
func (c *Collector) Expire(ctx context.Context) (int, error) {
	if c.expirer == nil {
		return 0, nil
	}
	ids, err := c.expirer.ExpiredJobs(ctx, c.now(), c.maxAge, c.keep, expireBatch)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		expired := jobs.Event{Time: c.now(), Type: jobs.EventJobDeleted, JobID: id, Reason: "Expired"}
		if err := c.expirer.DeleteJob(ctx, id, expired); err != nil {
			return i, fmt.Errorf("deleting expired job %s: %w", id, err)
		}
		c.log.Info("expired job deleted", "job", id)
		c.metrics.JobExpired()
	}
	return len(ids), nil
}
