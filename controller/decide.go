package controller

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/swarmjob/swarmjob/jobs"
)

// A decision is what one step of syncJob must do, computed by decide from
// what the store recorded, what Swarm showed and the time, without any I/O.
// syncJob performs the I/O actions and decides again until a step has none;
// then it writes Status and waits RequeueAfter (0: until something changes).
type decision struct {
	// Finish captures the output of attempts whose task ended, or that are
	// being stopped, and records their outcome. Always before Remove.
	Finish []finishAction
	// Stop stops the tasks of attempts gracefully, keeping their output:
	// their outcome is recorded once the task ended (stopSpec).
	Stop []stopAction
	// Remove removes the services of attempts whose outcome is recorded.
	Remove []removeAction
	// Record stores attempts whose observed state changed.
	Record []jobs.Attempt
	// Create starts attempts: records them (if new) and creates their service.
	Create []createAction
	// DeleteJob removes the job record: it was deleted and nothing is left.
	DeleteJob bool

	Status       jobs.Status
	RequeueAfter time.Duration
}

func (d *decision) hasActions() bool {
	return len(d.Finish)+len(d.Stop)+len(d.Remove)+len(d.Record)+len(d.Create) > 0 || d.DeleteJob
}

// finishAction records the end of an attempt. When Capture is set the
// attempt's service logs are stored first. Outcome holds the attempt as it
// must be recorded, except its log size.
type finishAction struct {
	Outcome   jobs.Attempt
	ServiceID string
	Capture   bool
	// BestEffort records the outcome even when the logs cannot be read
	// (stops, lost nodes, old outcomes); otherwise a failed capture is
	// retried and nothing is recorded.
	BestEffort bool
}

// captureRetryWindow is how long after a task ended a failing log capture
// is retried before the outcome is recorded without logs.
const captureRetryWindow = 5 * time.Minute

// stopAction stops the task of an attempt's service and keeps its container:
// the task gets Swarm's stop signal and grace period, and what it writes
// until it exits is captured with the rest once it did.
type stopAction struct {
	ServiceID string
	Why       stopReason
	// Fallback is how the attempt is finished at once when the Engine
	// refuses the update for good: captured as it is, then removed.
	Fallback finishAction
}

// stopWait is how long a task stopped with a stopAction may take to end (its
// grace period, and stopReportTime for its node to report) before its
// attempt is finished without waiting more, and its service removed.
func stopWait(j *jobs.Job) time.Duration {
	grace := int64(jobs.SwarmStopGracePeriodSeconds)
	if g := j.Spec.StopGracePeriodSeconds; g != nil {
		grace = *g
	}
	return time.Duration(grace)*time.Second + stopReportTime
}

// stopReportTime is how long a stopped task's end may take to be seen after
// its grace period.
const stopReportTime = 20 * time.Second

// removeAction removes an attempt's service; the attempt is recorded with
// Removed once the Engine confirmed.
type removeAction struct {
	Attempt   jobs.Attempt
	ServiceID string
}

// createAction creates the service of an attempt; New is set when the
// attempt is not yet recorded.
type createAction struct {
	Attempt jobs.Attempt
	New     bool
}

// serviceVanishedGrace is how long after its creation an attempt's service
// may be missing from snapshots before the attempt is declared lost. It
// covers snapshots taken just before the create call returned.
const serviceVanishedGrace = 5 * time.Second

// verdict is a job's final outcome once it is decided, before it is recorded.
type verdict struct {
	Phase   jobs.Phase
	Reason  string
	Message string
}

// decide computes the next step for job j given the attempts Swarm shows
// (observed, taken at takenAt) and the current time. j.Status.Attempts holds
// the recorded attempts. decide is pure: it reads its arguments only.
//
// A step first settles attempts (finish, stop, remove, record what Swarm
// shows); only when nothing is left to settle does it finish the job or
// start new attempts, so that every verdict rests on recorded outcomes.
func decide(j *jobs.Job, observed []observedAttempt, takenAt, now time.Time) decision {
	return decideWithin(j, observed, takenAt, now, unlimited)
}

// unlimited is the budget of a tenant without a cap on active attempts.
const unlimited = -1

