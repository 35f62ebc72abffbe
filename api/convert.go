package api

import (
	"maps"
	"slices"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// maxBackoffMs is the largest initialMs or maxMs: one day, as jobs.Validate
// allows. Checked before conversion, where a larger value would overflow
// time.Duration.
const maxBackoffMs = int64(24 * time.Hour / time.Millisecond)

// specFromWire converts a request's spec to the domain spec. Unset pointers
// become zero values, which Spec.Defaults and jobs.Validate then handle. It
// rejects, naming the field, the values that conversion itself would hide:
// backoff milliseconds that are not positive (0 would read as "unset") or
// too large to convert, and an activeDeadlineSeconds given as 0 or less
// (0 means "no deadline" in the domain; Kubernetes requires > 0 when set).
// Every other bound is left to jobs.Validate.
func specFromWire(in types.JobSpec) (jobs.Spec, error) {
	s := jobs.Spec{
		Image:      in.Image,
		Command:    slices.Clone(in.Command),
		Args:       slices.Clone(in.Args),
		Env:        maps.Clone(in.Env),
		WorkingDir: in.WorkingDir,
		User:       in.User,
		Networks:   slices.Clone(in.Networks),
	}
	if in.BackoffLimit != nil {
		s.BackoffLimit = *in.BackoffLimit
	}
	if in.Backoff != nil {
		var err error
		if s.Backoff.Initial, err = msFromWire("backoff.initialMs", in.Backoff.InitialMs); err != nil {
			return jobs.Spec{}, err
		}
		if s.Backoff.Max, err = msFromWire("backoff.maxMs", in.Backoff.MaxMs); err != nil {
			return jobs.Spec{}, err
		}
	}
	if in.ActiveDeadlineSeconds != nil {
		if *in.ActiveDeadlineSeconds <= 0 {
			return jobs.Spec{}, jobs.Errorf(jobs.EINVALID, "activeDeadlineSeconds: must be positive, got %d", *in.ActiveDeadlineSeconds)
		}
		s.ActiveDeadlineSeconds = *in.ActiveDeadlineSeconds
	}
	if r := in.Resources; r != nil {
		s.Resources.Limits = amountsFromWire(r.Limits)
		s.Resources.Reservations = amountsFromWire(r.Reservations)
	}
	if in.Placement != nil {
		s.Placement.Constraints = slices.Clone(in.Placement.Constraints)
	}
	return s, nil
}

// msFromWire converts an optional count of milliseconds; nil is 0 (unset).
func msFromWire(field string, ms *int64) (time.Duration, error) {
	switch {
	case ms == nil:
		return 0, nil
	case *ms < 1:
		return 0, jobs.Errorf(jobs.EINVALID, "%s: must be at least 1, got %d", field, *ms)
	case *ms > maxBackoffMs:
		return 0, jobs.Errorf(jobs.EINVALID, "%s: must be at most %d (one day), got %d", field, maxBackoffMs, *ms)
	}
	return time.Duration(*ms) * time.Millisecond, nil
}

func amountsFromWire(a *types.ResourceAmounts) jobs.ResourceAmounts {
	if a == nil {
		return jobs.ResourceAmounts{}
	}
	return jobs.ResourceAmounts{CPUs: a.CPUs, MemoryBytes: a.MemoryBytes}
}

// jobToWire converts a stored job to its API form. The spec shows every
// defaulted value (backoffLimit, backoff) explicitly.
func jobToWire(j *jobs.Job) types.Job {
	return types.Job{
		ID:        j.ID,
		Name:      j.Name,
		Labels:    maps.Clone(j.Labels),
		CreatedAt: j.CreatedAt,
		Spec:      specToWire(j.Spec),
		Status:    statusToWire(j.Status),
	}
}

// jobsToWire converts a page of jobs; the result is never nil, so that an
// empty page encodes as [].
func jobsToWire(js []*jobs.Job) []types.Job {
	out := make([]types.Job, 0, len(js))
	for _, j := range js {
		out = append(out, jobToWire(j))
	}
	return out
}

func specToWire(s jobs.Spec) types.JobSpec {
	backoffLimit := s.BackoffLimit
	initialMs, maxMs := s.Backoff.Initial.Milliseconds(), s.Backoff.Max.Milliseconds()
	out := types.JobSpec{
		Image:        s.Image,
		Command:      slices.Clone(s.Command),
		Args:         slices.Clone(s.Args),
		Env:          maps.Clone(s.Env),
		WorkingDir:   s.WorkingDir,
		User:         s.User,
		BackoffLimit: &backoffLimit,
		Backoff:      &types.Backoff{InitialMs: &initialMs, MaxMs: &maxMs},
		Networks:     slices.Clone(s.Networks),
	}
	if s.ActiveDeadlineSeconds != 0 {
		d := s.ActiveDeadlineSeconds
		out.ActiveDeadlineSeconds = &d
	}
	if s.Resources != (jobs.Resources{}) {
		out.Resources = &types.Resources{
			Limits:       amountsToWire(s.Resources.Limits),
			Reservations: amountsToWire(s.Resources.Reservations),
		}
	}
	if len(s.Placement.Constraints) > 0 {
		out.Placement = &types.Placement{Constraints: slices.Clone(s.Placement.Constraints)}
	}
	return out
}

func amountsToWire(a jobs.ResourceAmounts) *types.ResourceAmounts {
	if a == (jobs.ResourceAmounts{}) {
		return nil
	}
	return &types.ResourceAmounts{CPUs: a.CPUs, MemoryBytes: a.MemoryBytes}
}

func statusToWire(s jobs.Status) types.JobStatus {
	out := types.JobStatus{
		Phase:      string(s.Phase),
		Reason:     s.Reason,
		Message:    s.Message,
		StartedAt:  cloneTime(s.StartedAt),
		FinishedAt: cloneTime(s.FinishedAt),
		Active:     s.Active,
		Succeeded:  s.Succeeded,
		Failed:     s.Failed,
		// Never nil: clients read "attempts": [] rather than null.
		Attempts: make([]types.Attempt, 0, len(s.Attempts)),
	}
	for _, a := range s.Attempts {
		out.Attempts = append(out.Attempts, attemptToWire(a))
	}
	return out
}

func attemptToWire(a jobs.Attempt) types.Attempt {
	var exit *int
	if a.ExitCode != nil {
		c := *a.ExitCode
		exit = &c
	}
	return types.Attempt{
		Index:      a.Index,
		Attempt:    a.Attempt,
		Service:    a.Service,
		Task:       a.Task,
		Node:       a.Node,
		State:      string(a.State),
		ExitCode:   exit,
		Error:      a.Error,
		StartedAt:  cloneTime(a.StartedAt),
		FinishedAt: cloneTime(a.FinishedAt),
		LogBytes:   a.LogBytes,
		Truncated:  a.Truncated,
	}
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
