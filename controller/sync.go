package controller

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/results"
)

// maxStepsPerSync bounds the decide-act rounds of one sync; a job that still
// has actions after that is requeued at once.
const maxStepsPerSync = 8

// syncJob brings job id one or more steps closer to its goal. It is
// level-triggered: each step re-reads the record and the latest observation
// of Swarm. An error means "retry with rate-limited backoff"; nil means the
// job needs nothing until it is enqueued again (by the observer, an event, a
// resync, or the AddAfter this sync scheduled). A job that does not exist is
// absorbed with nil on purpose: there is nothing to retry.
func (c *Controller) syncJob(ctx context.Context, id string) error {
	for range maxStepsPerSync {
		j, err := c.store.GetJobForSync(ctx, id)
		if jobs.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading job: %w", err)
		}
		observed, takenAt, ok := c.observer.job(id)
		if !ok {
			return fmt.Errorf("swarm not observed yet")
		}
		budget, unlock, err := c.tenantBudget(ctx, j.Tenant)
		if err != nil {
			return err
		}
		d := decideWithin(j, observed, takenAt, c.now(), budget)
		c.setQueued(j.Tenant, id, d.Status.Reason == jobs.ReasonQueued)
		if !d.hasActions() {
			unlock()
			if err := c.writeStatus(ctx, j, d.Status); err != nil {
				return err
			}
			if d.RequeueAfter > 0 {
				c.queue.AddAfter(id, d.RequeueAfter)
			}
			return nil
		}
		err = c.act(ctx, j, d)
		unlock()
		if len(d.Finish) > 0 {
			// Slots of the tenant may have freed up.
			c.wakeQueued(j.Tenant)
		}
		if err != nil {
			return err
		}
	}
	// Still busy after many steps: come back soon, without spinning.
	c.queue.AddAfter(id, 100*time.Millisecond)
	return nil
}

// act performs the I/O actions of one decision, in the order that keeps the
// record-before-delete rule: outcomes are recorded before any removal.
func (c *Controller) act(ctx context.Context, j *jobs.Job, d decision) error {
	defer c.hub.Notify(j.ID)
	for _, f := range d.Finish {
		if err := c.finish(ctx, j, f); err != nil {
			return err
		}
	}
	for _, st := range d.Stop {
		if err := c.stop(ctx, j, st); err != nil {
			return err
		}
	}
	for _, r := range d.Remove {
		if err := c.remove(ctx, j, r); err != nil {
			return err
		}
	}
	for _, a := range d.Record {
		if err := c.store.PutAttempt(ctx, j.ID, a, c.startedEvent(j, a)...); err != nil {
			return fmt.Errorf("recording attempt %d: %w", a.Attempt, err)
		}
	}
	if len(d.Create) > 0 {
		// The job's start time must be durable before any service exists,
		// or a crash could restart the deadline clock.
		if err := c.writeStatus(ctx, j, d.Status); err != nil {
			return err
		}
	}
	for _, cr := range d.Create {
		if err := c.create(ctx, j, cr); err != nil {
			return err
		}
	}
	if d.DeleteJob {
		deleted := jobs.Event{Time: c.now(), Type: jobs.EventJobDeleted, JobID: j.ID, Tenant: j.Tenant, Labels: j.Labels, Phase: j.Status.Phase}
		if err := c.store.DeleteJob(ctx, j.ID, deleted); err != nil {
			return fmt.Errorf("deleting job: %w", err)
		}
		c.log.Info("job deleted", "job", j.ID)
	}
	return nil
}

