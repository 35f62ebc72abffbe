package gc

// The pruner deletes what the store keeps only for a while: the events of
// the events stream once they are older than their retention, and the
// idempotency keys of job submission once they expired. It runs as a loop
// of its own beside the Collector (which expires whole job records).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/swarmjob/swarmjob/jobs"
)

// PruneStore is what the pruner deletes from.
type PruneStore interface {
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
	PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error)
}

// Bounds of the default interval: a tenth of the shorter retention, within
// these.
const (
	minPruneInterval = time.Second
	maxPruneInterval = 5 * time.Minute
)

// PrunerConfig holds the dependencies and settings of a Pruner. Store is
// required.
type PrunerConfig struct {
	Store PruneStore
	// Events is how long events are kept. Default:
	// jobs.DefaultEventRetention.
	Events time.Duration
	// IdempotencyKeys is how long keys are kept. Default and minimum:
	// jobs.IdempotencyKeyTTL, as the API answers from keys that young.
	IdempotencyKeys time.Duration
	// Interval is the time between passes. Default: a tenth of the shorter
	// retention, between 1s and 5m.
	Interval time.Duration
	Logger   *slog.Logger // default: discard
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Pruner deletes expired events and idempotency keys, once per interval.
type Pruner struct {
	store    PruneStore
	events   time.Duration
	keys     time.Duration
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time
}

// NewPruner returns a Pruner for cfg with defaults filled in. It panics if
// cfg.Store is nil, a wiring error.
func NewPruner(cfg PrunerConfig) *Pruner {
	if cfg.Store == nil {
		panic("gc: PrunerConfig.Store is nil")
	}
	p := &Pruner{store: cfg.Store, events: cfg.Events, keys: cfg.IdempotencyKeys, interval: cfg.Interval, log: cfg.Logger, now: cfg.Now}
	if p.events <= 0 {
		p.events = jobs.DefaultEventRetention
	}
	p.keys = max(p.keys, jobs.IdempotencyKeyTTL)
	if p.interval <= 0 {
		p.interval = min(max(min(p.events, p.keys)/10, minPruneInterval), maxPruneInterval)
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// Run prunes at once and then every interval until ctx ends. A failed pass
// is logged and retried at the next interval.
func (p *Pruner) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		if err := p.Prune(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("pruning failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune makes one pass: it deletes the events older than the event
// retention and the idempotency keys older than theirs. It tries both and
// returns their errors joined.
func (p *Pruner) Prune(ctx context.Context) error {
	now := p.now()
	events, errEvents := p.store.PruneEvents(ctx, now.Add(-p.events))
	if errEvents != nil {
		errEvents = fmt.Errorf("pruning events: %w", errEvents)
	}
	keys, errKeys := p.store.PruneIdempotencyKeys(ctx, now.Add(-p.keys))
	if errKeys != nil {
		errKeys = fmt.Errorf("pruning idempotency keys: %w", errKeys)
	}
	if events > 0 || keys > 0 {
		p.log.Debug("pruned", "events", events, "idempotency_keys", keys)
	}
	return errors.Join(errEvents, errKeys)
}
