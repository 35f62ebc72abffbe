package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/swarm"

	"github.com/swarmjob/swarmjob/jobs"
)

var t0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func newJob(mod ...func(*jobs.Job)) *jobs.Job {
	j := &jobs.Job{ID: "j1", CreatedAt: t0, Spec: jobs.Spec{Image: "img"}, Status: jobs.Status{Phase: jobs.PhasePending}}
	j.Spec.Defaults()
	for _, m := range mod {
		m(j)
	}
	return j
}

func withAttempts(atts ...jobs.Attempt) func(*jobs.Job) {
	return func(j *jobs.Job) {
		j.Status.Attempts = atts
		j.Status.Phase = jobs.PhaseRunning
		j.Status.StartedAt = ptr(t0)
	}
}

func active(n int, state jobs.AttemptState) jobs.Attempt {
	return jobs.Attempt{Attempt: n, Service: ServiceName("j1", 0, n), ServiceID: "svc" + string(rune('0'+n)), State: state, CreatedAt: at(float64(n))}
}

func finished(n int, state jobs.AttemptState, finishedAt float64, removed bool) jobs.Attempt {
	a := active(n, state)
	a.FinishedAt, a.Removed, a.StartedAt = ptr(at(finishedAt)), removed, ptr(at(float64(n)))
	return a
}

func obs(n int, state swarm.TaskState, exit *int, errText string) observedAttempt {
	o := observedAttempt{JobID: "j1", Attempt: n, ServiceID: "svc" + string(rune('0'+n)), Service: ServiceName("j1", 0, n)}
	if state != "" {
		o.Task = &observedTask{ID: "task" + string(rune('0'+n)), NodeID: "n1", Node: "node1", State: state, ExitCode: exit, Err: errText,
			Timestamp: at(float64(n) + 0.5), CreatedAt: at(float64(n) + 0.1),
			HasContainer: state != swarm.TaskStateRejected && state != swarm.TaskStatePending}
	}
	return o
}

// lostNode is o with its task's node down past the grace.
func lostNode(o observedAttempt) observedAttempt {
	o.Task.NodeLost = true
	return o
}

// stoppedAt is o after swarmjob stopped it (stopSpec) at at.
func stoppedAt(o observedAttempt, reason string, at time.Time) observedAttempt {
	o.Stop, o.StopAt = &stopReason{Reason: reason, Message: "stopped"}, at
	return o
}

