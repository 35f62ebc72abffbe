package controller

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"pgregory.net/rapid"

	"github.com/swarmjob/swarmjob/jobs"
)

// world is an in-memory model of the store and of Swarm that the property
// test drives decide against. act applies a decision the way syncJob does,
// except that it may crash part-way through, as a killed process would.
type world struct {
	t       *rapid.T
	job     *jobs.Job
	now     time.Time
	svc     map[[2]int]*observedAttempt // live services by (index, attempt)
	created map[string]int              // service name -> times created
	nextID  int
	// terminalPhase is the first terminal phase the job reached.
	terminalPhase jobs.Phase
	// peakParallelism is the highest parallelism the job has had.
	peakParallelism int
}

func (w *world) observed() []observedAttempt {
	var out []observedAttempt
	for _, o := range w.svc {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b observedAttempt) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return a.Attempt - b.Attempt
	})
	return out
}

func (w *world) put(a jobs.Attempt) {
	for i := range w.job.Status.Attempts {
		b := &w.job.Status.Attempts[i]
		if b.Index == a.Index && b.Attempt == a.Attempt {
			*b = a
			return
		}
	}
	w.job.Status.Attempts = append(w.job.Status.Attempts, a)
}

// sync runs decide and applies its actions until a step has none. When
// crash is set, it stops once right after recording a new attempt and
// before creating its service.
func (w *world) sync(crash bool) {
	for range 50 {
		d := decide(w.job, w.observed(), w.now, w.now)
		if !d.hasActions() {
			w.setStatus(d.Status)
			return
		}
		for _, f := range d.Finish {
			w.put(f.Outcome)
		}
		for _, st := range d.Stop {
			w.stop(st)
		}
		for _, r := range d.Remove {
			delete(w.svc, [2]int{r.Attempt.Index, r.Attempt.Attempt})
			a := r.Attempt
			a.Removed = true
			w.put(a)
		}
		for _, a := range d.Record {
			w.put(a)
		}
		if len(d.Create) > 0 {
			w.setStatus(d.Status)
		}
		for _, c := range d.Create {
			w.checkCreateAllowed(c)
			if c.New {
				w.put(c.Attempt)
			}
			if crash {
				return
			}
			w.create(c.Attempt)
		}
	}
	w.t.Fatalf("sync did not settle in 50 steps")
}

// checkCreateAllowed asserts that a new attempt is what the policy allows.
func (w *world) checkCreateAllowed(c createAction) {
	j := w.job
	if !c.New {
		return
	}
	s := summarize(j)
	switch {
	case j.Status.Phase.Terminal():
		w.t.Fatalf("attempt %d/%d created for a %s job", c.Attempt.Index, c.Attempt.Attempt, j.Status.Phase)
	case j.CancelRequested || j.Spec.Suspend:
		w.t.Fatalf("attempt created while cancelled or suspended")
	case s.failed > j.Spec.BackoffLimit:
		w.t.Fatalf("attempt created after %d counted failures, backoffLimit %d", s.failed, j.Spec.BackoffLimit)
	case s.failJob != nil:
		w.t.Fatalf("attempt created after a FailJob rule matched")
	}
	if j.Spec.CompletionMode == jobs.Indexed {
		i := c.Attempt.Index
		if i < 0 || i >= j.Spec.Completions || s.succeededIdx[i] || s.failedIdx[i] || s.activeByIndex[i] > 0 {
			w.t.Fatalf("attempt created for index %d which is out of range, decided or active", i)
		}
	}
}

func (w *world) create(a jobs.Attempt) {
	name := ServiceName(w.job.ID, a.Index, a.Attempt)
	w.created[name]++
	if _, ok := w.svc[[2]int{a.Index, a.Attempt}]; ok {
		return // Swarm refuses the duplicate name; the service exists
	}
	w.nextID++
	id := fmt.Sprintf("svc%d", w.nextID)
	w.svc[[2]int{a.Index, a.Attempt}] = &observedAttempt{JobID: w.job.ID, Index: a.Index, Attempt: a.Attempt,
		ServiceID: id, Service: name, CreatedAt: w.now,
		Task: &observedTask{ID: "t" + id, NodeID: "n1", Node: "n1", State: swarm.TaskStatePending, Timestamp: w.now, CreatedAt: w.now}}
	a.ServiceID, a.State = id, "new"
	w.put(a)
}

// stop marks the service as stopped, as stopSpec does; its task shuts
// down at once or later (taskOutcome), or never within stopWait.
func (w *world) stop(st stopAction) {
	for _, o := range w.svc {
		if o.ServiceID != st.ServiceID {
			continue
		}
		if o.Stop != nil {
			w.t.Fatalf("service %s stopped twice", o.Service)
		}
		why := st.Why
		o.Stop, o.StopAt = &why, w.now
		if rapid.Bool().Draw(w.t, "stopEndsAtOnce") {
			o.Task.State, o.Task.Timestamp = swarm.TaskStateShutdown, w.now
		}
	}
}

