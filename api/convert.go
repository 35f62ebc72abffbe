package api

import (
	"io/fs"
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
// rejects, naming the field, the values that conversion itself would hide
// because the domain reads 0 as "unset": completions, parallelism and
// backoff.multiplier given as 0 or less, backoff milliseconds that are not
// positive (or too large to convert), and activeDeadlineSeconds or
// attemptDeadlineSeconds given as 0 or less (0 means "no deadline" in the
// domain; Kubernetes requires > 0 when set). Every other bound is left to
// jobs.Validate.
//
// backoffLimit defaults to 0, or to jobs.UnlimitedBackoff when
// backoffLimitPerIndex is given, as in Kubernetes.
func specFromWire(in types.JobSpec) (jobs.Spec, error) {
	s := jobs.Spec{
		Image:                in.Image,
		Command:              slices.Clone(in.Command),
		Args:                 slices.Clone(in.Args),
		Env:                  maps.Clone(in.Env),
		WorkingDir:           in.WorkingDir,
		User:                 in.User,
		CompletionMode:       jobs.CompletionMode(in.CompletionMode),
		BackoffLimitPerIndex: clonePtr(in.BackoffLimitPerIndex),
		MaxFailedIndexes:     clonePtr(in.MaxFailedIndexes),
		FailurePolicy:        failurePolicyFromWire(in.FailurePolicy),
		SuccessPolicy:        successPolicyFromWire(in.SuccessPolicy),
		Networks:             slices.Clone(in.Networks),
		Mounts:               mountsFromWire(in.Mounts),
		Secrets:              fileRefsFromWire(in.Secrets),
		Configs:              fileRefsFromWire(in.Configs),
	}
	if c := in.ChildJobs; c != nil {
		s.ChildJobs = &jobs.ChildJobs{MaxDepth: c.MaxDepth, MaxChildren: c.MaxChildren}
	}
	if c := in.Completions; c != nil {
		if *c < 1 {
			return jobs.Spec{}, jobs.Errorf(jobs.EINVALID, "completions: must be between 1 and %d, got %d", jobs.MaxCompletions, *c)
		}
		s.Completions = *c
	}
	if p := in.Parallelism; p != nil {
		if err := jobs.ValidateParallelism(*p); err != nil {
			return jobs.Spec{}, err
		}
		s.Parallelism = *p
	}
	switch {
	case in.BackoffLimit != nil:
		s.BackoffLimit = *in.BackoffLimit
	case in.BackoffLimitPerIndex != nil:
		s.BackoffLimit = jobs.UnlimitedBackoff
	}
	if in.Backoff != nil {
		var err error
		if s.Backoff.Initial, err = msFromWire("backoff.initialMs", in.Backoff.InitialMs); err != nil {
			return jobs.Spec{}, err
		}
		if s.Backoff.Max, err = msFromWire("backoff.maxMs", in.Backoff.MaxMs); err != nil {
			return jobs.Spec{}, err
		}
		if m := in.Backoff.Multiplier; m != nil {
			if *m < 1 {
				return jobs.Spec{}, jobs.Errorf(jobs.EINVALID, "backoff.multiplier: must be between 1 and 10, got %v", *m)
			}
			s.Backoff.Multiplier = *m
		}
		if j := in.Backoff.Jitter; j != nil {
			s.Backoff.Jitter = *j
		}
	}
	var err error
	if s.ActiveDeadlineSeconds, err = secondsFromWire("activeDeadlineSeconds", in.ActiveDeadlineSeconds); err != nil {
		return jobs.Spec{}, err
	}
	if s.AttemptDeadlineSeconds, err = secondsFromWire("attemptDeadlineSeconds", in.AttemptDeadlineSeconds); err != nil {
		return jobs.Spec{}, err
	}
	if in.Suspend != nil {
		s.Suspend = *in.Suspend
	}
	if n := in.MaxLogBytes; n != nil {
		if *n < 1 {
			return jobs.Spec{}, jobs.Errorf(jobs.EINVALID, "maxLogBytes: must be between 1 and %d, got %d", jobs.MaxLogBytesLimit, *n)
		}
		s.MaxLogBytes = *n
	}
	if g := in.StopGracePeriodSeconds; g != nil {
		s.StopGracePeriodSeconds = ptrTo(*g)
	}
	if t := in.TTLSecondsAfterFinished; t != nil {
		s.TTLSecondsAfterFinished = ptrTo(*t)
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

// secondsFromWire converts an optional deadline; nil is 0 (none), and a
// given value must be positive.
func secondsFromWire(field string, secs *int64) (int64, error) {
	switch {
	case secs == nil:
		return 0, nil
	case *secs <= 0:
		return 0, jobs.Errorf(jobs.EINVALID, "%s: must be positive, got %d", field, *secs)
	}
	return *secs, nil
}

func failurePolicyFromWire(p *types.FailurePolicy) *jobs.FailurePolicy {
	if p == nil {
		return nil
	}
	out := &jobs.FailurePolicy{Rules: make([]jobs.FailureRule, 0, len(p.Rules))}
	for _, r := range p.Rules {
		rule := jobs.FailureRule{Action: jobs.FailureAction(r.Action), OnReasons: slices.Clone(r.OnReasons)}
		if ec := r.OnExitCodes; ec != nil {
			rule.OnExitCodes = &jobs.ExitCodes{Operator: ec.Operator, Values: slices.Clone(ec.Values)}
		}
		out.Rules = append(out.Rules, rule)
	}
	return out
}

func successPolicyFromWire(p *types.SuccessPolicy) *jobs.SuccessPolicy {
	if p == nil {
		return nil
	}
	out := &jobs.SuccessPolicy{Rules: make([]jobs.SuccessRule, 0, len(p.Rules))}
	for _, r := range p.Rules {
		out.Rules = append(out.Rules, jobs.SuccessRule{SucceededIndexes: r.SucceededIndexes, SucceededCount: clonePtr(r.SucceededCount)})
	}
	return out
}

func mountsFromWire(ms []types.Mount) []jobs.Mount {
	if ms == nil {
		return nil
	}
	out := make([]jobs.Mount, 0, len(ms))
	for _, m := range ms {
		out = append(out, jobs.Mount{Type: jobs.MountType(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return out
}

func mountsToWire(ms []jobs.Mount) []types.Mount {
	if ms == nil {
		return nil
	}
	out := make([]types.Mount, 0, len(ms))
	for _, m := range ms {
		out = append(out, types.Mount{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	return out
}

// fileRefsFromWire converts secrets or configs. A mode left out is
// jobs.DefaultFileMode: it is filled in here because the domain's 0 is a
// mode of its own; the other defaults are Spec.Defaults'.
func fileRefsFromWire(refs []types.FileRef) []jobs.FileRef {
	if refs == nil {
		return nil
	}
	out := make([]jobs.FileRef, 0, len(refs))
	for _, f := range refs {
		ref := jobs.FileRef{Name: f.Name, Target: f.Target, UID: f.UID, GID: f.GID, Mode: jobs.DefaultFileMode}
		if f.Mode != nil {
			ref.Mode = fs.FileMode(*f.Mode)
		}
		out = append(out, ref)
	}
	return out
}

func fileRefsToWire(refs []jobs.FileRef) []types.FileRef {
	if refs == nil {
		return nil
	}
	out := make([]types.FileRef, 0, len(refs))
	for _, f := range refs {
		out = append(out, types.FileRef{Name: f.Name, Target: f.Target, UID: f.UID, GID: f.GID, Mode: ptrTo(uint32(f.Mode))})
	}
	return out
}

func amountsFromWire(a *types.ResourceAmounts) jobs.ResourceAmounts {
	if a == nil {
		return jobs.ResourceAmounts{}
	}
	return jobs.ResourceAmounts{CPUs: a.CPUs, MemoryBytes: a.MemoryBytes}
}

// jobToWire converts a stored job to its API form. The spec shows every
// defaulted value (completions, parallelism, completionMode, backoffLimit,
// backoff, suspend) explicitly.
func jobToWire(j *jobs.Job) types.Job {
	return types.Job{
		ID:        j.ID,
		Name:      j.Name,
		Tenant:    j.Tenant,
		ParentID:  j.ParentID,
		Depth:     j.Depth,
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
	out := types.JobSpec{
		Image:                s.Image,
		Command:              slices.Clone(s.Command),
		Args:                 slices.Clone(s.Args),
		Env:                  maps.Clone(s.Env),
		WorkingDir:           s.WorkingDir,
		User:                 s.User,
		Completions:          ptrTo(s.Completions),
		Parallelism:          ptrTo(s.Parallelism),
		CompletionMode:       string(s.CompletionMode),
		BackoffLimit:         ptrTo(s.BackoffLimit),
		BackoffLimitPerIndex: clonePtr(s.BackoffLimitPerIndex),
		MaxFailedIndexes:     clonePtr(s.MaxFailedIndexes),
		FailurePolicy:        failurePolicyToWire(s.FailurePolicy),
		SuccessPolicy:        successPolicyToWire(s.SuccessPolicy),
		Backoff: &types.Backoff{
			InitialMs:  ptrTo(s.Backoff.Initial.Milliseconds()),
			MaxMs:      ptrTo(s.Backoff.Max.Milliseconds()),
			Multiplier: ptrTo(s.Backoff.Multiplier),
			Jitter:     ptrTo(s.Backoff.Jitter),
		},
		Suspend:  ptrTo(s.Suspend),
		Networks: slices.Clone(s.Networks),
		Mounts:   mountsToWire(s.Mounts),
		Secrets:  fileRefsToWire(s.Secrets),
		Configs:  fileRefsToWire(s.Configs),
	}
	if s.ActiveDeadlineSeconds != 0 {
		out.ActiveDeadlineSeconds = ptrTo(s.ActiveDeadlineSeconds)
	}
	if c := s.ChildJobs; c != nil {
		out.ChildJobs = &types.ChildJobs{MaxDepth: c.MaxDepth, MaxChildren: c.MaxChildren}
	}
	if s.AttemptDeadlineSeconds != 0 {
		out.AttemptDeadlineSeconds = ptrTo(s.AttemptDeadlineSeconds)
	}
	if s.MaxLogBytes != 0 {
		out.MaxLogBytes = ptrTo(s.MaxLogBytes)
	}
	if g := s.StopGracePeriodSeconds; g != nil {
		out.StopGracePeriodSeconds = ptrTo(*g)
	}
	if t := s.TTLSecondsAfterFinished; t != nil {
		out.TTLSecondsAfterFinished = ptrTo(*t)
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

func failurePolicyToWire(p *jobs.FailurePolicy) *types.FailurePolicy {
	if p == nil {
		return nil
	}
	out := &types.FailurePolicy{Rules: make([]types.FailureRule, 0, len(p.Rules))}
	for _, r := range p.Rules {
		rule := types.FailureRule{Action: string(r.Action), OnReasons: slices.Clone(r.OnReasons)}
		if ec := r.OnExitCodes; ec != nil {
			rule.OnExitCodes = &types.ExitCodes{Operator: ec.Operator, Values: slices.Clone(ec.Values)}
		}
		out.Rules = append(out.Rules, rule)
	}
	return out
}

func successPolicyToWire(p *jobs.SuccessPolicy) *types.SuccessPolicy {
	if p == nil {
		return nil
	}
	out := &types.SuccessPolicy{Rules: make([]types.SuccessRule, 0, len(p.Rules))}
	for _, r := range p.Rules {
		out.Rules = append(out.Rules, types.SuccessRule{SucceededIndexes: r.SucceededIndexes, SucceededCount: clonePtr(r.SucceededCount)})
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

		CompletedIndexes: s.CompletedIndexes,
		FailedIndexes:    s.FailedIndexes,
		// Never nil: clients read "attempts": [] rather than null.
		Attempts: make([]types.Attempt, 0, len(s.Attempts)),
	}
	for _, c := range s.Conditions {
		out.Conditions = append(out.Conditions, conditionToWire(c))
	}
	for _, a := range s.Attempts {
		out.Attempts = append(out.Attempts, attemptToWire(a))
	}
	return out
}

// conditionToWire spells the status "True" or "False", as Kubernetes does.
func conditionToWire(c jobs.Condition) types.Condition {
	status := types.ConditionFalse
	if c.Status {
		status = types.ConditionTrue
	}
	return types.Condition{
		Type:               c.Type,
		Status:             status,
		Reason:             c.Reason,
		Message:            c.Message,
		LastTransitionTime: c.Time,
	}
}

func attemptToWire(a jobs.Attempt) types.Attempt {
	return types.Attempt{
		Index:      a.Index,
		Attempt:    a.Attempt,
		Service:    a.Service,
		Task:       a.Task,
		Node:       a.Node,
		State:      string(a.State),
		ExitCode:   clonePtr(a.ExitCode),
		Error:      a.Error,
		Reason:     a.Reason,
		StartedAt:  cloneTime(a.StartedAt),
		FinishedAt: cloneTime(a.FinishedAt),
		LogBytes:   a.LogBytes,
		Truncated:  a.Truncated,
	}
}

func cloneTime(t *time.Time) *time.Time { return clonePtr(t) }

// clonePtr returns a pointer to a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// ptrTo returns a pointer to a copy of v.
func ptrTo[T any](v T) *T { return &v }

// eventToWire converts a stored event. Index and attempt are set on attempt
// events only, where 0 is a real value.
func eventToWire(e jobs.Event) types.Event {
	out := types.Event{
		ID:       e.ID,
		Type:     string(e.Type),
		Time:     e.Time,
		JobID:    e.JobID,
		Tenant:   e.Tenant,
		Labels:   maps.Clone(e.Labels),
		Phase:    string(e.Phase),
		Reason:   e.Reason,
		State:    string(e.State),
		ExitCode: clonePtr(e.ExitCode),
		Message:  e.Message,
	}
	if e.Type == jobs.EventAttemptStarted || e.Type == jobs.EventAttemptFinished {
		out.Index, out.Attempt = ptrTo(e.Index), ptrTo(e.Attempt)
	}
	return out
}
