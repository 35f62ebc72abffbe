package controller

import (
	"fmt"
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
	return len(d.Finish)+len(d.Remove)+len(d.Record)+len(d.Create) > 0 || d.DeleteJob
}

// finishAction records the end of an attempt. When Capture is set the
// attempt's service logs are stored first. Outcome holds the attempt as it
// must be recorded, except its log size.
type finishAction struct {
	Outcome   jobs.Attempt
	ServiceID string
	Capture   bool
}

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

// stopReason says why active attempts must be stopped, or "" if not.
func stopReason(j *jobs.Job, now time.Time) (reason, message string) {
	if j.CancelRequested {
		return jobs.ReasonCancelled, "job cancelled"
	}
	if deadlineExceeded(j, now) {
		return jobs.ReasonDeadlineExceeded, fmt.Sprintf("job ran longer than activeDeadlineSeconds (%ds)", j.Spec.ActiveDeadlineSeconds)
	}
	return "", ""
}

func deadlineExceeded(j *jobs.Job, now time.Time) bool {
	return j.Spec.ActiveDeadlineSeconds > 0 && j.Status.StartedAt != nil &&
		!now.Before(j.Status.StartedAt.Add(time.Duration(j.Spec.ActiveDeadlineSeconds)*time.Second))
}

// decide computes the next step for job j given the attempts Swarm shows
// (observed, taken at takenAt) and the current time. j.Status.Attempts holds
// the recorded attempts. decide is pure: it reads its arguments only.
func decide(j *jobs.Job, observed []observedAttempt, takenAt, now time.Time) decision {
	var d decision
	type key struct{ index, attempt int }
	seen := make(map[key]observedAttempt, len(observed))
	for _, o := range observed {
		seen[key{o.Index, o.Attempt}] = o
	}
	recorded := make(map[key]bool, len(j.Status.Attempts))

	terminal := j.Status.Phase.Terminal()
	stopWhy, stopMsg := stopReason(j, now)
	if terminal {
		// A terminal job starts nothing and keeps its reason; anything still
		// active (which a correct controller never leaves) is stopped.
		stopWhy, stopMsg = string(j.Status.Phase), "job already "+string(j.Status.Phase)
	}

	for _, a := range j.Status.Attempts {
		k := key{a.Index, a.Attempt}
		recorded[k] = true
		o, present := seen[k]
		if a.Finished() {
			if a.Removed {
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
		if !present {
			switch {
			case a.ServiceID == "" && stopWhy == "":
				// Recorded but not confirmed created: a crash may have
				// come between the two. Creating again is safe: the name
				// is deterministic and Swarm refuses a duplicate.
				d.Create = append(d.Create, createAction{Attempt: a})
			case a.ServiceID == "":
				// Stopping an attempt that may never have been created.
				out := a
				out.State, out.Error, out.FinishedAt = jobs.AttemptStopped, "stopped before it started: "+stopMsg, ptr(now)
				d.Finish = append(d.Finish, finishAction{Outcome: out})
			case takenAt.After(a.CreatedAt.Add(serviceVanishedGrace)):
				out := a
				out.State, out.Error, out.FinishedAt = jobs.AttemptFailed, "service was removed outside swarmjob", ptr(now)
				d.Finish = append(d.Finish, finishAction{Outcome: out})
			default:
				d.requeue(time.Second)
			}
			continue
		}
		if t := o.Task; t != nil && t.terminal() {
			d.Finish = append(d.Finish, finishAction{Outcome: outcome(a, o, now), ServiceID: o.ServiceID, Capture: t.HasContainer})
			continue
		}
		if stopWhy != "" {
			out := observe(a, o)
			out.State, out.Error, out.FinishedAt = jobs.AttemptStopped, "stopped: "+stopMsg, ptr(now)
			hasContainer := o.Task != nil && o.Task.HasContainer
			d.Finish = append(d.Finish, finishAction{Outcome: out, ServiceID: o.ServiceID, Capture: hasContainer})
			continue
		}
		if upd := observe(a, o); !sameAttempt(upd, a) {
			d.Record = append(d.Record, upd)
		}
	}
	// Services of this job that the store does not know: the store write
	// of a new attempt always precedes its creation, so these belong to a
	// record that was lost. Never adopt them; the garbage collector removes
	// orphans. (Nothing to do here.)

	d.Status = deriveStatus(j, now)
	if d.hasActions() {
		return d
	}
	if terminal {
		if j.DeleteRequested && len(observed) == 0 && d.RequeueAfter == 0 {
			d.DeleteJob = true
		}
		return d
	}

	st := &d.Status
	switch {
	case st.Active > 0:
		// Wait for Swarm; the observer enqueues the job when it changes.
		// A deadline needs a timer of its own.
	case stopWhy != "":
		finishStatus(st, now, phaseFor(stopWhy), stopWhy, stopMsg)
	case st.Succeeded >= 1:
		finishStatus(st, now, jobs.PhaseSucceeded, jobs.ReasonCompleted, "")
	case st.Failed > j.Spec.BackoffLimit:
		last := j.Status.Attempts[len(j.Status.Attempts)-1]
		finishStatus(st, now, jobs.PhaseFailed, jobs.ReasonBackoffLimitExceeded,
			fmt.Sprintf("%d failed attempt(s), backoffLimit is %d; last: %s", st.Failed, j.Spec.BackoffLimit, attemptSummary(last)))
	default:
		next := len(j.Status.Attempts)
		if st.Failed > 0 {
			last := lastFinished(j.Status.Attempts)
			at := last.Add(j.Spec.Backoff.Delay(st.Failed))
			if now.Before(at) {
				st.Reason, st.Message = jobs.ReasonBackoff, fmt.Sprintf("attempt %d starts at %s", next, at.UTC().Format(time.RFC3339Nano))
				d.requeue(at.Sub(now))
				break
			}
		}
		a := jobs.Attempt{Index: 0, Attempt: next, Service: ServiceName(j.ID, 0, next), State: jobs.AttemptCreating, CreatedAt: now}
		d.Create = append(d.Create, createAction{Attempt: a, New: true})
		if st.StartedAt == nil {
			st.StartedAt = ptr(now)
		}
	}
	if !st.Phase.Terminal() && j.Spec.ActiveDeadlineSeconds > 0 && st.StartedAt != nil {
		d.requeue(st.StartedAt.Add(time.Duration(j.Spec.ActiveDeadlineSeconds) * time.Second).Sub(now))
	}
	return d
}

func (d *decision) requeue(after time.Duration) {
	after = max(after, time.Millisecond)
	if d.RequeueAfter == 0 || after < d.RequeueAfter {
		d.RequeueAfter = after
	}
}

func phaseFor(reason string) jobs.Phase {
	if reason == jobs.ReasonCancelled {
		return jobs.PhaseCancelled
	}
	return jobs.PhaseFailed
}

func finishStatus(st *jobs.Status, now time.Time, phase jobs.Phase, reason, message string) {
	st.Phase, st.Reason, st.Message = phase, reason, message
	st.FinishedAt = ptr(now)
}

// deriveStatus counts the recorded attempts. Phase stays terminal once
// terminal; otherwise it is Running once an attempt started or ended.
func deriveStatus(j *jobs.Job, now time.Time) jobs.Status {
	st := j.Status
	st.Attempts = nil
	st.Active, st.Succeeded, st.Failed = 0, 0, 0
	started := false
	for _, a := range j.Status.Attempts {
		switch a.State {
		case jobs.AttemptSucceeded:
			st.Succeeded++
		case jobs.AttemptFailed:
			st.Failed++
		case jobs.AttemptStopped:
			// Stopped by the deadline: a failure; by cancel: not counted.
			if !j.CancelRequested {
				st.Failed++
			}
		default:
			st.Active++
		}
		if a.StartedAt != nil || a.Finished() {
			started = true
		}
	}
	if !st.Phase.Terminal() {
		st.Phase = jobs.PhasePending
		if started {
			st.Phase = jobs.PhaseRunning
		}
		// A running job's reason and message describe the present only:
		// decide sets Backoff again while it lasts, and an active attempt
		// that Swarm cannot place or start says why.
		st.Reason, st.Message = "", ""
		for _, a := range j.Status.Attempts {
			if !a.Finished() && a.Error != "" {
				st.Message = fmt.Sprintf("attempt %d is %s: %s", a.Attempt, a.State, a.Error)
			}
		}
	}
	return st
}

// observe returns a with what Swarm shows of its service and task.
func observe(a jobs.Attempt, o observedAttempt) jobs.Attempt {
	a.ServiceID = o.ServiceID
	if t := o.Task; t != nil {
		a.Task, a.Node, a.State = t.ID, t.Node, jobs.AttemptState(t.State)
		if t.started() && a.StartedAt == nil {
			a.StartedAt = ptr(t.Timestamp)
		}
		a.Error = t.Err
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
		a.State = jobs.AttemptSucceeded
		a.Error = ""
	default:
		a.State = jobs.AttemptFailed
		if a.Error == "" {
			a.Error = fmt.Sprintf("task %s: %s", t.State, t.Message)
		}
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

func lastFinished(atts []jobs.Attempt) time.Time {
	var t time.Time
	for _, a := range atts {
		if a.FinishedAt != nil && a.FinishedAt.After(t) {
			t = *a.FinishedAt
		}
	}
	return t
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