func (w *world) setStatus(st jobs.Status) {
	atts := w.job.Status.Attempts
	if w.terminalPhase != "" && st.Phase != w.terminalPhase {
		w.t.Fatalf("terminal job moved from %s to %s", w.terminalPhase, st.Phase)
	}
	w.job.Status = st
	w.job.Status.Attempts = atts
	if st.Phase.Terminal() && w.terminalPhase == "" {
		w.terminalPhase = st.Phase
	}
}

// check asserts the invariants that hold whenever the job is settled.
func (w *world) check() {
	j, st := w.job, w.job.Status
	live := 0
	perIndexSucceeded := map[int]int{}
	for _, a := range j.Status.Attempts {
		// An attempt being stopped is on its way out (Kubernetes counts
		// such pods as terminating, not active).
		if o, ok := w.svc[[2]int{a.Index, a.Attempt}]; !a.Finished() && !(ok && o.Stop != nil) {
			live++
		}
		if a.State == jobs.AttemptSucceeded {
			perIndexSucceeded[a.Index]++
		}
	}
	if live > j.Spec.Parallelism {
		w.t.Fatalf("%d active attempts, parallelism %d", live, j.Spec.Parallelism)
	}
	// Attempts being stopped still hold their slot: no new attempt takes
	// it before they ended.
	unfinished := 0
	for _, a := range j.Status.Attempts {
		if !a.Finished() {
			unfinished++
		}
	}
	w.peakParallelism = max(w.peakParallelism, j.Spec.Parallelism)
	if unfinished > w.peakParallelism {
		w.t.Fatalf("%d attempts active or stopping, more than the job's highest parallelism %d", unfinished, w.peakParallelism)
	}
	if j.Spec.CompletionMode != jobs.Indexed && live > j.Spec.Completions-st.Succeeded && !st.Phase.Terminal() {
		w.t.Fatalf("%d active attempts but only %d completions still needed", live, j.Spec.Completions-st.Succeeded)
	}
	if j.Spec.CompletionMode == jobs.Indexed {
		for i, n := range perIndexSucceeded {
			if n > 1 {
				w.t.Fatalf("index %d succeeded %d times", i, n)
			}
		}
	}
	if st.Succeeded > j.Spec.Completions {
		w.t.Fatalf("succeeded %d > completions %d", st.Succeeded, j.Spec.Completions)
	}
	for name, n := range w.created {
		if n > 1 {
			// A repeated create is allowed only as the crash-recovery
			// retry of the same name, which Swarm refuses; it must never
			// have produced a second service.
			if count := w.liveNamed(name); count > 1 {
				w.t.Fatalf("service %s exists %d times", name, count)
			}
		}
	}
	for k, o := range w.svc {
		found := false
		for _, a := range j.Status.Attempts {
			if a.Index == k[0] && a.Attempt == k[1] {
				found = true
				if a.Removed {
					w.t.Fatalf("attempt %v recorded removed but its service %s is live", k, o.Service)
				}
			}
		}
		if !found {
			w.t.Fatalf("service %s has no recorded attempt", o.Service)
		}
	}
}

func (w *world) liveNamed(name string) int {
	n := 0
	for _, o := range w.svc {
		if o.Service == name {
			n++
		}
	}
	return n
}

func genSpec(t *rapid.T) jobs.Spec {
	s := jobs.Spec{Image: "img"}
	s.Completions = rapid.IntRange(1, 5).Draw(t, "completions")
	s.Parallelism = rapid.IntRange(1, 4).Draw(t, "parallelism")
	if rapid.Bool().Draw(t, "indexed") {
		s.CompletionMode = jobs.Indexed
		if rapid.Bool().Draw(t, "perIndex") {
			s.BackoffLimitPerIndex = ptr(rapid.IntRange(0, 2).Draw(t, "backoffLimitPerIndex"))
			s.BackoffLimit = jobs.UnlimitedBackoff
			if rapid.Bool().Draw(t, "maxFailedIndexes") {
				s.MaxFailedIndexes = ptr(rapid.IntRange(0, s.Completions).Draw(t, "maxFailed"))
			}
		}
		if rapid.Bool().Draw(t, "successPolicy") {
			s.SuccessPolicy = &jobs.SuccessPolicy{Rules: []jobs.SuccessRule{{SucceededCount: ptr(rapid.IntRange(1, s.Completions).Draw(t, "succeededCount"))}}}
		}
	}
	if s.BackoffLimitPerIndex == nil {
		s.BackoffLimit = rapid.IntRange(0, 3).Draw(t, "backoffLimit")
	}
	rules := []jobs.FailureRule{}
	if rapid.Bool().Draw(t, "failJob42") {
		rules = append(rules, jobs.FailureRule{Action: jobs.ActionFailJob, OnExitCodes: &jobs.ExitCodes{Operator: "In", Values: []int{42}}})
	}
	if rapid.Bool().Draw(t, "ignoreRejected") {
		rules = append(rules, jobs.FailureRule{Action: jobs.ActionIgnore, OnReasons: []string{jobs.AttemptReasonRejected}})
	}
	if s.BackoffLimitPerIndex != nil && rapid.Bool().Draw(t, "failIndex7") {
		rules = append(rules, jobs.FailureRule{Action: jobs.ActionFailIndex, OnExitCodes: &jobs.ExitCodes{Operator: "In", Values: []int{7}}})
	}
	if len(rules) > 0 {
		s.FailurePolicy = &jobs.FailurePolicy{Rules: rules}
	}
	if rapid.Bool().Draw(t, "attemptDeadline") {
		s.AttemptDeadlineSeconds = 5
	}
	if rapid.Bool().Draw(t, "activeDeadline") {
		s.ActiveDeadlineSeconds = 20
	}
	s.Defaults()
	if err := jobs.Validate("", nil, s); err != nil {
		t.Fatalf("generated an invalid spec: %v", err)
	}
	return s
}

