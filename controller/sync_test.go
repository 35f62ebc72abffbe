package controller

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/sqlite"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type harness struct {
	ctrl   *Controller
	engine *fakeEngine
	store  *recordingStore
	clock  *fakeClock
	log    *journal
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "swarmjob.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{clock: &fakeClock{now: t0}, log: &journal{}}
	h.engine = newFakeEngine(h.log, h.clock.Now)
	h.store = &recordingStore{Store: db, log: h.log}
	h.ctrl = NewController(Config{Engine: h.engine, Instance: "inst1", Store: h.store, Hub: &jobs.Hub{}, Now: h.clock.Now,
		Logger: slog.New(slog.DiscardHandler)})
	return h
}

func (h *harness) submit(t *testing.T, spec jobs.Spec) *jobs.Job {
	t.Helper()
	spec.Defaults()
	j := &jobs.Job{ID: "job1", CreatedAt: h.clock.Now(), Spec: spec, Status: jobs.Status{Phase: jobs.PhasePending}}
	if err := h.store.CreateJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	return j
}

// step polls the fake Swarm once and syncs the job.
func (h *harness) step(t *testing.T) error {
	t.Helper()
	if _, err := h.ctrl.observer.poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	return h.ctrl.syncJob(t.Context(), "job1")
}

