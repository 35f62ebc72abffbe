package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/policy"
)

// submitWithKey posts body with an Idempotency-Key and returns the answer.
func (e *testEnv) submitWithKey(key, body string) (int, http.Header, types.Job) {
	e.t.Helper()
	rec := e.do(http.MethodPost, "/v1/jobs", body, "Content-Type", "application/json", "Idempotency-Key", key)
	if rec.Code != http.StatusCreated && rec.Code != http.StatusOK {
		e.t.Fatalf("POST /v1/jobs with key %q: status %d, body %s", key, rec.Code, rec.Body)
	}
	return rec.Code, rec.Header(), decodeBody[types.Job](e.t, rec)
}

func TestIdempotentSubmit(t *testing.T) {
	ev := newEventsEnv(t)
	const body = `{"name":"n","labels":{"team":"a"},"image":"busybox","command":["true"]}`

	code, hdr, first := ev.submitWithKey("order-1", body)
	if code != http.StatusCreated || hdr.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first submit: %d, replayed %q; want 201, not replayed", code, hdr.Get("Idempotent-Replayed"))
	}

	t.Run("same key, same body", func(t *testing.T) {
		ev.store.setPhase(first.ID, jobs.PhaseRunning)
		code, hdr, again := ev.submitWithKey("order-1", body)
		if code != http.StatusOK || again.ID != first.ID {
			t.Fatalf("repeat: %d with job %s, want 200 with %s", code, again.ID, first.ID)
		}
		if hdr.Get("Idempotent-Replayed") != "true" || hdr.Get("Location") != "/v1/jobs/"+first.ID {
			t.Errorf("headers %v", hdr)
		}
		if again.Status.Phase != types.PhaseRunning {
			t.Errorf("phase %s, want the job as it is now (Running)", again.Status.Phase)
		}
	})

	t.Run("same key, the same request written differently", func(t *testing.T) {
		equivalent := `{ "image": "busybox", "command": ["true"], "labels": {"team": "a"}, "name": "n",
			"backoffLimit": 0, "completions": 1, "backoff": {"initialMs": 1000} }`
		code, _, again := ev.submitWithKey("order-1", equivalent)
		if code != http.StatusOK || again.ID != first.ID {
			t.Errorf("equivalent body: %d with job %s, want 200 with %s", code, again.ID, first.ID)
		}
	})

	t.Run("same key, different body", func(t *testing.T) {
		rec := ev.do(http.MethodPost, "/v1/jobs", `{"name":"n","labels":{"team":"a"},"image":"busybox","command":["false"]}`,
			"Content-Type", "application/json", "Idempotency-Key", "order-1")
		wantError(t, rec, http.StatusConflict, types.CodeConflict, `Idempotency-Key: "order-1" was already used for a different request`)
	})

	t.Run("another key creates another job", func(t *testing.T) {
		code, _, other := ev.submitWithKey("order-2", body)
		if code != http.StatusCreated || other.ID == first.ID {
			t.Errorf("another key: %d with job %s", code, other.ID)
		}
	})

	t.Run("one job.created and one enqueue per created job", func(t *testing.T) {
		created := map[string]int{}
		evs, err := ev.evstore.ReadEvents(t.Context(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Type == jobs.EventJobCreated {
				created[e.JobID]++
			}
		}
		if created[first.ID] != 1 || len(created) != 2 {
			t.Errorf("job.created events per job: %v, want one for each of the two jobs", created)
		}
		enq := map[string]int{}
		for _, id := range ev.enq.enqueued() {
			enq[id]++
		}
		if enq[first.ID] != 1 || len(enq) != 2 {
			t.Errorf("enqueued %v, want each created job once", enq)
		}
	})

	t.Run("the job is gone: its snapshot", func(t *testing.T) {
		if rec := ev.do(http.MethodDelete, "/v1/jobs/"+first.ID, ""); rec.Code != http.StatusNoContent {
			t.Fatalf("delete: %d", rec.Code)
		}
		code, _, again := ev.submitWithKey("order-1", body)
		if code != http.StatusOK || again.ID != first.ID || again.Status.Phase != types.PhasePending {
			t.Errorf("after delete: %d with %s in %s, want 200 with %s as created (Pending)", code, again.ID, again.Status.Phase, first.ID)
		}
	})
}

func TestIdempotencyKeyExpires(t *testing.T) {
	now := testNow
	e := newTestEnv(t, func(c *Config) { c.Now = func() time.Time { return now } })
	_, _, first := e.submitWithKey("k", `{"image":"busybox"}`)
	now = now.Add(jobs.IdempotencyKeyTTL - time.Second)
	if code, _, again := e.submitWithKey("k", `{"image":"busybox"}`); code != http.StatusOK || again.ID != first.ID {
		t.Errorf("before expiry: %d with %s, want 200 with %s", code, again.ID, first.ID)
	}
	now = now.Add(2 * time.Second)
	if code, _, again := e.submitWithKey("k", `{"image":"other"}`); code != http.StatusCreated || again.ID == first.ID {
		t.Errorf("after expiry: %d with %s, want 201 with a new job", code, again.ID)
	}
}