func TestDecide(t *testing.T) {
	zero, three := 0, 3
	tests := []struct {
		name     string
		job      *jobs.Job
		observed []observedAttempt
		takenAt  time.Time
		now      time.Time
		check    func(t *testing.T, d decision)
	}{
		{
			name: "new job creates attempt 0 and starts the clock",
			job:  newJob(),
			now:  at(1),
			check: func(t *testing.T, d decision) {
				want := []createAction{{New: true, Attempt: jobs.Attempt{Attempt: 0, Service: "swarmjob-j1-0-0", State: jobs.AttemptCreating, CreatedAt: at(1)}}}
				if diff := cmp.Diff(want, d.Create); diff != "" {
					t.Errorf("create (-want +got):\n%s", diff)
				}
				if d.Status.StartedAt == nil || !d.Status.StartedAt.Equal(at(1)) {
					t.Errorf("startedAt = %v, want %v", d.Status.StartedAt, at(1))
				}
				if d.Status.Phase != jobs.PhasePending {
					t.Errorf("phase = %s, want Pending", d.Status.Phase)
				}
			},
		},
		{
			name:    "recorded attempt without a confirmed service is created again, not as new",
			job:     newJob(withAttempts(jobs.Attempt{Attempt: 0, Service: "swarmjob-j1-0-0", State: jobs.AttemptCreating, CreatedAt: at(0)})),
			takenAt: at(10), now: at(10),
			check: func(t *testing.T, d decision) {
				if len(d.Create) != 1 || d.Create[0].New || d.Create[0].Attempt.Attempt != 0 {
					t.Errorf("create = %+v, want one repeat create of attempt 0", d.Create)
				}
			},
		},
		{
			name:     "running task is recorded with its start",
			job:      newJob(withAttempts(active(0, "new"))),
			observed: []observedAttempt{obs(0, swarm.TaskStateRunning, nil, "")},
			takenAt:  at(1), now: at(1),
			check: func(t *testing.T, d decision) {
				if len(d.Record) != 1 || d.Record[0].State != "running" || d.Record[0].StartedAt == nil || d.Record[0].Node != "node1" {
					t.Errorf("record = %+v, want running with start and node", d.Record)
				}
				if len(d.Create)+len(d.Finish) != 0 {
					t.Errorf("unexpected create/finish: %+v %+v", d.Create, d.Finish)
				}
			},
		},
		{
			name:     "unchanged running task needs nothing",
			job:      newJob(withAttempts(observe(active(0, "new"), obs(0, swarm.TaskStateRunning, nil, "")))),
			observed: []observedAttempt{obs(0, swarm.TaskStateRunning, nil, "")},
			takenAt:  at(1), now: at(1),
			check: func(t *testing.T, d decision) {
				if d.hasActions() {
					t.Errorf("actions = %+v, want none", d)
				}
				if d.Status.Phase != jobs.PhaseRunning || d.Status.Active != 1 {
					t.Errorf("status = %s active %d, want Running 1", d.Status.Phase, d.Status.Active)
				}
			},
		},
		{
			name:     "completed task: capture then record success",
			job:      newJob(withAttempts(active(0, "running"))),
			observed: []observedAttempt{obs(0, swarm.TaskStateComplete, &zero, "")},
			takenAt:  at(2), now: at(2),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 1 {
					t.Fatalf("finish = %+v, want one", d.Finish)
				}
				f := d.Finish[0]
				if !f.Capture || f.ServiceID != "svc0" || f.Outcome.State != jobs.AttemptSucceeded || *f.Outcome.ExitCode != 0 {
					t.Errorf("finish = %+v", f)
				}
				if len(d.Remove) != 0 {
					t.Errorf("remove before the outcome is recorded: %+v", d.Remove)
				}
			},
		},
		{
			name:     "recorded outcome: service removed",
			job:      newJob(withAttempts(finished(0, jobs.AttemptSucceeded, 1, false))),
			observed: []observedAttempt{obs(0, swarm.TaskStateComplete, &zero, "")},
			takenAt:  at(2), now: at(2),
			check: func(t *testing.T, d decision) {
				if len(d.Remove) != 1 || d.Remove[0].ServiceID != "svc0" {
					t.Errorf("remove = %+v, want svc0", d.Remove)
				}
			},
		},
		{
			name: "success after removal: Succeeded",
			job:  newJob(withAttempts(finished(0, jobs.AttemptSucceeded, 1, true))),
			now:  at(3), takenAt: at(3),
			check: func(t *testing.T, d decision) {
				if d.Status.Phase != jobs.PhaseSucceeded || d.Status.Reason != jobs.ReasonCompleted || d.Status.FinishedAt == nil || d.Status.Succeeded != 1 {
					t.Errorf("status = %+v", d.Status)
				}
			},
		},
		{
			name:     "exit 3 recorded as failure with exit code",
			job:      newJob(withAttempts(active(0, "running"))),
			observed: []observedAttempt{obs(0, swarm.TaskStateFailed, &three, "task: non-zero exit (3)")},
			takenAt:  at(2), now: at(2),
			check: func(t *testing.T, d decision) {
				f := d.Finish[0]
				if f.Outcome.State != jobs.AttemptFailed || *f.Outcome.ExitCode != 3 || f.Outcome.Error != "task: non-zero exit (3)" || !f.Capture {
					t.Errorf("finish = %+v", f)
				}
			},
		},
		{
			name:     "rejected task fails without capture, with Swarm's error",
			job:      newJob(withAttempts(active(0, "new"))),
			observed: []observedAttempt{obs(0, swarm.TaskStateRejected, nil, "No such image: nosuch:1")},
			takenAt:  at(1), now: at(1),
			check: func(t *testing.T, d decision) {
				f := d.Finish[0]
				if f.Capture || f.Outcome.State != jobs.AttemptFailed || f.Outcome.Error != "No such image: nosuch:1" || f.Outcome.ExitCode != nil {
					t.Errorf("finish = %+v", f)
				}
			},
		},
		{
			name:     "a task the Swarm shut down (a drained node) is evicted, with its logs",
			job:      newJob(withAttempts(active(0, "running"))),
			observed: []observedAttempt{obs(0, swarm.TaskStateShutdown, nil, "")},
			takenAt:  at(1), now: at(1),
			check: func(t *testing.T, d decision) {
				f := d.Finish[0]
				if !f.Capture || f.Outcome.State != jobs.AttemptFailed || f.Outcome.Reason != jobs.AttemptReasonEvicted ||
					!strings.Contains(f.Outcome.Error, "shut the task down on node node1") {
					t.Errorf("finish = %+v", f)
				}
			},
		},
		{
			name:     "an orphaned task's node is lost",
			job:      newJob(withAttempts(active(0, "running"))),
			observed: []observedAttempt{obs(0, swarm.TaskStateOrphaned, nil, "")},
			takenAt:  at(1), now: at(1),
			check: func(t *testing.T, d decision) {
				if f := d.Finish[0]; f.Outcome.Reason != jobs.AttemptReasonNodeLost {
					t.Errorf("finish = %+v", f)
				}
			},
		},
		{
			name: "failure over backoffLimit: Failed with the last error",
			job:  newJob(withAttempts(func() jobs.Attempt { a := finished(0, jobs.AttemptFailed, 1, true); a.ExitCode = &three; return a }())),
			now:  at(5), takenAt: at(5),
			check: func(t *testing.T, d decision) {
				if d.Status.Phase != jobs.PhaseFailed || d.Status.Reason != jobs.ReasonBackoffLimitExceeded || d.Status.Failed != 1 {
					t.Errorf("status = %+v", d.Status)
				}
				if len(d.Create) != 0 {
					t.Errorf("created %+v after the limit", d.Create)
				}
			},
		},
		{
			name: "failure within backoffLimit waits for the backoff",
			job:  newJob(func(j *jobs.Job) { j.Spec.BackoffLimit = 2 }, withAttempts(finished(0, jobs.AttemptFailed, 1, true))),
			now:  at(1.4), takenAt: at(1.4),
			check: func(t *testing.T, d decision) {
				if len(d.Create) != 0 {
					t.Errorf("created during backoff: %+v", d.Create)
				}
				if d.RequeueAfter != 600*time.Millisecond {
					t.Errorf("requeue = %v, want 600ms", d.RequeueAfter)
				}
				if d.Status.Reason != jobs.ReasonBackoff || d.Status.Phase != jobs.PhaseRunning {
					t.Errorf("status = %+v", d.Status)
				}
			},
		},
		{
			name: "after the backoff the next attempt starts",
			job: newJob(func(j *jobs.Job) { j.Spec.BackoffLimit = 2 }, withAttempts(finished(0, jobs.AttemptFailed, 1, true)),
				func(j *jobs.Job) { j.Status.Reason = jobs.ReasonBackoff }),
			now: at(2), takenAt: at(2),
			check: func(t *testing.T, d decision) {
				if len(d.Create) != 1 || !d.Create[0].New || d.Create[0].Attempt.Attempt != 1 || d.Create[0].Attempt.Service != "swarmjob-j1-0-1" {
					t.Errorf("create = %+v, want new attempt 1", d.Create)
				}
				if d.Status.Reason != "" {
					t.Errorf("reason = %q, want cleared", d.Status.Reason)
				}
			},
		},
		{
			name: "second failure doubles the backoff",
			job: newJob(func(j *jobs.Job) { j.Spec.BackoffLimit = 5 },
				withAttempts(finished(0, jobs.AttemptFailed, 1, true), finished(1, jobs.AttemptFailed, 3, true))),
			now: at(4), takenAt: at(4),
			check: func(t *testing.T, d decision) {
				if d.RequeueAfter != time.Second || len(d.Create) != 0 {
					t.Errorf("requeue = %v create = %v, want 1s and none", d.RequeueAfter, d.Create)
				}
			},
		},
		{
			name: "a success resets the backoff streak",
			job: newJob(func(j *jobs.Job) { j.Spec.BackoffLimit = 5; j.Spec.Completions = 3 },
				withAttempts(finished(0, jobs.AttemptFailed, 1, true), finished(1, jobs.AttemptSucceeded, 3, true), finished(2, jobs.AttemptFailed, 4, true))),
			now: at(4.5), takenAt: at(4.5),
			check: func(t *testing.T, d decision) {
				if d.RequeueAfter != 500*time.Millisecond || len(d.Create) != 0 {
					t.Errorf("requeue = %v create = %v, want the first backoff step (1s after 4s) again", d.RequeueAfter, d.Create)
				}
			},
		},
		{
			name: "ignored failures back off too",
			job: newJob(func(j *jobs.Job) {
				j.Spec.FailurePolicy = &jobs.FailurePolicy{Rules: []jobs.FailureRule{{Action: jobs.ActionIgnore, OnExitCodes: &jobs.ExitCodes{Operator: "In", Values: []int{3}}}}}
			}, withAttempts(func() jobs.Attempt { a := finished(0, jobs.AttemptFailed, 1, true); a.ExitCode = &three; return a }())),
			now: at(1.2), takenAt: at(1.2),
			check: func(t *testing.T, d decision) {
				if len(d.Create) != 0 || d.RequeueAfter != 800*time.Millisecond || d.Status.Failed != 0 {
					t.Errorf("create = %v requeue = %v failed = %d, want a backoff and nothing counted", d.Create, d.RequeueAfter, d.Status.Failed)
				}
			},
		},
		{
			name:     "deadline stops the running attempt, keeping its container",
			job:      newJob(func(j *jobs.Job) { j.Spec.ActiveDeadlineSeconds = 5 }, withAttempts(active(0, "running"))),
			observed: []observedAttempt{obs(0, swarm.TaskStateRunning, nil, "")},
			now:      at(5), takenAt: at(5),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 0 || len(d.Stop) != 1 || d.Stop[0].ServiceID != "svc0" || d.Stop[0].Why.Reason != jobs.AttemptReasonJobFinished {
					t.Errorf("finish = %+v, stop = %+v, want a stop of svc0 and nothing finished yet", d.Finish, d.Stop)
				}
			},
		},
		{
			name:     "a stopped task that has not ended yet is waited for",
			job:      newJob(withAttempts(active(0, "running")), func(j *jobs.Job) { j.CancelRequested = true }),
			observed: []observedAttempt{stoppedAt(obs(0, swarm.TaskStateRunning, nil, ""), jobs.AttemptReasonCancelled, at(2))},
			now:      at(5), takenAt: at(5),
			check: func(t *testing.T, d decision) {
				if d.hasActions() || d.RequeueAfter != stopWait(newJob())-3*time.Second || d.Status.Phase.Terminal() {
					t.Errorf("actions %+v, requeue %v, phase %s; want to wait until the stop's limit, the job not finished", d, d.RequeueAfter, d.Status.Phase)
				}
				if d.Status.Reason != jobs.ReasonStopping || d.Status.Message != "job cancelled; waiting for 1 attempt(s) to exit" {
					t.Errorf("status %s: %s, want Stopping and why", d.Status.Reason, d.Status.Message)
				}
			},
		},
		{
			name:     "a stopped task that ended: its output is captured, its outcome the stop's",
			job:      newJob(withAttempts(active(0, "running")), func(j *jobs.Job) { j.CancelRequested = true }),
			observed: []observedAttempt{stoppedAt(obs(0, swarm.TaskStateShutdown, nil, ""), jobs.AttemptReasonCancelled, at(2))},
			now:      at(5), takenAt: at(5),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 1 || !d.Finish[0].Capture || d.Finish[0].Outcome.State != jobs.AttemptStopped ||
					d.Finish[0].Outcome.Reason != jobs.AttemptReasonCancelled || !d.Finish[0].Outcome.FinishedAt.Equal(at(0.5)) {
					t.Errorf("finish = %+v, want the stop's outcome, when the task ended, with its output", d.Finish)
				}
			},
		},
		{
			name:     "a stop outlives a resume: the task swarmjob shut down is recorded stopped, not evicted",
			job:      newJob(withAttempts(active(0, "running"))),
			observed: []observedAttempt{stoppedAt(obs(0, swarm.TaskStateShutdown, nil, ""), jobs.AttemptReasonSuspended, at(2))},
			now:      at(5), takenAt: at(5),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 1 || d.Finish[0].Outcome.Reason != jobs.AttemptReasonSuspended {
					t.Errorf("finish = %+v, want the attempt stopped as suspended", d.Finish)
				}
			},
		},
		{
			name:     "a stopped task that finished on its own keeps its own outcome",
			job:      newJob(withAttempts(active(0, "running")), func(j *jobs.Job) { j.CancelRequested = true }),
			observed: []observedAttempt{stoppedAt(obs(0, swarm.TaskStateComplete, &zero, ""), jobs.AttemptReasonCancelled, at(2))},
			now:      at(5), takenAt: at(5),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 1 || d.Finish[0].Outcome.State != jobs.AttemptSucceeded {
					t.Errorf("finish = %+v, want the task's success", d.Finish)
				}
			},
		},
		{
			name:     "a stopped task that does not end in time is finished without it",
			job:      newJob(withAttempts(active(0, "running")), func(j *jobs.Job) { j.CancelRequested = true }),
			observed: []observedAttempt{stoppedAt(obs(0, swarm.TaskStateRunning, nil, ""), jobs.AttemptReasonCancelled, at(2))},
			now:      at(2).Add(30 * time.Second), takenAt: at(2).Add(30 * time.Second),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 1 || !d.Finish[0].BestEffort || d.Finish[0].Outcome.Reason != jobs.AttemptReasonCancelled {
					t.Errorf("finish = %+v, want a best-effort stop", d.Finish)
				}
			},
		},
		{
			name: "a longer grace period is waited for",
			job: newJob(withAttempts(active(0, "running")), func(j *jobs.Job) {
				j.CancelRequested, j.Spec.StopGracePeriodSeconds = true, ptr[int64](60)
			}),
			observed: []observedAttempt{stoppedAt(obs(0, swarm.TaskStateRunning, nil, ""), jobs.AttemptReasonCancelled, at(2))},
			now:      at(2).Add(40 * time.Second), takenAt: at(2).Add(40 * time.Second),
			check: func(t *testing.T, d decision) {
				if d.hasActions() || d.RequeueAfter != 40*time.Second {
					t.Errorf("actions %+v, requeue %v; want to wait 60 s + %v in all", d, d.RequeueAfter, stopReportTime)
				}
			},
		},
		{
			name:     "a node lost while the attempt stops does not make the stop a failure",
			job:      newJob(withAttempts(active(0, "running")), func(j *jobs.Job) { j.Spec.Parallelism = 1 }),
			observed: []observedAttempt{stoppedAt(lostNode(obs(0, swarm.TaskStateRunning, nil, "")), jobs.AttemptReasonScaledDown, at(2))},
			now:      at(5), takenAt: at(5),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 1 || d.Finish[0].Outcome.State != jobs.AttemptStopped || d.Finish[0].Outcome.Reason != jobs.AttemptReasonScaledDown {
					t.Errorf("finish = %+v, want stopped as scaled down, not NodeLost", d.Finish)
				}
			},
		},
		{
			name:     "a delete after a stop does not wait for it",
			job:      newJob(withAttempts(active(0, "running")), func(j *jobs.Job) { j.CancelRequested, j.DeleteRequested = true, true }),
			observed: []observedAttempt{stoppedAt(obs(0, swarm.TaskStateRunning, nil, ""), jobs.AttemptReasonCancelled, at(2))},
			now:      at(3), takenAt: at(3),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 1 || !d.Finish[0].BestEffort {
					t.Errorf("finish = %+v, want it finished at once", d.Finish)
				}
			},
		},
		{
			name:     "a stopped attempt whose task is gone is finished, saying why its output is missing",
			job:      newJob(withAttempts(active(0, "running")), func(j *jobs.Job) { j.CancelRequested = true }),
			observed: []observedAttempt{stoppedAt(obs(0, "", nil, ""), jobs.AttemptReasonCancelled, at(2))},
			now:      at(3), takenAt: at(3),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 1 || d.Finish[0].Capture || !strings.Contains(d.Finish[0].Outcome.Error, "task history limit") {
					t.Errorf("finish = %+v, want it finished without capture, saying why", d.Finish)
				}
			},
		},
		{
			name:     "a job being deleted is not waited for",
			job:      newJob(withAttempts(active(0, "running")), func(j *jobs.Job) { j.CancelRequested, j.DeleteRequested = true, true }),
			observed: []observedAttempt{obs(0, swarm.TaskStateRunning, nil, "")},
			now:      at(2), takenAt: at(2),
			check: func(t *testing.T, d decision) {
				if len(d.Stop) != 0 || len(d.Finish) != 1 {
					t.Errorf("stop = %+v, finish = %+v, want it finished at once", d.Stop, d.Finish)
				}
			},
		},
		{
			name:     "a task without a container is stopped at once",
			job:      newJob(withAttempts(active(0, "new")), func(j *jobs.Job) { j.CancelRequested = true }),
			observed: []observedAttempt{obs(0, swarm.TaskStatePending, nil, "")},
			now:      at(2), takenAt: at(2),
			check: func(t *testing.T, d decision) {
				if len(d.Stop) != 0 || len(d.Finish) != 1 || d.Finish[0].Outcome.State != jobs.AttemptStopped {
					t.Errorf("stop = %+v, finish = %+v, want it finished at once", d.Stop, d.Finish)
				}
			},
		},
		{
			name: "deadline with nothing active: Failed DeadlineExceeded",
			job:  newJob(func(j *jobs.Job) { j.Spec.ActiveDeadlineSeconds = 5 }, withAttempts(finished(0, jobs.AttemptStopped, 5, true))),
			now:  at(5.1), takenAt: at(5.1),
			check: func(t *testing.T, d decision) {
				if d.Status.Phase != jobs.PhaseFailed || d.Status.Reason != jobs.ReasonDeadlineExceeded || d.Status.Failed != 0 {
					t.Errorf("status = %+v", d.Status)
				}
			},
		},
		{
			name:     "deadline ahead: requeue at the deadline",
			job:      newJob(func(j *jobs.Job) { j.Spec.ActiveDeadlineSeconds = 5 }, withAttempts(observe(active(0, "new"), obs(0, swarm.TaskStateRunning, nil, "")))),
			observed: []observedAttempt{obs(0, swarm.TaskStateRunning, nil, "")},
			now:      at(2), takenAt: at(2),
			check: func(t *testing.T, d decision) {
				if d.RequeueAfter != 3*time.Second {
					t.Errorf("requeue = %v, want 3s", d.RequeueAfter)
				}
			},
		},
		{
			name:     "cancel stops the running attempt",
			job:      newJob(withAttempts(active(0, "running")), func(j *jobs.Job) { j.CancelRequested = true }),
			observed: []observedAttempt{obs(0, swarm.TaskStateRunning, nil, "")},
			now:      at(2), takenAt: at(2),
			check: func(t *testing.T, d decision) {
				if len(d.Stop) != 1 || d.Stop[0].Why.Reason != jobs.AttemptReasonCancelled {
					t.Errorf("stop = %+v, want the running attempt stopped as cancelled", d.Stop)
				}
			},
		},
		{
			name: "cancel with nothing active: Cancelled, not a failure",
			job:  newJob(withAttempts(finished(0, jobs.AttemptStopped, 2, true)), func(j *jobs.Job) { j.CancelRequested = true }),
			now:  at(3), takenAt: at(3),
			check: func(t *testing.T, d decision) {
				if d.Status.Phase != jobs.PhaseCancelled || d.Status.Reason != jobs.ReasonCancelled || d.Status.Failed != 0 {
					t.Errorf("status = %+v", d.Status)
				}
			},
		},
		{
			name: "cancel before any attempt: Cancelled without creating",
			job:  newJob(func(j *jobs.Job) { j.CancelRequested = true }),
			now:  at(1),
			check: func(t *testing.T, d decision) {
				if len(d.Create) != 0 || d.Status.Phase != jobs.PhaseCancelled {
					t.Errorf("create = %+v status = %+v", d.Create, d.Status)
				}
			},
		},
		{
			name: "terminal job stays terminal and starts nothing",
			job: newJob(withAttempts(finished(0, jobs.AttemptFailed, 1, true)), func(j *jobs.Job) {
				j.Status.Phase, j.Status.Reason = jobs.PhaseFailed, jobs.ReasonBackoffLimitExceeded
				j.Spec.BackoffLimit = 3
				j.CancelRequested = true
			}),
			now: at(100), takenAt: at(100),
			check: func(t *testing.T, d decision) {
				if d.hasActions() || d.Status.Phase != jobs.PhaseFailed || d.Status.Reason != jobs.ReasonBackoffLimitExceeded {
					t.Errorf("decision = %+v", d)
				}
			},
		},
		{
			name: "deleted terminal job with nothing left is deleted",
			job: newJob(withAttempts(finished(0, jobs.AttemptSucceeded, 1, true)), func(j *jobs.Job) {
				j.Status.Phase, j.DeleteRequested, j.CancelRequested = jobs.PhaseSucceeded, true, true
			}),
			now: at(3), takenAt: at(3),
			check: func(t *testing.T, d decision) {
				if !d.DeleteJob {
					t.Errorf("decision = %+v, want DeleteJob", d)
				}
			},
		},
		{
			name: "deleted job with a service left removes it first",
			job: newJob(withAttempts(finished(0, jobs.AttemptStopped, 1, false)), func(j *jobs.Job) {
				j.Status.Phase, j.DeleteRequested, j.CancelRequested = jobs.PhaseCancelled, true, true
			}),
			observed: []observedAttempt{obs(0, swarm.TaskStateRunning, nil, "")},
			now:      at(3), takenAt: at(3),
			check: func(t *testing.T, d decision) {
				if d.DeleteJob || len(d.Remove) != 1 {
					t.Errorf("decision = %+v, want a removal and no delete", d)
				}
			},
		},
		{
			name: "an attempt Swarm cannot place explains the wait",
			job: newJob(withAttempts(func() jobs.Attempt {
				a := active(0, "pending")
				a.Error = "no suitable node (scheduling constraints not satisfied on 1 node)"
				return a
			}())),
			observed: []observedAttempt{func() observedAttempt {
				o := obs(0, swarm.TaskStatePending, nil, "no suitable node (scheduling constraints not satisfied on 1 node)")
				return o
			}()},
			takenAt: at(2), now: at(2),
			check: func(t *testing.T, d decision) {
				want := "attempt 0 of index 0 is pending: no suitable node (scheduling constraints not satisfied on 1 node)"
				if len(d.Create)+len(d.Finish) != 0 || d.Status.Message != want || d.Status.Phase != jobs.PhasePending {
					t.Errorf("status = %+v, want Pending with message %q", d.Status, want)
				}
			},
		},
		{
			name:    "service that vanished after its creation fails the attempt",
			job:     newJob(withAttempts(active(0, "running"))),
			takenAt: at(30), now: at(30),
			check: func(t *testing.T, d decision) {
				if len(d.Finish) != 1 || d.Finish[0].Capture || d.Finish[0].Outcome.State != jobs.AttemptFailed {
					t.Errorf("finish = %+v", d.Finish)
				}
			},
		},
		{
			name:    "service not yet in a fresh snapshot: look again",
			job:     newJob(withAttempts(active(0, "new"))),
			takenAt: at(0.5), now: at(0.6),
			check: func(t *testing.T, d decision) {
				if d.hasActions() || d.RequeueAfter == 0 {
					t.Errorf("decision = %+v, want only a requeue", d)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, decide(tt.job, tt.observed, tt.takenAt, tt.now))
		})
	}
}