// TestDecideProperties drives decide with random task outcomes, clock
// moves, crashes, suspends, resumes, parallelism changes and cancels, and
// checks the invariants after every step; at the end, with every task
// succeeding, the job must finish and leave no service behind.
func TestDecideProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := &world{t: t, now: t0, svc: map[[2]int]*observedAttempt{}, created: map[string]int{},
			job: &jobs.Job{ID: "j", CreatedAt: t0, Spec: genSpec(t), Status: jobs.Status{Phase: jobs.PhasePending}}}
		w.job.Spec.Suspend = rapid.Bool().Draw(t, "suspendAtSubmit")
		w.sync(false)
		w.check()
		t.Repeat(map[string]func(*rapid.T){
			"sync": func(t *rapid.T) {
				w.sync(rapid.IntRange(0, 9).Draw(t, "crash") == 0)
				w.sync(false)
				w.check()
			},
			"taskOutcome": func(t *rapid.T) {
				var live []*observedAttempt
				for _, o := range w.observed() {
					if !o.Task.terminal() {
						live = append(live, w.svc[[2]int{o.Index, o.Attempt}])
					}
				}
				if len(live) == 0 {
					t.Skip("no live task")
				}
				o := live[rapid.IntRange(0, len(live)-1).Draw(t, "which")]
				tk := o.Task
				tk.Timestamp = w.now
				switch rapid.IntRange(0, 5).Draw(t, "outcome") {
				case 0:
					tk.State = swarm.TaskStateRunning
					tk.HasContainer = true
				case 1, 2:
					tk.State, tk.ExitCode, tk.HasContainer = swarm.TaskStateComplete, ptr(0), true
				case 3:
					code := rapid.SampledFrom([]int{1, 7, 42}).Draw(t, "exitCode")
					tk.State, tk.ExitCode, tk.HasContainer, tk.Err = swarm.TaskStateFailed, &code, true, fmt.Sprintf("task: non-zero exit (%d)", code)
				case 4:
					tk.State, tk.Err = swarm.TaskStateRejected, "No such image: img"
				case 5:
					tk.State, tk.Err = swarm.TaskStateShutdown, "shut down"
				}
			},
			"advanceClock": func(t *rapid.T) {
				w.now = w.now.Add(time.Duration(rapid.IntRange(0, 4000).Draw(t, "ms")) * time.Millisecond)
			},
			"suspend": func(t *rapid.T) { w.job.Spec.Suspend = true },
			"resume":  func(t *rapid.T) { w.job.Spec.Suspend = false },
			"parallelism": func(t *rapid.T) {
				w.job.Spec.Parallelism = rapid.IntRange(1, 4).Draw(t, "newParallelism")
			},
			"cancel": func(t *rapid.T) {
				if rapid.IntRange(0, 9).Draw(t, "rarely") == 0 {
					w.job.CancelRequested = true
				}
			},
		})
		// Let it finish: resume, and every live task succeeds.
		w.job.Spec.Suspend = false
		for range 200 {
			w.sync(false)
			w.check()
			if w.job.Status.Phase.Terminal() && len(w.svc) == 0 {
				break
			}
			for _, o := range w.svc {
				if !o.Task.terminal() {
					o.Task.State, o.Task.ExitCode, o.Task.HasContainer, o.Task.Timestamp = swarm.TaskStateComplete, ptr(0), true, w.now
				}
			}
			w.now = w.now.Add(2 * time.Minute)
		}
		if !w.job.Status.Phase.Terminal() || len(w.svc) != 0 {
			t.Fatalf("job not finished cleanly: phase %s, %d services left; status %+v", w.job.Status.Phase, len(w.svc), w.job.Status)
		}
		if w.job.CancelRequested && w.job.Status.Phase != jobs.PhaseCancelled && w.terminalPhase == jobs.PhaseCancelled {
			t.Fatalf("inconsistent cancel")
		}
	})
}
