// Package controller is swarmjob's reconciliation loop. A typed rate-limited
// workqueue holds job IDs; workers run syncJob, which compares what the store
// recorded with what Swarm shows now and acts: create an attempt's service,
// capture a finished attempt's output, record it, and only then remove the
// service. An observer polls Swarm with a constant number of calls per tick,
// and Engine events and a periodic resync only enqueue job IDs.
package controller

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/client"
	"k8s.io/client-go/util/workqueue"

	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/metrics"
	"github.com/swarmjob/swarmjob/results"
)

// Config configures a Controller. Engine, Store and Hub are required.
type Config struct {
	Engine Engine
	// Instance is the ID of this swarmjob instance, kept in its store; it
	// labels every service and scopes everything the controller watches.
	Instance string
	Store    jobs.Store
	// Hub is notified whenever a job's record changes.
	Hub    *jobs.Hub
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PollFast is the poll interval while managed services exist (default
	// 100ms), PollSlow the one when none do (default 2s).
	PollFast, PollSlow time.Duration
	// Resync is the interval of the full resync from the store (default 30s).
	Resync time.Duration
	// MaxLogBytes caps the output kept per attempt of the jobs that have
	// no maxLogBytes of their own (default 1 MiB).
	MaxLogBytes int64
	// Metrics records syncs and polls; nil records nothing.
	Metrics *metrics.Metrics
	// TenantLimit returns the cap on a tenant's active attempts (0: none).
	// When it is set, Tenants must be set too.
	TenantLimit func(tenant string) int
	// Tenants counts a tenant's active attempts.
	Tenants TenantCounter
	// NodeLostGrace is how long a node may be down before the attempts
	// running on it are marked lost and replaced (default 30s).
	NodeLostGrace time.Duration
	// JobAPI, when set, gives the attempts of jobs with childJobs the
	// API's URL, their token and the network to reach it. Nil: none.
	JobAPI *JobAPI
}

// TenantCounter counts the active attempts of a tenant's jobs.
type TenantCounter interface {
	ActiveAttempts(ctx context.Context, tenant string) (int, error)
}

// Controller runs jobs as Swarm services. Create it with NewController and
// start it with Run. Enqueue may be called from any goroutine.
type Controller struct {
	engine   Engine
	instance string
	metrics  *metrics.Metrics

	jobAPI      *JobAPI
	tenantLimit func(string) int
	tenants     TenantCounter
	// tenantLocks serialise the syncs of one capped tenant's jobs, so that
	// two workers cannot both spend the same free slot; queued holds the
	// jobs waiting for a slot, woken when one of the tenant's attempts ends.
	tenantMu    sync.Mutex
	tenantLocks map[string]*sync.Mutex
	queued      map[string]map[string]bool
	store       jobs.Store
	hub         *jobs.Hub
	log         *slog.Logger
	now         func() time.Time
	resync      time.Duration
	maxLog      int64
	queue       workqueue.TypedRateLimitingInterface[string]
	observer    *observer
}

// NewController returns a Controller; it does nothing until Run.
func NewController(cfg Config) *Controller {
	if cfg.Instance == "" {
		panic("controller: Config.Instance is empty")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollFast <= 0 {
		cfg.PollFast = 100 * time.Millisecond
	}
	if cfg.PollSlow <= 0 {
		cfg.PollSlow = 2 * time.Second
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 30 * time.Second
	}
	if cfg.NodeLostGrace <= 0 {
		cfg.NodeLostGrace = 30 * time.Second
	}
	if cfg.MaxLogBytes <= 0 {
		cfg.MaxLogBytes = results.DefaultMaxBytes
	}
	c := &Controller{
		engine:   cfg.Engine,
		instance: cfg.Instance,
		metrics:  cfg.Metrics,

		jobAPI:      cfg.JobAPI,
		tenantLimit: cfg.TenantLimit,
		tenants:     cfg.Tenants,
		tenantLocks: map[string]*sync.Mutex{},
		queued:      map[string]map[string]bool{},
		store:       cfg.Store,
		hub:         cfg.Hub,
		log:         cfg.Logger,
		now:         cfg.Now,
		resync:      cfg.Resync,
		maxLog:      cfg.MaxLogBytes,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "jobs"}),
	}
	c.observer = newObserver(cfg.Engine, cfg.Instance, cfg.Logger, cfg.PollFast, cfg.PollSlow, cfg.NodeLostGrace, cfg.Now, c.Enqueue)
	c.observer.metrics = cfg.Metrics
	return c
}

// Enqueue asks for job id to be synced. It never blocks.
func (c *Controller) Enqueue(id string) { c.queue.Add(id) }