// decideWithin is decide when the job's tenant may start at most budget
// more attempts now (unlimited: no cap). Jobs held back by the cap wait
// Pending with reason Queued.
func decideWithin(j *jobs.Job, observed []observedAttempt, takenAt, now time.Time, budget int) decision {
	var d decision
	sum := summarize(j)
	v := judge(j, sum, now)
	stops := stopsFor(j, sum, v, now)

	type key struct{ index, attempt int }
	seen := make(map[key]observedAttempt, len(observed))
	for _, o := range observed {
		seen[key{o.Index, o.Attempt}] = o
	}
	for _, a := range j.Status.Attempts {
		o, present := seen[key{a.Index, a.Attempt}]
		if a.Finished() {
			if a.Removed && !present {
				continue
			}
			id := a.ServiceID
			if present {
				id = o.ServiceID
			}
			if id == "" && !takenAt.After(a.CreatedAt.Add(serviceVanishedGrace)) {
				// The service may exist without being in the snapshot yet:
				// look again before declaring it gone.
				d.requeue(time.Second)
				continue
			}
			d.Remove = append(d.Remove, removeAction{Attempt: a, ServiceID: id})
			continue
		}
		stop, stopping := stops[key{a.Index, a.Attempt}]
		if !present {
			switch {
			case a.ServiceID == "" && !stopping:
				// Recorded but not confirmed created: a crash may have
				// come between the two. Creating again is safe: the name
				// is deterministic and Swarm refuses a duplicate.
				d.Create = append(d.Create, createAction{Attempt: a})
			case a.ServiceID == "" && takenAt.After(a.CreatedAt.Add(serviceVanishedGrace)):
				// Stopping an attempt whose service never appeared.
				d.Finish = append(d.Finish, finishAction{Outcome: stopped(a, stop, now)})
			case a.ServiceID != "" && takenAt.After(a.CreatedAt.Add(serviceVanishedGrace)):
				out := a
				out.State, out.Reason, out.FinishedAt = jobs.AttemptFailed, jobs.AttemptReasonServiceLost, ptr(now)
				out.Error = "service was removed outside swarmjob"
				d.Finish = append(d.Finish, finishAction{Outcome: out})
			default:
				d.requeue(time.Second)
			}
			continue
		}
		if t := o.Task; t != nil && t.terminal() && o.Stop != nil && t.State == swarm.TaskStateShutdown {
			// Shut down by swarmjob's stop, its output kept to the end.
			// The container stays until the service is removed: a failing
			// capture is retried, as for any ended task.
			out := stopped(observe(a, o), *o.Stop, now)
			if !t.Timestamp.IsZero() {
				out.FinishedAt = ptr(t.Timestamp)
			}
			bestEffort := now.Sub(t.Timestamp) > captureRetryWindow
			d.Finish = append(d.Finish, finishAction{Outcome: out, ServiceID: o.ServiceID, Capture: t.HasContainer, BestEffort: bestEffort})
			continue
		}
		if t := o.Task; t != nil && t.terminal() {
			// Logs of a task that ended long ago may never be readable
			// (its node is gone): then the outcome is recorded without.
			bestEffort := now.Sub(t.Timestamp) > captureRetryWindow
			d.Finish = append(d.Finish, finishAction{Outcome: outcome(a, o, now), ServiceID: o.ServiceID, Capture: t.HasContainer, BestEffort: bestEffort})
			continue
		}
		if t := o.Task; t != nil && t.NodeLost && o.Stop != nil {
			// Lost while stopping: it was on its way out for the stop's
			// reason, which a lost node does not turn into a failure.
			f := stopNow(a, o, *o.Stop, now)
			f.Outcome.Error += fmt.Sprintf("; node %s went down while the attempt stopped", t.Node)
			d.Finish = append(d.Finish, f)
			continue
		}
		if t := o.Task; t != nil && t.NodeLost {
			out := observe(a, o)
			out.State, out.Reason, out.FinishedAt = jobs.AttemptFailed, jobs.AttemptReasonNodeLost, ptr(now)
			out.Error = fmt.Sprintf("node %s is down", t.Node)
			d.Finish = append(d.Finish, finishAction{Outcome: out, ServiceID: o.ServiceID, Capture: t.HasContainer, BestEffort: true})
			continue
		}
		if o.Stop != nil {
			// Stopped earlier: wait for the task to end, for a while, but
			// not for a job being deleted, nor for a task Swarm no longer
			// has (its history limit pruned it with its container).
			left := o.StopAt.Add(stopWait(j)).Sub(now)
			if left > 0 && o.Task != nil && !j.DeleteRequested {
				d.requeue(left)
				continue
			}
			f := stopNow(a, o, *o.Stop, now)
			if o.Task == nil {
				f.Outcome.Error += "; its task was gone before its output could be read (is the Swarm's task history limit below 2?)"
			}
			d.Finish = append(d.Finish, f)
			continue
		}
		if stopping {
			f := stopNow(a, o, stop, now)
			if f.Capture && !j.DeleteRequested {
				// A running task is stopped and waited for, so that what
				// it writes after the stop signal is kept. The output of
				// a job being deleted is not worth the wait.
				d.Stop = append(d.Stop, stopAction{ServiceID: o.ServiceID, Why: stop, Fallback: f})
				continue
			}
			d.Finish = append(d.Finish, f)
			continue
		}
		if upd := observe(a, o); !sameAttempt(upd, a) {
			d.Record = append(d.Record, upd)
		}
	}
	// Services of this job that the store does not know are never adopted:
	// the record of an attempt always precedes its creation, so such a
	// service belongs to a lost record, and the garbage collector removes it.

	d.Status = deriveStatus(j, sum, now)
	if d.hasActions() {
		return d
	}
	st := &d.Status
	if j.Status.Phase.Terminal() {
		if j.DeleteRequested && len(observed) == 0 && d.RequeueAfter == 0 {
			d.DeleteJob = true
		}
		return d
	}
	if (v.Phase != "" || j.Spec.Suspend) && sum.active > 0 {
		// Stops are in flight; their outcomes come through the observer.
		why := "suspended"
		switch {
		case v.Phase == jobs.PhaseCancelled:
			why = "cancelled"
		case v.Phase != "":
			why = fmt.Sprintf("%s (%s)", v.Phase, v.Reason)
		}
		st.Reason = jobs.ReasonStopping
		st.Message = fmt.Sprintf("job %s; waiting for %d attempt(s) to exit", why, sum.active)
		return d
	}
	if v.Phase != "" {
		finishStatus(st, now, v)
		setConditions(st, j.Status.Conditions, now)
		return d
	}
	if j.Spec.Suspend {
		st.Phase, st.Reason, st.Message = jobs.PhaseSuspended, jobs.ReasonSuspended, "job is suspended"
		// As in Kubernetes, the deadline clock restarts on resume.
		st.StartedAt = nil
		setConditions(st, j.Status.Conditions, now)
		return d
	}
	d.Create = plan(j, sum, now, &d)
	if budget != unlimited && len(d.Create) > budget {
		d.Create = d.Create[:budget]
		if len(d.Create) == 0 && sum.active == 0 {
			st.Reason, st.Message = jobs.ReasonQueued, "waiting for the tenant's cap on active attempts"
		}
	}
	if len(d.Create) > 0 && st.StartedAt == nil {
		st.StartedAt = ptr(now)
	}
	d.requeueAtDeadlines(j, sum, now)
	return d
}