func (h *harness) job(t *testing.T) *jobs.Job {
	t.Helper()
	j, err := h.store.GetJobForSync(t.Context(), "job1")
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestSyncRecordsBeforeRemoving(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img"})
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if names := h.engine.serviceNames(); !slices.Equal(names, []string{"swarmjob-job1-0-0"}) {
		t.Fatalf("services = %v, want the attempt's service", names)
	}
	if a := h.job(t).Status.Attempts[0]; a.ServiceID != "svc1" {
		t.Fatalf("attempt = %+v, want the service ID recorded", a)
	}

	h.engine.finishTask("swarmjob-job1-0-0", swarm.TaskStateFailed, 3, "task: non-zero exit (3)", "stdout:out\nstderr:err\n")
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	recorded, removed := h.log.index("put attempt 0 failed removed=false"), h.log.index("remove svc1")
	if recorded < 0 || removed < 0 || recorded > removed || h.log.index("logs svc1") > recorded {
		t.Fatalf("journal = %q, want logs, then the outcome recorded, then the removal", h.log.list())
	}
	j := h.job(t)
	if j.Status.Phase != jobs.PhaseFailed || j.Status.Reason != jobs.ReasonBackoffLimitExceeded {
		t.Errorf("status = %+v", j.Status)
	}
	a := j.Status.Attempts[0]
	if *a.ExitCode != 3 || a.LogBytes != 8 || !a.Removed || a.Node != "host1" {
		t.Errorf("attempt = %+v", a)
	}
	if len(h.engine.serviceNames()) != 0 {
		t.Errorf("services left: %v", h.engine.serviceNames())
	}
}

func TestSyncNeverRemovesWhenTheOutcomeCannotBeRecorded(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img"})
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	h.engine.finishTask("swarmjob-job1-0-0", swarm.TaskStateComplete, 0, "", "stdout:precious\n")
	h.store.failFinish = true
	if err := h.step(t); err == nil {
		t.Fatal("sync succeeded although the outcome could not be stored")
	}
	if h.log.index("remove") >= 0 || len(h.engine.serviceNames()) != 1 {
		t.Fatalf("service removed before its result was stored: %q", h.log.list())
	}
	// Once the store works again, the next sync captures, records, removes.
	h.store.failFinish = false
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if j := h.job(t); j.Status.Phase != jobs.PhaseSucceeded || j.Status.Attempts[0].LogBytes != 9 {
		t.Errorf("status = %+v", j.Status)
	}
	// The first, failed capture left no duplicate behind.
	var stored []byte
	err := h.store.ReadLogs(t.Context(), jobs.LogQuery{JobID: "job1"}, func(c jobs.LogChunk) error {
		stored = append(stored, c.Data...)
		return nil
	})
	if err != nil || string(stored) != "2026-11-26T08:00:00.000000000Z precious\n" {
		t.Errorf("stored logs = %q, %v; want the output once", stored, err)
	}
}

func TestSyncRetriesAfterBackoff(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img", BackoffLimit: 1, Backoff: jobs.Backoff{Initial: 2 * time.Second}})
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	h.engine.finishTask("swarmjob-job1-0-0", swarm.TaskStateFailed, 1, "task: non-zero exit (1)", "")
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if n := len(h.job(t).Status.Attempts); n != 1 {
		t.Fatalf("attempts = %d during backoff, want 1", n)
	}
	h.clock.Advance(2 * time.Second)
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if names := h.engine.serviceNames(); !slices.Equal(names, []string{"swarmjob-job1-0-1"}) {
		t.Fatalf("services = %v, want attempt 1 after the backoff", names)
	}
	h.engine.finishTask("swarmjob-job1-0-1", swarm.TaskStateComplete, 0, "", "stdout:ok\n")
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if j := h.job(t); j.Status.Phase != jobs.PhaseSucceeded || j.Status.Failed != 1 || j.Status.Succeeded != 1 {
		t.Errorf("status = %+v", j.Status)
	}
}

// TestSyncAfterCrashBetweenCreateAndRecord: the service exists but the store
// never learnt its ID. The repeated create is refused by name, and the
// attempt adopts the existing service instead of starting a second one.
func TestSyncAfterCrashBetweenCreateAndRecord(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img"})
	// What a crashed controller left: the attempt recorded as creating, and
	// its service created.
	a := jobs.Attempt{Attempt: 0, Service: "swarmjob-job1-0-0", State: jobs.AttemptCreating, CreatedAt: t0}
	if err := h.store.Store.PutAttempt(t.Context(), "job1", a); err != nil {
		t.Fatal(err)
	}
	j := h.job(t)
	if _, err := h.engine.ServiceCreate(context.Background(), createOpts(j)); err != nil {
		t.Fatal(err)
	}
	// A snapshot from before the create would not show it; this one does.
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if got := h.job(t).Status.Attempts[0].ServiceID; got != "svc1" {
		t.Errorf("service ID = %q, want the existing svc1 adopted", got)
	}
	if len(h.engine.serviceNames()) != 1 {
		t.Errorf("services = %v, want exactly one", h.engine.serviceNames())
	}
	// The adopted attempt's start is told once, by the write that found
	// its service, and then its end, even though it finished before the
	// controller saw it running.
	h.engine.finishTask("swarmjob-job1-0-0", swarm.TaskStateComplete, 0, "", "stdout:done\n")
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	events, err := h.store.Store.(*sqlite.DB).ReadEvents(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []jobs.EventType
	for _, e := range events {
		if e.Type == jobs.EventAttemptStarted || e.Type == jobs.EventAttemptFinished {
			got = append(got, e.Type)
		}
	}
	if !slices.Equal(got, []jobs.EventType{jobs.EventAttemptStarted, jobs.EventAttemptFinished}) {
		t.Errorf("attempt events = %v, want one started, then one finished", got)
	}
}

func TestSyncUnknownNetworkFailsTheAttemptWithoutCreating(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img", Networks: []string{"nope"}})
	for range 2 {
		if err := h.step(t); err != nil {
			t.Fatal(err)
		}
	}
	if h.log.index("create") >= 0 {
		t.Errorf("service created despite the unknown network: %q", h.log.list())
	}
	j := h.job(t)
	if j.Status.Phase != jobs.PhaseFailed || len(j.Status.Attempts) != 1 || j.Status.Attempts[0].Error != `creating service: network "nope" not found` {
		t.Errorf("status = %+v", j.Status)
	}
}

func TestSyncGivesUpOnAnEngineThatKeepsRefusing(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img"})
	h.engine.createErr = errors.New("rpc error: the swarm does not have a leader")
	if err := h.step(t); err == nil {
		t.Fatal("a refused create must be retried (error), not absorbed")
	}
	h.clock.Advance(createGiveUp + time.Second)
	h.engine.createErr = errors.New("rpc error: the swarm does not have a leader")
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if j := h.job(t); j.Status.Phase != jobs.PhaseFailed || !strings.Contains(j.Status.Attempts[0].Error, "does not have a leader") {
		t.Errorf("status = %+v", j.Status)
	}
}

// TestSyncTransientCreateFailuresDoNotLoseTheAttempt: creates failing for
// longer than the vanish grace must not make the attempt look lost once
// its service finally exists.
func TestSyncTransientCreateFailuresDoNotLoseTheAttempt(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img"})
	for range 3 {
		h.engine.createErr = errors.New("rpc error: the swarm does not have a leader")
		if err := h.step(t); err == nil {
			t.Fatal("refused create absorbed")
		}
		h.clock.Advance(4 * time.Second)
	}
	// The create succeeds; the snapshot of this step predates it.
	if err := h.ctrl.syncJob(t.Context(), "job1"); err != nil {
		t.Fatal(err)
	}
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	j := h.job(t)
	if a := j.Status.Attempts[0]; a.Finished() || a.ServiceID == "" {
		t.Fatalf("attempt = %+v, want it active with its service", a)
	}
	if h.log.index("remove") >= 0 {
		t.Errorf("a live attempt's service was removed: %q", h.log.list())
	}
}

// TestSyncGiveUpStillRemovesAServiceThatWasCreated: a create that kept
// failing is given up, but if the Engine created the service after all,
// the service is removed and the job can be deleted.
func TestSyncGiveUpStillRemovesAServiceThatWasCreated(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img"})
	h.engine.createErr = errors.New("context deadline exceeded")
	if err := h.step(t); err == nil {
		t.Fatal("refused create absorbed")
	}
	h.clock.Advance(createGiveUp + time.Second)
	h.engine.createErr, h.engine.createErrAfterCreating = errors.New("context deadline exceeded"), true
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if len(h.engine.serviceNames()) != 1 {
		t.Fatalf("services = %v; the test needs the lost-response create to have happened", h.engine.serviceNames())
	}
	h.clock.Advance(10 * time.Second)
	for range 3 {
		if err := h.step(t); err != nil {
			t.Fatal(err)
		}
	}
	if names := h.engine.serviceNames(); len(names) != 0 {
		t.Errorf("services left: %v", names)
	}
	if j := h.job(t); j.Status.Phase != jobs.PhaseFailed || len(j.Status.Attempts) != 1 {
		t.Errorf("status = %+v, want Failed with the one given-up attempt", j.Status)
	}
}

func TestSyncAdoptsOnlyItsOwnServiceOnNameConflict(t *testing.T) {
	h := newHarness(t)
	j := h.submit(t, jobs.Spec{Image: "img"})
	// Someone else's service holds the name.
	spec := serviceSpec("inst1", j, 0, 0)
	spec.Labels = map[string]string{"owner": "someone-else"}
	if _, err := h.engine.ServiceCreate(t.Context(), client.ServiceCreateOptions{Spec: spec}); err != nil {
		t.Fatal(err)
	}
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	a := h.job(t).Status.Attempts[0]
	if a.State != jobs.AttemptFailed || !strings.Contains(a.Error, "does not own") {
		t.Errorf("attempt = %+v, want failed: name taken", a)
	}
	if h.log.index("remove") >= 0 {
		t.Errorf("removed a service it does not own: %q", h.log.list())
	}
}

// TestSyncNodeLossReplacesTheAttempt: a task whose node stays down past the
// grace is lost: recorded with what logs could be read, its service
// removed, and a replacement started, even though Swarm still reports the
// task running and its logs cannot be read.
func TestSyncNodeLossReplacesTheAttempt(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img", BackoffLimit: 1, Backoff: jobs.Backoff{Initial: time.Millisecond}})
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	h.engine.setRunning("swarmjob-job1-0-0")
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	h.engine.setNodeDown(true)
	h.engine.logsUnavailable = true
	h.clock.Advance(2 * time.Second)  // past the node refresh interval
	if err := h.step(t); err != nil { // the node is seen down
		t.Fatal(err)
	}
	if a := h.job(t).Status.Attempts[0]; a.Finished() {
		t.Fatalf("attempt lost before the grace: %+v", a)
	}
	h.clock.Advance(31 * time.Second)
	for range 2 {
		if err := h.step(t); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(10 * time.Millisecond) // past the 1ms backoff
	}
	j := h.job(t)
	a := j.Status.Attempts[0]
	if a.Reason != jobs.AttemptReasonNodeLost || !strings.Contains(a.Error, "logs incomplete") || a.LogBytes != 8 || !a.Removed {
		t.Errorf("lost attempt = %+v", a)
	}
	if len(j.Status.Attempts) != 2 || j.Status.Failed != 1 {
		t.Errorf("status = %+v, want a replacement attempt after one counted failure", j.Status)
	}
}

func TestSyncCancelCompletesWhileLogsAreUnreadable(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img"})
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	h.engine.setRunning("swarmjob-job1-0-0")
	h.engine.logsUnavailable = true
	if _, err := h.store.RequestCancel(t.Context(), "job1", true); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := h.step(t); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.store.GetJobForSync(t.Context(), "job1"); !jobs.IsNotFound(err) {
		t.Errorf("deleted job still there: %v", err)
	}
	if len(h.engine.serviceNames()) != 0 {
		t.Errorf("services left: %v", h.engine.serviceNames())
	}
}

// TestSyncTenantCapQueuesTheExcess: with a cap of 1 active attempt for the
// tenant, a second job waits Queued until the first one's attempt ends.
func TestSyncTenantCapQueuesTheExcess(t *testing.T) {
	h := newHarness(t)
	h.ctrl.tenantLimit = func(tenant string) int {
		if tenant == "capped" {
			return 1
		}
		return 0
	}
	h.ctrl.tenants = h.store.Store.(TenantCounter)
	for _, id := range []string{"job1", "job2"} {
		spec := jobs.Spec{Image: "img"}
		spec.Defaults()
		j := &jobs.Job{ID: id, Tenant: "capped", CreatedAt: h.clock.Now(), Spec: spec, Status: jobs.Status{Phase: jobs.PhasePending}}
		if err := h.store.CreateJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	sync := func(id string) *jobs.Job {
		t.Helper()
		if _, err := h.ctrl.observer.poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := h.ctrl.syncJob(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		j, err := h.store.GetJobForSync(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	sync("job1")
	if j := sync("job2"); len(j.Status.Attempts) != 0 || j.Status.Reason != jobs.ReasonQueued || j.Status.Phase != jobs.PhasePending {
		t.Fatalf("second job = %+v, want Pending/Queued without attempts", j.Status)
	}
	h.engine.finishTask("swarmjob-job1-0-0", swarm.TaskStateComplete, 0, "", "")
	sync("job1")
	if j := sync("job2"); len(j.Status.Attempts) != 1 || j.Status.Reason == jobs.ReasonQueued {
		t.Fatalf("second job after the first ended = %+v, want its attempt started", j.Status)
	}
}

// TestSyncCancelKeepsWhatTheTaskWritesWhileStopping: a cancelled job's running
// task is stopped by a service update that keeps its container; its outcome
// and output (what it wrote after the stop signal included) are recorded
// once it ended, and only then is its service removed.
func TestSyncCancelKeepsWhatTheTaskWritesWhileStopping(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img"})
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	h.engine.setRunning("swarmjob-job1-0-0")
	if _, err := h.store.RequestCancel(t.Context(), "job1", false); err != nil {
		t.Fatal(err)
	}
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if h.log.index("update swarmjob-job1-0-0 stop=Cancelled") < 0 || h.log.index("remove") >= 0 {
		t.Fatalf("journal = %q, want the service updated to stop, not removed", h.log.list())
	}
	if j := h.job(t); j.Status.Phase.Terminal() || j.Status.Attempts[0].Finished() || j.Status.Reason != jobs.ReasonStopping {
		t.Fatalf("status = %+v, want the job still stopping, saying so", j.Status)
	}
	// Stopping twice is not stopping again.
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(h.log.list(), "\n"), "update swarmjob-job1-0-0"); n != 1 {
		t.Errorf("the service was updated %d times, want once", n)
	}

	h.clock.Advance(3 * time.Second)
	h.engine.finishTask("swarmjob-job1-0-0", swarm.TaskStateShutdown, 143, "", "stdout:partial\nstdout:got TERM, saving\n")
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	recorded, removed := h.log.index("put attempt 0 stopped removed=false"), h.log.index("remove svc1")
	if recorded < 0 || removed < recorded {
		t.Fatalf("journal = %q, want the outcome recorded, then the removal", h.log.list())
	}
	j := h.job(t)
	if j.Status.Phase != jobs.PhaseCancelled {
		t.Errorf("phase = %s, want Cancelled", j.Status.Phase)
	}
	if a := j.Status.Attempts[0]; a.Reason != jobs.AttemptReasonCancelled || a.LogBytes != int64(len("partial\ngot TERM, saving\n")) {
		t.Errorf("attempt = %+v, want stopped as cancelled with all its output", a)
	}
}

// TestSyncStopFallsBackWhenTheEngineRefusesTheUpdate: an Engine that refuses
// the stopping update for good gets the old stop: output captured as it is,
// outcome recorded, service removed.
func TestSyncStopFallsBackWhenTheEngineRefusesTheUpdate(t *testing.T) {
	h := newHarness(t)
	h.submit(t, jobs.Spec{Image: "img"})
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	h.engine.setRunning("swarmjob-job1-0-0")
	h.engine.updateErr = cerrdefs.ErrInvalidArgument.WithMessage("update not supported")
	if _, err := h.store.RequestCancel(t.Context(), "job1", false); err != nil {
		t.Fatal(err)
	}
	if err := h.step(t); err != nil {
		t.Fatal(err)
	}
	j := h.job(t)
	if j.Status.Phase != jobs.PhaseCancelled || !j.Status.Attempts[0].Removed || j.Status.Attempts[0].LogBytes != int64(len("partial\n")) {
		t.Errorf("status = %+v, want Cancelled with the output so far and the service removed", j.Status)
	}
}