// Run starts the observer, the event watcher, the resync loop and workers
// workers, and blocks until ctx is done and they have stopped. Jobs are
// synced only after Swarm was observed once.
func (c *Controller) Run(ctx context.Context, workers int) error {
	var wg sync.WaitGroup
	defer func() {
		c.queue.ShutDown()
		wg.Wait()
	}()
	wg.Go(func() { c.observer.run(ctx) })
	wg.Go(func() { c.watchEvents(ctx) })

	c.log.Info("waiting for the first observation of swarm")
	select {
	case <-ctx.Done():
		return nil
	case <-c.observer.ready:
	}
	wg.Go(func() { c.resyncLoop(ctx) })
	for range workers {
		wg.Go(func() { c.runWorker(ctx) })
	}
	c.log.Info("controller started", "workers", workers)
	<-ctx.Done()
	c.log.Info("controller stopping")
	return nil
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNextWorkItem(ctx) {
	}
}

// processNextWorkItem syncs one job. It returns false once the queue shuts down.
func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	id, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(id)
	start := time.Now()
	err := c.syncJob(ctx, id)
	c.metrics.SyncDone(time.Since(start), err)
	switch {
	case err != nil && ctx.Err() == nil:
		c.log.Warn("sync failed; retrying", "job", id, "err", err, "retries", c.queue.NumRequeues(id))
		c.queue.AddRateLimited(id)
	case err != nil:
		// Shutting down: the next start resyncs everything.
	default:
		c.queue.Forget(id)
	}
	return true
}

// resyncLoop enqueues every job the controller still has work on, at start
// and then every resync interval, so that nothing depends on having seen an
// event.
func (c *Controller) resyncLoop(ctx context.Context) {
	ticker := time.NewTicker(c.resync)
	defer ticker.Stop()
	for {
		ids, err := c.store.UnfinishedJobIDs(ctx)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("resync failed", "err", err)
		}
		for _, id := range ids {
			c.Enqueue(id)
		}
		// Jobs with services but no work left in the store (their record
		// deleted) are enqueued too; syncJob finds nothing to do for them
		// and the garbage collector removes such orphans.
		for _, id := range c.observer.jobIDs() {
			c.Enqueue(id)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// watchEvents turns Engine events about managed services and containers into
// enqueued jobs and immediate polls. Events are hints only: everything they
// trigger also happens through polling, a little later.
func (c *Controller) watchEvents(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		filters := OwnedFilters(c.instance).Add("type", "service", "container")
		res := c.engine.Events(ctx, client.EventsListOptions{Filters: filters})
		connected := time.Now()
		err := c.consumeEvents(ctx, res)
		if ctx.Err() != nil {
			return
		}
		if time.Since(connected) > time.Minute {
			backoff = 100 * time.Millisecond // it was healthy: reconnect fast
		}
		c.log.Debug("engine event stream ended; reconnecting", "err", err, "after", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (c *Controller) consumeEvents(ctx context.Context, res client.EventsResult) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-res.Err:
			if err == nil {
				err = errors.New("event stream closed")
			}
			return err
		case m := <-res.Messages:
			if id := m.Actor.Attributes[LabelJob]; id != "" {
				c.Enqueue(id)
			}
			if m.Action == "die" {
				c.observer.Burst()
			} else {
				c.observer.Kick()
			}
		}
	}
}

// tenantBudget locks the tenant's syncs when its active attempts are capped
// and returns how many more it may start now, with the unlock to call when
// the sync is done; unlimited and a no-op unlock otherwise.
func (c *Controller) tenantBudget(ctx context.Context, tenant string) (int, func(), error) {
	if c.tenantLimit == nil || c.tenants == nil {
		return unlimited, func() {}, nil
	}
	limit := c.tenantLimit(tenant)
	if limit <= 0 {
		return unlimited, func() {}, nil
	}
	c.tenantMu.Lock()
	mu, ok := c.tenantLocks[tenant]
	if !ok {
		mu = &sync.Mutex{}
		c.tenantLocks[tenant] = mu
	}
	c.tenantMu.Unlock()
	mu.Lock()
	active, err := c.tenants.ActiveAttempts(ctx, tenant)
	if err != nil {
		mu.Unlock()
		return 0, nil, err
	}
	return max(limit-active, 0), mu.Unlock, nil
}

// setQueued records whether job id of tenant waits for a slot.
func (c *Controller) setQueued(tenant, id string, queued bool) {
	c.tenantMu.Lock()
	defer c.tenantMu.Unlock()
	if queued {
		if c.queued[tenant] == nil {
			c.queued[tenant] = map[string]bool{}
		}
		c.queued[tenant][id] = true
		return
	}
	delete(c.queued[tenant], id)
}

// WakeQueued enqueues every job that waits for a slot of its tenant: after
// the policy changed, a raised or lifted cap lets them start now rather
// than at the next resync.
func (c *Controller) WakeQueued() {
	c.tenantMu.Lock()
	tenants := slices.Collect(maps.Keys(c.queued))
	c.tenantMu.Unlock()
	for _, t := range tenants {
		c.wakeQueued(t)
	}
}

// wakeQueued enqueues the jobs of tenant that wait for a slot.
func (c *Controller) wakeQueued(tenant string) {
	c.tenantMu.Lock()
	ids := make([]string, 0, len(c.queued[tenant]))
	for id := range c.queued[tenant] {
		ids = append(ids, id)
	}
	c.tenantMu.Unlock()
	for _, id := range ids {
		c.Enqueue(id)
	}
}