// summary is what the recorded attempts add up to under the job's policies.
type summary struct {
	active        int
	activeByIndex map[int]int
	// succeededIdx holds the indexes with a successful attempt (Indexed).
	succeededIdx map[int]bool
	// succeeded counts successful attempts (NonIndexed) or indexes (Indexed).
	succeeded int
	// failed counts failures counted towards backoffLimit.
	failed         int
	failedPerIndex map[int]int
	// failedIdx holds the indexes that failed for good (Indexed).
	failedIdx map[int]bool
	// failJob is the attempt that matched a FailJob rule, if any.
	failJob *jobs.Attempt
	// lastFailure is the finish time of the latest counted failure, job
	// wide and per index.
	lastFailure time.Time
	// streak counts the failures, counted or ignored, since the last
	// success (job wide) and per index; retryAt bases the backoff on the
	// latest of them. Ignored failures back off too, so that a rule that
	// ignores a failing command cannot spin.
	streak           int
	streakPerIdx     map[int]int
	retryBase        time.Time
	retryBasePerIdx  map[int]time.Time
	attemptsPerIndex map[int]int
	started          bool
}

func summarize(j *jobs.Job) summary {
	s := summary{
		activeByIndex: map[int]int{}, succeededIdx: map[int]bool{}, failedPerIndex: map[int]int{},
		failedIdx: map[int]bool{}, streakPerIdx: map[int]int{}, retryBasePerIdx: map[int]time.Time{}, attemptsPerIndex: map[int]int{},
	}
	var lastSuccess time.Time
	type failure struct {
		index int
		at    time.Time
	}
	var failures []failure
	indexed := j.Spec.CompletionMode == jobs.Indexed
	for i := range j.Status.Attempts {
		a := &j.Status.Attempts[i]
		s.attemptsPerIndex[a.Index] = max(s.attemptsPerIndex[a.Index], a.Attempt+1)
		if a.StartedAt != nil || a.Finished() {
			s.started = true
		}
		if !a.Finished() {
			s.active++
			s.activeByIndex[a.Index]++
			continue
		}
		reason := reasonOf(a, j)
		switch {
		case reason == jobs.AttemptReasonCompleted:
			if a.FinishedAt != nil && a.FinishedAt.After(lastSuccess) {
				lastSuccess = *a.FinishedAt
			}
			if indexed {
				s.succeededIdx[a.Index] = true
			} else {
				s.succeeded++
			}
		case slices.Contains(jobs.FailureReasons, reason):
			withReason := *a
			withReason.Reason = reason
			if a.FinishedAt != nil {
				failures = append(failures, failure{a.Index, *a.FinishedAt})
			}
			switch j.Spec.FailurePolicy.Match(withReason) {
			case jobs.ActionFailJob:
				if s.failJob == nil {
					s.failJob = a
				}
			case jobs.ActionFailIndex:
				s.failedIdx[a.Index] = true
			case jobs.ActionIgnore:
			default:
				s.failed++
				s.failedPerIndex[a.Index]++
				if a.FinishedAt != nil && a.FinishedAt.After(s.lastFailure) {
					s.lastFailure = *a.FinishedAt
				}
			}
		}
	}
	for _, f := range failures {
		if f.at.After(lastSuccess) || indexed {
			s.streak++
			if f.at.After(s.retryBase) {
				s.retryBase = f.at
			}
		}
		s.streakPerIdx[f.index]++
		if f.at.After(s.retryBasePerIdx[f.index]) {
			s.retryBasePerIdx[f.index] = f.at
		}
	}
	if indexed {
		s.succeeded = len(s.succeededIdx)
		if lim := j.Spec.BackoffLimitPerIndex; lim != nil {
			for idx, n := range s.failedPerIndex {
				if n > *lim {
					s.failedIdx[idx] = true
				}
			}
		}
		for idx := range s.succeededIdx {
			delete(s.failedIdx, idx)
		}
	}
	return s
}

