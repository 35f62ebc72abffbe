package sqlite

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

func TestCreateJobIdempotent(t *testing.T) {
	db := openTest(t)
	created := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	key := func(hash string) jobs.IdempotencyKey {
		return jobs.IdempotencyKey{Key: "order-42", RequestHash: hash, NotBefore: created.Add(-jobs.IdempotencyKeyTTL)}
	}
	first := fullJob("first")
	first.Status = jobs.Status{Phase: jobs.PhasePending}
	first.CreatedAt = created
	first.CancelRequested = false

	existing, ok, err := db.CreateJobIdempotent(t.Context(), first, key("h1"))
	if err != nil || !ok || existing != nil {
		t.Fatalf("first use = %v, %v, %v; want created", existing, ok, err)
	}

	t.Run("same key and request return the job as it is now", func(t *testing.T) {
		if err := db.UpdateStatus(t.Context(), "first", jobs.Status{Phase: jobs.PhaseRunning}); err != nil {
			t.Fatal(err)
		}
		existing, ok, err := db.CreateJobIdempotent(t.Context(), newJob("second"), key("h1"))
		if err != nil || ok {
			t.Fatalf("second use = %v, %v; want not created", ok, err)
		}
		if existing.ID != "first" || existing.Status.Phase != jobs.PhaseRunning {
			t.Errorf("returned %s in %s, want first in Running", existing.ID, existing.Status.Phase)
		}
		if _, err := db.GetJob(t.Context(), "second"); !jobs.IsNotFound(err) {
			t.Errorf("second job was stored: %v", err)
		}
	})

	t.Run("same key, other request", func(t *testing.T) {
		_, _, err := db.CreateJobIdempotent(t.Context(), newJob("third"), key("h2"))
		wantCode(t, err, jobs.ECONFLICT)
		if msg := jobs.ErrorMessage(err); !strings.HasPrefix(msg, `Idempotency-Key: "order-42" was already used for a different request`) {
			t.Errorf("message %q", msg)
		}
	})

	t.Run("the job is gone: its snapshot", func(t *testing.T) {
		if _, err := db.RequestCancel(t.Context(), "first", true); err != nil {
			t.Fatal(err)
		}
		existing, ok, err := db.CreateJobIdempotent(t.Context(), newJob("fourth"), key("h1"))
		if err != nil || ok {
			t.Fatalf("use after delete request = %v, %v; want not created", ok, err)
		}
		if diff := cmp.Diff(inUTC(first), existing); diff != "" {
			t.Errorf("snapshot of a job being deleted (-want +got):\n%s", diff)
		}
		if err := db.DeleteJob(t.Context(), "first"); err != nil {
			t.Fatal(err)
		}
		existing, ok, err = db.CreateJobIdempotent(t.Context(), newJob("fifth"), key("h1"))
		if err != nil || ok {
			t.Fatalf("use after delete = %v, %v; want not created", ok, err)
		}
		if diff := cmp.Diff(inUTC(first), existing); diff != "" {
			t.Errorf("snapshot of a deleted job (-want +got):\n%s", diff)
		}
	})

	t.Run("an expired key creates a new job", func(t *testing.T) {
		later := newJob("sixth")
		later.CreatedAt = created.Add(jobs.IdempotencyKeyTTL + time.Second)
		k := jobs.IdempotencyKey{Key: "order-42", RequestHash: "h3", NotBefore: later.CreatedAt.Add(-jobs.IdempotencyKeyTTL)}
		existing, ok, err := db.CreateJobIdempotent(t.Context(), later, k)
		if err != nil || !ok || existing != nil {
			t.Fatalf("use after expiry = %v, %v, %v; want created", existing, ok, err)
		}
		existing, ok, err = db.CreateJobIdempotent(t.Context(), newJob("seventh"), k)
		if err != nil || ok || existing.ID != "sixth" {
			t.Fatalf("reuse of the renewed key = %v, %v, %v; want sixth", existing, ok, err)
		}
	})

	t.Run("a conflicting job ID rolls the key back", func(t *testing.T) {
		k := jobs.IdempotencyKey{Key: "other", RequestHash: "h"}
		_, _, err := db.CreateJobIdempotent(t.Context(), newJob("sixth"), k)
		wantCode(t, err, jobs.ECONFLICT)
		if n := count(t, db, "idempotency_keys"); n != 1 {
			t.Errorf("%d keys stored, want 1", n)
		}
	})

	t.Run("empty key", func(t *testing.T) {
		_, _, err := db.CreateJobIdempotent(t.Context(), newJob("x"), jobs.IdempotencyKey{})
		wantCode(t, err, jobs.EINVALID)
	})
}

// TestCreateJobIdempotentConcurrently: many submissions with one key at once
// create one job, and all of them return it.
func TestCreateJobIdempotentConcurrently(t *testing.T) {
	db := openTest(t)
	const n = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[string]int{}
		created int
	)
	for i := range n {
		wg.Go(func() {
			j := newJob(fmt.Sprintf("job-%d", i))
			existing, ok, err := db.CreateJobIdempotent(t.Context(), j, jobs.IdempotencyKey{Key: "k", RequestHash: "h"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				created++
				ids[j.ID]++
			} else {
				ids[existing.ID]++
			}
		})
	}
	wg.Wait()
	if created != 1 || len(ids) != 1 {
		t.Errorf("%d created, jobs returned %v; want one job for all", created, ids)
	}
	page, err := db.ListJobs(t.Context(), jobs.Filter{})
	if err != nil || len(page.Jobs) != 1 {
		t.Errorf("store holds %d jobs (%v), want 1", len(page.Jobs), err)
	}
}

func TestPruneIdempotencyKeys(t *testing.T) {
	db := openTest(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		j := newJob(fmt.Sprint("j", i))
		j.CreatedAt = t0.Add(time.Duration(i) * time.Hour)
		if _, _, err := db.CreateJobIdempotent(t.Context(), j, jobs.IdempotencyKey{Key: fmt.Sprint("k", i), RequestHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.PruneIdempotencyKeys(t.Context(), t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneIdempotencyKeys = %d, %v; want 1", n, err)
	}
	if got := count(t, db, "idempotency_keys"); got != 2 {
		t.Errorf("%d keys left, want 2", got)
	}
	// The jobs stay: only the keys are forgotten.
	if got := count(t, db, "jobs"); got != 3 {
		t.Errorf("%d jobs left, want 3", got)
	}
	// A forgotten key creates a new job.
	_, ok, err := db.CreateJobIdempotent(t.Context(), newJob("again"), jobs.IdempotencyKey{Key: "k0", RequestHash: "other"})
	if err != nil || !ok {
		t.Errorf("reuse of a pruned key = %v, %v; want created", ok, err)
	}
}