// finish captures an attempt's output when it has any, then records its
// outcome. The record is the commit point: the service is removed only
// after it (see remove).
func (c *Controller) finish(ctx context.Context, j *jobs.Job, f finishAction) error {
	a := f.Outcome
	key := jobs.AttemptKey{JobID: j.ID, Index: a.Index, Attempt: a.Attempt}
	if err := c.store.DeleteLogs(ctx, key); err != nil {
		return fmt.Errorf("clearing logs of attempt %d: %w", a.Attempt, err)
	}
	if f.Capture {
		sum, err := c.captureLogs(ctx, key, f.ServiceID, cmp.Or(j.Spec.MaxLogBytes, c.maxLog))
		switch {
		case err != nil && !f.BestEffort:
			return err
		case err != nil:
			// Keep what was read; say what is missing.
			c.log.Warn("logs incomplete", "job", j.ID, "attempt", a.Attempt, "err", err)
			a.Error = strings.TrimPrefix(a.Error+"; logs incomplete: "+err.Error(), "; ")
		}
		a.LogBytes, a.Truncated = sum.Bytes, sum.Truncated
	}
	finished := jobs.Event{Time: c.now(), Type: jobs.EventAttemptFinished, JobID: j.ID, Tenant: j.Tenant, Labels: j.Labels,
		Index: a.Index, Attempt: a.Attempt, State: a.State, ExitCode: a.ExitCode, Reason: a.Reason, Message: a.Error}
	if err := c.store.PutAttempt(ctx, j.ID, a, append(c.startedEvent(j, a), finished)...); err != nil {
		return fmt.Errorf("recording outcome of attempt %d: %w", a.Attempt, err)
	}
	exitCode := "none"
	if a.ExitCode != nil {
		exitCode = strconv.Itoa(*a.ExitCode)
	}
	c.log.Info("attempt finished", "job", j.ID, "attempt", a.Attempt, "state", a.State,
		"exit_code", exitCode, "log_bytes", a.LogBytes, "error", a.Error)
	return nil
}

// captureLogs stores the output of an attempt's service, at most maxBytes
// of it: the job's cap, or the server's for a job without one.
func (c *Controller) captureLogs(ctx context.Context, key jobs.AttemptKey, serviceID string, maxBytes int64) (results.Summary, error) {
	// A hung log stream must not hold a worker forever.
	ctx, cancel := context.WithTimeout(ctx, captureTimeout)
	defer cancel()
	rc, err := c.engine.ServiceLogs(ctx, serviceID, client.ServiceLogsOptions{
		ShowStdout: true, ShowStderr: true, Timestamps: true,
	})
	if err != nil {
		return results.Summary{}, fmt.Errorf("reading logs of service %s: %w", serviceID, err)
	}
	defer rc.Close()
	sum, err := results.Capture(rc, maxBytes, func(seq int, s jobs.Stream, data []byte) error {
		return c.store.AppendLog(ctx, key, seq, s, data)
	})
	if err != nil {
		return sum, fmt.Errorf("capturing logs of service %s: %w", serviceID, err)
	}
	return sum, nil
}

// startedEvent returns the attempt.started event of a when this write is the
// first to record its service: create's, or after a crash between a
// service's creation and its record, the write that finds the service (its
// observation, or its outcome).
func (c *Controller) startedEvent(j *jobs.Job, a jobs.Attempt) []jobs.Event {
	if a.ServiceID == "" {
		return nil
	}
	for _, r := range j.Status.Attempts {
		if r.Index == a.Index && r.Attempt == a.Attempt && r.ServiceID != "" {
			return nil
		}
	}
	e := jobs.Event{Time: c.now(), Type: jobs.EventAttemptStarted, JobID: j.ID, Tenant: j.Tenant, Labels: j.Labels,
		Index: a.Index, Attempt: a.Attempt}
	if !a.Finished() {
		e.State = a.State
	}
	return []jobs.Event{e}
}