// reasonOf returns why a finished attempt ended. Records written before
// attempts carried a reason are classified from their state.
func reasonOf(a *jobs.Attempt, j *jobs.Job) string {
	if a.Reason != "" {
		return a.Reason
	}
	switch {
	case a.State == jobs.AttemptSucceeded:
		return jobs.AttemptReasonCompleted
	case a.State == jobs.AttemptFailed && a.ExitCode != nil:
		return jobs.AttemptReasonFailed
	case a.State == jobs.AttemptFailed:
		return jobs.AttemptReasonRejected
	case j.CancelRequested:
		return jobs.AttemptReasonCancelled
	}
	return jobs.AttemptReasonJobFinished
}

// judge returns the job's verdict from its recorded attempts, or a zero
// verdict while the job must go on. The first that holds wins: all
// completions reached (a recorded success beats a later cancel), a cancel,
// a FailJob rule, the success policy, backoffLimit, maxFailedIndexes, every
// index decided with some failed, the deadline. Kubernetes checks the
// failure conditions before success; here a success that was recorded is
// never overturned by a failure recorded in the same step.
func judge(j *jobs.Job, s summary, now time.Time) verdict {
	if j.Status.Phase.Terminal() {
		return verdict{Phase: j.Status.Phase, Reason: j.Status.Reason, Message: j.Status.Message}
	}
	spec := j.Spec
	switch {
	case s.succeeded >= spec.Completions:
		// A success already recorded wins over a later cancel.
		return verdict{jobs.PhaseSucceeded, jobs.ReasonCompleted, ""}
	case j.CancelRequested:
		return verdict{jobs.PhaseCancelled, jobs.ReasonCancelled, "job cancelled"}
	case s.failJob != nil:
		return verdict{jobs.PhaseFailed, jobs.ReasonFailurePolicy,
			fmt.Sprintf("attempt %d of index %d matched a FailJob rule: %s", s.failJob.Attempt, s.failJob.Index, attemptSummary(*s.failJob))}
	case successPolicyMet(spec, s):
		return verdict{jobs.PhaseSucceeded, jobs.ReasonSuccessPolicy,
			fmt.Sprintf("success policy met with indexes %s succeeded", jobs.FormatIndexes(s.succeededIdx))}
	case s.failed > spec.BackoffLimit:
		last := lastCountedFailure(j, s)
		return verdict{jobs.PhaseFailed, jobs.ReasonBackoffLimitExceeded,
			fmt.Sprintf("%d failed attempt(s), backoffLimit is %d; last: %s", s.failed, spec.BackoffLimit, last)}
	case spec.MaxFailedIndexes != nil && len(s.failedIdx) > *spec.MaxFailedIndexes:
		return verdict{jobs.PhaseFailed, jobs.ReasonMaxFailedIndexes,
			fmt.Sprintf("indexes %s failed, maxFailedIndexes is %d", jobs.FormatIndexes(s.failedIdx), *spec.MaxFailedIndexes)}
	case len(s.failedIdx) > 0 && len(s.failedIdx)+s.succeeded >= spec.Completions:
		return verdict{jobs.PhaseFailed, jobs.ReasonFailedIndexes,
			fmt.Sprintf("indexes %s failed", jobs.FormatIndexes(s.failedIdx))}
	case deadlineExceeded(j, now):
		return verdict{jobs.PhaseFailed, jobs.ReasonDeadlineExceeded,
			fmt.Sprintf("job ran longer than activeDeadlineSeconds (%ds)", spec.ActiveDeadlineSeconds)}
	}
	return verdict{}
}

