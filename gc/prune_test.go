package gc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

// fakePruneStore records the bounds it was asked to prune before.
type fakePruneStore struct {
	mu        sync.Mutex
	events    []time.Time
	keys      []time.Time
	eventsErr error
	keysErr   error
}

func (f *fakePruneStore) PruneEvents(_ context.Context, before time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, before)
	return 3, f.eventsErr
}

func (f *fakePruneStore) PruneIdempotencyKeys(_ context.Context, before time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, before)
	return 1, f.keysErr
}

func (f *fakePruneStore) passes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.events)
}

var pruneNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestPruneBounds(t *testing.T) {
	tests := []struct {
		name         string
		cfg          PrunerConfig
		wantEvents   time.Time
		wantKeys     time.Time
		wantInterval time.Duration
	}{
		{name: "defaults", wantEvents: pruneNow.Add(-24 * time.Hour), wantKeys: pruneNow.Add(-24 * time.Hour), wantInterval: 5 * time.Minute},
		{name: "short event retention", cfg: PrunerConfig{Events: 30 * time.Second},
			wantEvents: pruneNow.Add(-30 * time.Second), wantKeys: pruneNow.Add(-24 * time.Hour), wantInterval: 3 * time.Second},
		{name: "tiny event retention", cfg: PrunerConfig{Events: time.Millisecond},
			wantEvents: pruneNow.Add(-time.Millisecond), wantKeys: pruneNow.Add(-24 * time.Hour), wantInterval: time.Second},
		{name: "keys are kept at least their TTL", cfg: PrunerConfig{IdempotencyKeys: time.Hour, Events: 48 * time.Hour},
			wantEvents: pruneNow.Add(-48 * time.Hour), wantKeys: pruneNow.Add(-jobs.IdempotencyKeyTTL), wantInterval: 5 * time.Minute},
		{name: "explicit interval", cfg: PrunerConfig{Interval: time.Minute},
			wantEvents: pruneNow.Add(-24 * time.Hour), wantKeys: pruneNow.Add(-24 * time.Hour), wantInterval: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakePruneStore{}
			tt.cfg.Store = store
			tt.cfg.Now = func() time.Time { return pruneNow }
			p := NewPruner(tt.cfg)
			if err := p.Prune(t.Context()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]time.Time{tt.wantEvents}, store.events); diff != "" {
				t.Errorf("events pruned before (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]time.Time{tt.wantKeys}, store.keys); diff != "" {
				t.Errorf("keys pruned before (-want +got):\n%s", diff)
			}
			if p.interval != tt.wantInterval {
				t.Errorf("interval = %v, want %v", p.interval, tt.wantInterval)
			}
		})
	}
}

func TestPruneTriesBothAndJoinsErrors(t *testing.T) {
	store := &fakePruneStore{eventsErr: errors.New("events locked"), keysErr: errors.New("keys locked")}
	err := NewPruner(PrunerConfig{Store: store, Now: func() time.Time { return pruneNow }}).Prune(t.Context())
	if err == nil || !strings.Contains(err.Error(), "pruning events: events locked") || !strings.Contains(err.Error(), "pruning idempotency keys: keys locked") {
		t.Errorf("Prune = %v, want both errors", err)
	}
	if len(store.events) != 1 || len(store.keys) != 1 {
		t.Errorf("passes: events %d, keys %d; want one each", len(store.events), len(store.keys))
	}
}

func TestRunPrunesAtOnceAndPeriodically(t *testing.T) {
	store := &fakePruneStore{}
	p := NewPruner(PrunerConfig{Store: store, Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for store.passes() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d passes after 10s, want 3", store.passes())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