// stop updates an attempt's service so that Swarm stops its task and keeps
// its container (stopSpec), unless an earlier stop did already. The attempt
// is finished once the observer sees the task ended, with all its output.
func (c *Controller) stop(ctx context.Context, j *jobs.Job, st stopAction) error {
	res, err := c.engine.ServiceInspect(ctx, st.ServiceID, client.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil // gone: the next decision sees it
	}
	if err != nil {
		return fmt.Errorf("inspecting service %s to stop it: %w", st.ServiceID, err)
	}
	svc := res.Service
	why, at, stopped := stopOf(svc.Spec.Labels)
	if !stopped {
		why, at = st.Why, c.now()
		_, err = c.engine.ServiceUpdate(ctx, st.ServiceID, client.ServiceUpdateOptions{
			Version: svc.Version, Spec: stopSpec(svc.Spec, why, at),
		})
		switch {
		case cerrdefs.IsInvalidArgument(err) || cerrdefs.IsFailedPrecondition(err):
			// Refused for good: stop the old way, output to this moment.
			c.log.Warn("the Engine refused to stop the attempt gracefully; its output after the stop is not kept",
				"job", j.ID, "service", svc.Spec.Name, "err", err)
			return c.finish(ctx, j, st.Fallback)
		case err != nil && !cerrdefs.IsNotFound(err):
			// Transient (a version conflict, the Engine away): retried.
			return fmt.Errorf("stopping service %s: %w", st.ServiceID, err)
		}
		c.log.Info("stopping attempt", "job", j.ID, "service", svc.Spec.Name, "reason", why.Reason)
	}
	c.observer.stopping(j.ID, st.ServiceID, why, at)
	return nil
}

// remove removes an attempt's service, whose outcome is already recorded, and
// records that it is gone. A service already gone counts as removed.
func (c *Controller) remove(ctx context.Context, j *jobs.Job, r removeAction) error {
	a := r.Attempt
	if r.ServiceID != "" {
		_, err := c.engine.ServiceRemove(ctx, r.ServiceID, client.ServiceRemoveOptions{})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("removing service %s: %w", r.ServiceID, err)
		}
		c.log.Debug("service removed", "job", j.ID, "service", r.ServiceID, "attempt", a.Attempt)
		c.observer.forget(j.ID, r.ServiceID)
	}
	a.Removed = true
	if err := c.store.PutAttempt(ctx, j.ID, a); err != nil {
		return fmt.Errorf("recording removal of attempt %d: %w", a.Attempt, err)
	}
	return nil
}

// create records a new attempt, then creates its service. The record comes
// first so that a crash cannot leave a service the store does not know; the
// deterministic name makes the create safe to repeat.
func (c *Controller) create(ctx context.Context, j *jobs.Job, cr createAction) error {
	a := cr.Attempt
	if cr.New {
		if err := c.store.PutAttempt(ctx, j.ID, a); err != nil {
			return fmt.Errorf("recording new attempt %d: %w", a.Attempt, err)
		}
	}
	spec := serviceSpec(c.instance, j, a.Index, a.Attempt)
	withJobAPI(&spec, j, c.jobAPI)
	var res client.ServiceCreateResult
	err := c.checkNetworks(ctx, j.Spec.Networks)
	if err == nil {
		err = c.resolveObjects(ctx, &spec)
	}
	if err == nil {
		res, err = c.engine.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
	}
	switch {
	case err == nil:
		// CreatedAt now dates the service, which the vanish check and the
		// attempt deadline measure from.
		a.ServiceID, a.State, a.CreatedAt = res.ID, "new", c.now()
	case cerrdefs.IsConflict(err) || cerrdefs.IsAlreadyExists(err):
		// Created before a crash, or the name is taken: adopt the service
		// only if it is this attempt's.
		id, owned, lerr := c.serviceByName(ctx, spec)
		switch {
		case lerr != nil:
			return lerr
		case id == "":
			return fmt.Errorf("creating service %s: name conflict, but no such service is listed", spec.Name)
		case !owned:
			a.State, a.Reason, a.FinishedAt = jobs.AttemptFailed, jobs.AttemptReasonCreateFailed, ptr(c.now())
			a.Error = fmt.Sprintf("service name %s is taken by a service swarmjob does not own", spec.Name)
			a.Removed = true // the service is not ours to remove
		default:
			c.log.Info("adopting service created before a restart", "job", j.ID, "service", spec.Name)
			a.ServiceID, a.State = id, "new"
		}
	case cerrdefs.IsInvalidArgument(err) || cerrdefs.IsNotFound(err) || cerrdefs.IsFailedPrecondition(err):
		// The Engine refuses this spec (unknown network, bad constraint):
		// retrying cannot help, so the attempt fails with its message. Its
		// service, should one exist after all, is removed the usual way.
		a.State, a.Reason, a.FinishedAt = jobs.AttemptFailed, jobs.AttemptReasonCreateFailed, ptr(c.now())
		a.Error = "creating service: " + err.Error()
	case c.now().Sub(a.CreatedAt) > createGiveUp:
		// No job waits forever on an Engine that keeps refusing it.
		a.State, a.Reason, a.FinishedAt = jobs.AttemptFailed, jobs.AttemptReasonCreateFailed, ptr(c.now())
		a.Error = fmt.Sprintf("creating service failed for %v: %v", createGiveUp, err)
	default:
		return fmt.Errorf("creating service %s: %w", spec.Name, err)
	}
	events := c.startedEvent(j, a)
	if a.ServiceID == "" && a.Finished() {
		events = append(events, jobs.Event{Time: c.now(), Type: jobs.EventAttemptFinished, JobID: j.ID, Tenant: j.Tenant, Labels: j.Labels,
			Index: a.Index, Attempt: a.Attempt, State: a.State, Reason: a.Reason, Message: a.Error})
	}
	if err := c.store.PutAttempt(ctx, j.ID, a, events...); err != nil {
		return fmt.Errorf("recording attempt %d: %w", a.Attempt, err)
	}
	c.log.Info("attempt created", "job", j.ID, "service", spec.Name, "attempt", a.Attempt, "state", a.State)
	c.observer.Kick()
	return nil
}