func successPolicyMet(spec jobs.Spec, s summary) bool {
	if spec.SuccessPolicy == nil {
		return false
	}
	for _, r := range spec.SuccessPolicy.Rules {
		if r.Met(s.succeededIdx) {
			return true
		}
	}
	return false
}

func lastCountedFailure(j *jobs.Job, s summary) string {
	for i := len(j.Status.Attempts) - 1; i >= 0; i-- {
		a := j.Status.Attempts[i]
		if a.Finished() && a.FinishedAt != nil && a.FinishedAt.Equal(s.lastFailure) {
			return attemptSummary(a)
		}
	}
	return "unknown"
}

func deadlineExceeded(j *jobs.Job, now time.Time) bool {
	return j.Spec.ActiveDeadlineSeconds > 0 && j.Status.StartedAt != nil &&
		!now.Before(j.Status.StartedAt.Add(time.Duration(j.Spec.ActiveDeadlineSeconds)*time.Second))
}

func attemptDeadline(j *jobs.Job, a jobs.Attempt) (time.Time, bool) {
	if j.Spec.AttemptDeadlineSeconds <= 0 {
		return time.Time{}, false
	}
	return a.CreatedAt.Add(time.Duration(j.Spec.AttemptDeadlineSeconds) * time.Second), true
}

// stopReason is why an active attempt must be stopped.
type stopReason struct {
	Reason  string // an AttemptReason
	Message string
	// Failure is set when the stop counts as a failed attempt.
	Failure bool
}