// TestIdempotentSubmitConcurrently: many submissions with one key at once
// create one job, and every answer names it.
func TestIdempotentSubmitConcurrently(t *testing.T) {
	e := newTestEnv(t)
	const n = 30
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[string]int{}
		codes   = map[int]int{}
		request = `{"image":"busybox","args":["x"]}`
	)
	for range n {
		wg.Go(func() {
			rec := e.do(http.MethodPost, "/v1/jobs", request, "Content-Type", "application/json", "Idempotency-Key", "same")
			job := decodeBody[types.Job](t, rec)
			mu.Lock()
			defer mu.Unlock()
			ids[job.ID]++
			codes[rec.Code]++
		})
	}
	wg.Wait()
	if len(ids) != 1 || codes[http.StatusCreated] != 1 || codes[http.StatusOK] != n-1 {
		t.Errorf("jobs %v, statuses %v; want one job, one 201 and %d 200", ids, codes, n-1)
	}
	if got := e.enq.enqueued(); len(got) != 1 {
		t.Errorf("enqueued %v, want one job", got)
	}
}

func TestIdempotencyKeyErrors(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		want string
	}{
		{name: "empty", keys: []string{""}, want: "Idempotency-Key: must be 1 to 255 printable ASCII characters"},
		{name: "too long", keys: []string{strings.Repeat("k", 256)}, want: "Idempotency-Key: must be 1 to 255"},
		{name: "not ASCII", keys: []string{"clé"}, want: "Idempotency-Key: must be 1 to 255 printable ASCII characters"},
		{name: "control character", keys: []string{"a\x7fb"}, want: "Idempotency-Key: must be 1 to 255"},
		{name: "given twice", keys: []string{"a", "b"}, want: "Idempotency-Key: must be given once, got 2 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			req := httptest.NewRequest(http.MethodPost, "/v1/jobs", strings.NewReader(`{"image":"busybox"}`))
			req.Header.Set("Content-Type", "application/json")
			for _, k := range tt.keys {
				req.Header.Add("Idempotency-Key", k)
			}
			rec := httptest.NewRecorder()
			withAdminToken(e.srv.Handler()).ServeHTTP(rec, req)
			wantError(t, rec, http.StatusBadRequest, types.CodeInvalid, tt.want)
			if got := e.enq.enqueued(); len(got) != 0 {
				t.Errorf("enqueued %v after a refused submit", got)
			}
		})
	}

	t.Run("the longest key", func(t *testing.T) {
		e := newTestEnv(t)
		if code, _, _ := e.submitWithKey(strings.Repeat("k", 255), `{"image":"busybox"}`); code != http.StatusCreated {
			t.Errorf("status %d", code)
		}
	})

	t.Run("a store without keys", func(t *testing.T) {
		// Embedding hides every method but those of jobs.Store.
		e := newTestEnv(t, func(c *Config) { c.Store = struct{ jobs.Store }{c.Store} })
		rec := e.do(http.MethodPost, "/v1/jobs", `{"image":"busybox"}`, "Content-Type", "application/json", "Idempotency-Key", "k")
		wantError(t, rec, http.StatusBadRequest, types.CodeInvalid, "Idempotency-Key: this server's store does not keep idempotency keys")
		e.createJob(`{"image":"busybox"}`)
	})

	t.Run("a bad body is refused before the key is used", func(t *testing.T) {
		e := newTestEnv(t)
		rec := e.do(http.MethodPost, "/v1/jobs", `{"image":""}`, "Content-Type", "application/json", "Idempotency-Key", "k")
		wantError(t, rec, http.StatusBadRequest, types.CodeInvalid, "image: is required")
		if code, _, _ := e.submitWithKey("k", `{"image":"busybox"}`); code != http.StatusCreated {
			t.Errorf("the key was taken by a refused request: %d", code)
		}
	})
}

// A replay returns the job the key created even when the request would now
// be refused: the policy (or the Swarm's secrets) changed since. A new key
// with the same body is checked, and refused.
func TestIdempotentReplayIsNotCheckedAgain(t *testing.T) {
	e := newTestEnv(t)
	const body = `{"image":"busybox","parallelism":4}`
	_, _, first := e.submitWithKey("k1", body)

	strict, err := policy.New(policy.File{Defaults: policy.Rules{MaxParallelism: ptrTo(2)}})
	if err != nil {
		t.Fatal(err)
	}
	later := newTestEnv(t, func(c *Config) { c.Store, c.Policy = e.store, policy.Fixed(strict) })
	code, hdr, again := later.submitWithKey("k1", body)
	if code != http.StatusOK || again.ID != first.ID || hdr.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay under a stricter policy: %d, job %s, want 200 with %s", code, again.ID, first.ID)
	}
	rec := later.do(http.MethodPost, "/v1/jobs", body, "Content-Type", "application/json", "Idempotency-Key", "k2")
	wantError(t, rec, http.StatusForbidden, types.CodePolicyViolation, "maxParallelism")
}