// captureTimeout bounds reading one attempt's logs.
const captureTimeout = 2 * time.Minute

// createGiveUp is how long the controller retries creating an attempt's
// service on errors that may be transient before it fails the attempt.
const createGiveUp = 2 * time.Minute

// checkNetworks looks the job's networks up before the create: Engine 20.10
// answers an unknown network with a 500, which would look transient.
func (c *Controller) checkNetworks(ctx context.Context, networks []string) error {
	for _, n := range networks {
		if _, err := c.engine.NetworkInspect(ctx, n, client.NetworkInspectOptions{}); err != nil {
			if cerrdefs.IsNotFound(err) {
				return cerrdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %q not found", n))
			}
			return fmt.Errorf("inspecting network %q: %w", n, err)
		}
	}
	return nil
}

// serviceByName finds the service named like spec and tells whether it is
// this attempt's, by its labels.
func (c *Controller) serviceByName(ctx context.Context, spec swarm.ServiceSpec) (id string, owned bool, err error) {
	res, err := c.engine.ServiceList(ctx, client.ServiceListOptions{Filters: make(client.Filters).Add("name", spec.Name)})
	if err != nil {
		return "", false, fmt.Errorf("looking up service %s: %w", spec.Name, err)
	}
	for _, s := range res.Items {
		if s.Spec.Name != spec.Name { // the name filter matches prefixes
			continue
		}
		owned = true
		for k, v := range spec.Labels {
			if s.Spec.Labels[k] != v {
				owned = false
			}
		}
		return s.ID, owned, nil
	}
	return "", false, nil
}

// writeStatus stores st when it differs from what is recorded.
func (c *Controller) writeStatus(ctx context.Context, j *jobs.Job, st jobs.Status) error {
	cur := j.Status
	cur.Attempts = nil
	st.Attempts = nil
	if reflect.DeepEqual(cur, st) {
		return nil
	}
	var events []jobs.Event
	if st.Phase != j.Status.Phase {
		events = append(events, jobs.Event{Time: c.now(), Type: jobs.EventPhaseChanged, JobID: j.ID, Tenant: j.Tenant, Labels: j.Labels,
			Phase: st.Phase, Reason: st.Reason, Message: st.Message})
	}
	if err := c.store.UpdateStatus(ctx, j.ID, st, events...); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	if st.Phase != j.Status.Phase {
		c.log.Info("job phase changed", "job", j.ID, "from", j.Status.Phase, "to", st.Phase, "reason", st.Reason)
	}
	j.Status.Phase, j.Status.StartedAt = st.Phase, st.StartedAt
	c.hub.Notify(j.ID)
	return nil
}