// stopsFor returns the active attempts that must be stopped, and why.
func stopsFor(j *jobs.Job, s summary, v verdict, now time.Time) map[struct{ index, attempt int }]stopReason {
	stops := map[struct{ index, attempt int }]stopReason{}
	var whole *stopReason
	switch {
	case v.Phase == jobs.PhaseCancelled:
		whole = &stopReason{Reason: jobs.AttemptReasonCancelled, Message: "stopped: job cancelled"}
	case v.Phase != "":
		whole = &stopReason{Reason: jobs.AttemptReasonJobFinished, Message: fmt.Sprintf("stopped: job %s (%s)", v.Phase, v.Reason)}
	case j.Spec.Suspend:
		whole = &stopReason{Reason: jobs.AttemptReasonSuspended, Message: "stopped: job suspended"}
	}
	var active []jobs.Attempt
	for _, a := range j.Status.Attempts {
		if a.Finished() {
			continue
		}
		k := struct{ index, attempt int }{a.Index, a.Attempt}
		switch {
		case whole != nil:
			stops[k] = *whole
		case s.succeededIdx[a.Index] || s.failedIdx[a.Index]:
			stops[k] = stopReason{Reason: jobs.AttemptReasonJobFinished, Message: "stopped: its index is already decided"}
		default:
			if dl, ok := attemptDeadline(j, a); ok && !now.Before(dl) {
				stops[k] = stopReason{Reason: jobs.AttemptReasonDeadlineExceeded, Failure: true,
					Message: fmt.Sprintf("stopped: attempt ran longer than attemptDeadlineSeconds (%ds)", j.Spec.AttemptDeadlineSeconds)}
				continue
			}
			active = append(active, a)
		}
	}
	// Parallelism lowered below the active count: stop the youngest.
	if excess := len(active) - j.Spec.Parallelism; excess > 0 {
		slices.SortStableFunc(active, func(a, b jobs.Attempt) int { return b.CreatedAt.Compare(a.CreatedAt) })
		for _, a := range active[:excess] {
			stops[struct{ index, attempt int }{a.Index, a.Attempt}] = stopReason{Reason: jobs.AttemptReasonScaledDown, Message: "stopped: parallelism lowered"}
		}
	}
	return stops
}

// plan returns the new attempts to start now, and requeues d for the ones
// that must wait for their backoff. Never more than parallelism attempts are
// active, and never more than completions still need.
func plan(j *jobs.Job, s summary, now time.Time, d *decision) []createAction {
	spec := j.Spec
	slots := spec.Parallelism - s.active
	var out []createAction
	newAttempt := func(index, attempt int) {
		out = append(out, createAction{New: true, Attempt: jobs.Attempt{
			Index: index, Attempt: attempt, Service: ServiceName(j.ID, index, attempt),
			State: jobs.AttemptCreating, CreatedAt: now,
		}})
	}
	if spec.CompletionMode != jobs.Indexed {
		slots = min(slots, spec.Completions-s.succeeded-s.active)
		if slots <= 0 {
			return nil
		}
		if s.streak > 0 {
			at := s.retryBase.Add(spec.Backoff.Delay(s.streak, seed(j.ID, 0, s.streak)))
			if now.Before(at) {
				d.Status.Reason, d.Status.Message = jobs.ReasonBackoff, fmt.Sprintf("next attempt starts at %s", at.UTC().Format(time.RFC3339Nano))
				d.requeue(at.Sub(now))
				return nil
			}
		}
		next := s.attemptsPerIndex[0]
		for k := range slots {
			newAttempt(0, next+k)
		}
		return out
	}
	var waiting []int
	for idx := 0; idx < spec.Completions && slots > 0; idx++ {
		if s.succeededIdx[idx] || s.failedIdx[idx] || s.activeByIndex[idx] > 0 {
			continue
		}
		if n := s.streakPerIdx[idx]; n > 0 {
			at := s.retryBasePerIdx[idx].Add(spec.Backoff.Delay(n, seed(j.ID, idx, n)))
			if now.Before(at) {
				waiting = append(waiting, idx)
				d.requeue(at.Sub(now))
				continue
			}
		}
		newAttempt(idx, s.attemptsPerIndex[idx])
		slots--
	}
	if len(waiting) > 0 && len(out) == 0 && s.active == 0 {
		d.Status.Reason, d.Status.Message = jobs.ReasonBackoff, fmt.Sprintf("indexes %v wait for their backoff", waiting)
	}
	return out
}

// seed makes the jitter of a backoff deterministic per job, index and
// failure count.
func seed(jobID string, index, failures int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d/%d", jobID, index, failures)
	return h.Sum64()
}

func (d *decision) requeue(after time.Duration) {
	after = max(after, time.Millisecond)
	if d.RequeueAfter == 0 || after < d.RequeueAfter {
		d.RequeueAfter = after
	}
}

// requeueAtDeadlines asks to be woken at the job's deadline and at the
// earliest attempt deadline.
func (d *decision) requeueAtDeadlines(j *jobs.Job, s summary, now time.Time) {
	if j.Spec.ActiveDeadlineSeconds > 0 && d.Status.StartedAt != nil {
		d.requeue(d.Status.StartedAt.Add(time.Duration(j.Spec.ActiveDeadlineSeconds) * time.Second).Sub(now))
	}
	for _, a := range j.Status.Attempts {
		if dl, ok := attemptDeadline(j, a); ok && !a.Finished() {
			d.requeue(dl.Sub(now))
		}
	}
	for _, c := range d.Create {
		if dl, ok := attemptDeadline(j, c.Attempt); ok {
			d.requeue(dl.Sub(now))
		}
	}
}

func finishStatus(st *jobs.Status, now time.Time, v verdict) {
	st.Phase, st.Reason, st.Message = v.Phase, v.Reason, v.Message
	st.FinishedAt = ptr(now)
}

// deriveStatus counts the recorded attempts. Phase stays terminal once
// terminal; otherwise it is Running once an attempt started or ended, and
// Suspended while suspended and settled.
func deriveStatus(j *jobs.Job, s summary, now time.Time) jobs.Status {
	st := j.Status
	st.Attempts = nil
	st.Active, st.Succeeded, st.Failed = s.active, s.succeeded, s.failed
	if j.Spec.CompletionMode == jobs.Indexed {
		st.CompletedIndexes = jobs.FormatIndexes(s.succeededIdx)
		st.FailedIndexes = jobs.FormatIndexes(s.failedIdx)
	}
	if st.Phase.Terminal() {
		return st
	}
	st.Phase = jobs.PhasePending
	if s.started {
		st.Phase = jobs.PhaseRunning
	}
	// A running job's reason and message describe the present only: plan
	// sets Backoff again while it lasts, and an active attempt that Swarm
	// cannot place or start says why.
	st.Reason, st.Message = "", ""
	for _, a := range j.Status.Attempts {
		if !a.Finished() && a.Error != "" {
			st.Message = fmt.Sprintf("attempt %d of index %d is %s: %s", a.Attempt, a.Index, a.State, a.Error)
		}
	}
	setConditions(&st, j.Status.Conditions, now)
	return st
}

// setConditions derives the Kubernetes-style conditions from the phase,
// keeping each condition's time while its status does not change.
func setConditions(st *jobs.Status, prev []jobs.Condition, now time.Time) {
	conds := slices.Clone(prev)
	set := func(typ string, status bool, reason, message string) {
		for i := range conds {
			if conds[i].Type == typ {
				if conds[i].Status != status {
					conds[i].Time = now
				}
				conds[i].Status, conds[i].Reason, conds[i].Message = status, reason, message
				return
			}
		}
		if status {
			conds = append(conds, jobs.Condition{Type: typ, Status: true, Reason: reason, Message: message, Time: now})
		}
	}
	suspended := st.Phase == jobs.PhaseSuspended
	reason := jobs.ReasonResumed
	switch {
	case suspended:
		reason = jobs.ReasonSuspended
	case st.Phase.Terminal():
		reason = st.Reason // ended while suspended, not resumed
	}
	set(jobs.ConditionSuspended, suspended, reason, "")
	set(jobs.ConditionComplete, st.Phase == jobs.PhaseSucceeded, st.Reason, st.Message)
	set(jobs.ConditionFailed, st.Phase == jobs.PhaseFailed || st.Phase == jobs.PhaseCancelled, st.Reason, st.Message)
	st.Conditions = conds
}

// observe returns a with what Swarm shows of its service and task.
func observe(a jobs.Attempt, o observedAttempt) jobs.Attempt {
	a.ServiceID = o.ServiceID
	if t := o.Task; t != nil {
		a.Task, a.Node, a.State = t.ID, t.Node, jobs.AttemptState(t.State)
		if t.State == swarm.TaskStateRunning && a.StartedAt == nil {
			a.StartedAt = ptr(t.Timestamp)
		}
		a.Error = t.Err
	}
	return a
}

// stopNow finishes attempt a for why at once, with what its task's container
// holds so far, and without waiting for logs that cannot be read.
func stopNow(a jobs.Attempt, o observedAttempt, why stopReason, now time.Time) finishAction {
	return finishAction{Outcome: stopped(observe(a, o), why, now), ServiceID: o.ServiceID,
		Capture: o.Task != nil && o.Task.HasContainer, BestEffort: true}
}

// stopped is the recorded form of an attempt swarmjob stops.
func stopped(a jobs.Attempt, why stopReason, now time.Time) jobs.Attempt {
	a.State, a.Reason, a.Error, a.FinishedAt = jobs.AttemptStopped, why.Reason, why.Message, ptr(now)
	if why.Failure {
		a.State = jobs.AttemptFailed
	}
	return a
}

// outcome is the recorded form of an attempt whose task ended.
func outcome(a jobs.Attempt, o observedAttempt, now time.Time) jobs.Attempt {
	a = observe(a, o)
	t := o.Task
	a.FinishedAt = ptr(t.Timestamp)
	if t.Timestamp.IsZero() {
		a.FinishedAt = ptr(now)
	}
	if a.StartedAt == nil && t.HasContainer {
		// The running state was not observed (it is often shorter than a
		// poll tick); the task's creation bounds the start from below.
		a.StartedAt = ptr(t.CreatedAt)
	}
	a.ExitCode = t.ExitCode
	switch t.State {
	case swarm.TaskStateComplete:
		a.State, a.Reason, a.Error = jobs.AttemptSucceeded, jobs.AttemptReasonCompleted, ""
	case swarm.TaskStateFailed:
		a.State, a.Reason = jobs.AttemptFailed, jobs.AttemptReasonFailed
		if a.ExitCode == nil {
			a.Reason = jobs.AttemptReasonRejected
		}
	case swarm.TaskStateShutdown:
		// swarmjob records its own stops before it removes a service, so
		// this shutdown is the Swarm's: a drained node, typically.
		a.State, a.Reason = jobs.AttemptFailed, jobs.AttemptReasonEvicted
		if a.Error == "" {
			a.Error = fmt.Sprintf("the Swarm shut the task down on node %s (drained?): %s", cmp.Or(t.Node, "?"), t.Message)
		}
	case swarm.TaskStateOrphaned:
		a.State, a.Reason = jobs.AttemptFailed, jobs.AttemptReasonNodeLost
	default:
		// rejected, remove: Swarm gave up on the task.
		a.State, a.Reason = jobs.AttemptFailed, jobs.AttemptReasonRejected
	}
	if a.State == jobs.AttemptFailed && a.Error == "" {
		a.Error = fmt.Sprintf("task %s: %s", t.State, t.Message)
	}
	return a
}

func attemptSummary(a jobs.Attempt) string {
	switch {
	case a.Error != "":
		return a.Error
	case a.ExitCode != nil:
		return fmt.Sprintf("exit code %d", *a.ExitCode)
	}
	return string(a.State)
}

func sameAttempt(a, b jobs.Attempt) bool {
	return a.ServiceID == b.ServiceID && a.Task == b.Task && a.Node == b.Node &&
		a.State == b.State && a.Error == b.Error && eqTime(a.StartedAt, b.StartedAt)
}

func eqTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func ptr[T any](v T) *T { return &v }
