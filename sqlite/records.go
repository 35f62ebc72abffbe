package sqlite

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"time"

	"github.com/swarmjob/swarmjob/jobs"
)

// The JSON documents stored in the spec, status and record columns. They are
// this package's own types, converted explicitly from and to the jobs types,
// so that the stored format changes only with a migration, never because a
// domain type changed. Slices and maps have no omitempty so that nil and
// empty survive the round trip. Durations are integer nanoseconds and times
// are RFC 3339 in UTC with nanoseconds, both lossless.

type specRecord struct {
	Image                 string            `json:"image"`
	Command               []string          `json:"command"`
	Args                  []string          `json:"args"`
	Env                   map[string]string `json:"env"`
	WorkingDir            string            `json:"workingDir,omitempty"`
	User                  string            `json:"user,omitempty"`
	BackoffLimit          int               `json:"backoffLimit"`
	BackoffInitialNs      int64             `json:"backoffInitialNs"`
	BackoffMaxNs          int64             `json:"backoffMaxNs"`
	ActiveDeadlineSeconds int64             `json:"activeDeadlineSeconds,omitempty"`
	// Batch fields; rows written before they existed decode with the
	// defaults (see decodeSpec).
	Completions            int                 `json:"completions,omitempty"`
	Parallelism            int                 `json:"parallelism,omitempty"`
	CompletionMode         string              `json:"completionMode,omitempty"`
	BackoffLimitPerIndex   *int                `json:"backoffLimitPerIndex,omitempty"`
	MaxFailedIndexes       *int                `json:"maxFailedIndexes,omitempty"`
	FailurePolicy          []failureRuleRecord `json:"failurePolicy,omitempty"`
	SuccessPolicy          []successRuleRecord `json:"successPolicy,omitempty"`
	BackoffMultiplier      float64             `json:"backoffMultiplier,omitempty"`
	BackoffJitter          float64             `json:"backoffJitter,omitempty"`
	AttemptDeadlineSeconds int64               `json:"attemptDeadlineSeconds,omitempty"`
	Suspend                bool                `json:"suspend,omitempty"`
	// Log cap, secrets and configs; rows written before they existed
	// decode with none (the server's log cap).
	MaxLogBytes            int64           `json:"maxLogBytes,omitempty"`
	Secrets                []fileRefRecord `json:"secrets"`
	Configs                []fileRefRecord `json:"configs"`
	StopGracePeriodSeconds *int64          `json:"stopGracePeriodSeconds,omitempty"`
	// TTLSecondsAfterFinished is read by ExpiredJobs with json_extract.
	TTLSecondsAfterFinished *int64           `json:"ttlSecondsAfterFinished,omitempty"`
	Limits                  amountsRecord    `json:"limits"`
	Reservations            amountsRecord    `json:"reservations"`
	Constraints             []string         `json:"constraints"`
	Networks                []string         `json:"networks"`
	Mounts                  []mountRecord    `json:"mounts"`
	ChildJobs               *childJobsRecord `json:"childJobs,omitempty"`
}

type mountRecord struct {
	Type     string `json:"type"`
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// fileRefRecord is a jobs.FileRef; Mode is the permission bits.
type fileRefRecord struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	UID    string `json:"uid"`
	GID    string `json:"gid"`
	Mode   uint32 `json:"mode"`
}

type failureRuleRecord struct {
	Action     string   `json:"action"`
	ExitCodeOp string   `json:"exitCodeOp,omitempty"`
	ExitCodes  []int    `json:"exitCodes,omitempty"`
	Reasons    []string `json:"reasons,omitempty"`
}

type successRuleRecord struct {
	Indexes string `json:"indexes,omitempty"`
	Count   *int   `json:"count,omitempty"`
}

type conditionRecord struct {
	Type    string    `json:"type"`
	Status  bool      `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time"`
}

type amountsRecord struct {
	CPUs        float64 `json:"cpus,omitempty"`
	MemoryBytes int64   `json:"memoryBytes,omitempty"`
}

// statusRecord is jobs.Status without its phase, which has its own column,
// and without its attempts, which have their own table.
type statusRecord struct {
	Reason     string     `json:"reason,omitempty"`
	Message    string     `json:"message,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Active     int        `json:"active"`
	Succeeded  int        `json:"succeeded"`
	Failed     int        `json:"failed"`

	CompletedIndexes string            `json:"completedIndexes,omitempty"`
	FailedIndexes    string            `json:"failedIndexes,omitempty"`
	Conditions       []conditionRecord `json:"conditions,omitempty"`
}

// attemptRecord is jobs.Attempt without the fields that are columns: Index,
// Attempt and Removed.
type attemptRecord struct {
	Service    string     `json:"service,omitempty"`
	ServiceID  string     `json:"serviceId,omitempty"`
	Task       string     `json:"task,omitempty"`
	Node       string     `json:"node,omitempty"`
	State      string     `json:"state"`
	ExitCode   *int       `json:"exitCode,omitempty"`
	Error      string     `json:"error,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	LogBytes   int64      `json:"logBytes,omitempty"`
	Truncated  bool       `json:"truncated,omitempty"`
}

// childJobsRecord is the JSON form of jobs.ChildJobs.
type childJobsRecord struct {
	MaxDepth    int `json:"maxDepth"`
	MaxChildren int `json:"maxChildren"`
}

func encodeSpec(s jobs.Spec) (string, error) {
	var fp []failureRuleRecord
	if s.FailurePolicy != nil {
		for _, r := range s.FailurePolicy.Rules {
			rec := failureRuleRecord{Action: string(r.Action), Reasons: r.OnReasons}
			if r.OnExitCodes != nil {
				rec.ExitCodeOp, rec.ExitCodes = r.OnExitCodes.Operator, r.OnExitCodes.Values
			}
			fp = append(fp, rec)
		}
	}
	var sp []successRuleRecord
	if s.SuccessPolicy != nil {
		for _, r := range s.SuccessPolicy.Rules {
			sp = append(sp, successRuleRecord{Indexes: r.SucceededIndexes, Count: r.SucceededCount})
		}
	}
	var mounts []mountRecord
	if s.Mounts != nil {
		mounts = make([]mountRecord, 0, len(s.Mounts))
	}
	for _, m := range s.Mounts {
		mounts = append(mounts, mountRecord{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	var children *childJobsRecord
	if c := s.ChildJobs; c != nil {
		children = &childJobsRecord{MaxDepth: c.MaxDepth, MaxChildren: c.MaxChildren}
	}
	return encode(specRecord{
		ChildJobs:               children,
		Mounts:                  mounts,
		Completions:             s.Completions,
		Parallelism:             s.Parallelism,
		CompletionMode:          string(s.CompletionMode),
		BackoffLimitPerIndex:    s.BackoffLimitPerIndex,
		MaxFailedIndexes:        s.MaxFailedIndexes,
		FailurePolicy:           fp,
		SuccessPolicy:           sp,
		BackoffMultiplier:       s.Backoff.Multiplier,
		BackoffJitter:           s.Backoff.Jitter,
		AttemptDeadlineSeconds:  s.AttemptDeadlineSeconds,
		Suspend:                 s.Suspend,
		MaxLogBytes:             s.MaxLogBytes,
		Secrets:                 fileRefsToRecord(s.Secrets),
		Configs:                 fileRefsToRecord(s.Configs),
		StopGracePeriodSeconds:  s.StopGracePeriodSeconds,
		TTLSecondsAfterFinished: s.TTLSecondsAfterFinished,
		Image:                   s.Image,
		Command:                 s.Command,
		Args:                    s.Args,
		Env:                     s.Env,
		WorkingDir:              s.WorkingDir,
		User:                    s.User,
		BackoffLimit:            s.BackoffLimit,
		BackoffInitialNs:        int64(s.Backoff.Initial),
		BackoffMaxNs:            int64(s.Backoff.Max),
		ActiveDeadlineSeconds:   s.ActiveDeadlineSeconds,
		Limits:                  amountsRecord(s.Resources.Limits),
		Reservations:            amountsRecord(s.Resources.Reservations),
		Constraints:             s.Placement.Constraints,
		Networks:                s.Networks,
	})
}

func decodeSpec(text string) (jobs.Spec, error) {
	var r specRecord
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return jobs.Spec{}, fmt.Errorf("decoding spec: %w", err)
	}
	var fp *jobs.FailurePolicy
	if len(r.FailurePolicy) > 0 {
		fp = &jobs.FailurePolicy{}
		for _, rec := range r.FailurePolicy {
			rule := jobs.FailureRule{Action: jobs.FailureAction(rec.Action), OnReasons: rec.Reasons}
			if rec.ExitCodeOp != "" {
				rule.OnExitCodes = &jobs.ExitCodes{Operator: rec.ExitCodeOp, Values: rec.ExitCodes}
			}
			fp.Rules = append(fp.Rules, rule)
		}
	}
	var sp *jobs.SuccessPolicy
	if len(r.SuccessPolicy) > 0 {
		sp = &jobs.SuccessPolicy{}
		for _, rec := range r.SuccessPolicy {
			sp.Rules = append(sp.Rules, jobs.SuccessRule{SucceededIndexes: rec.Indexes, SucceededCount: rec.Count})
		}
	}
	var mounts []jobs.Mount
	if r.Mounts != nil {
		mounts = make([]jobs.Mount, 0, len(r.Mounts))
	}
	for _, m := range r.Mounts {
		mounts = append(mounts, jobs.Mount{Type: jobs.MountType(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	spec := jobs.Spec{
		Mounts:                  mounts,
		Completions:             r.Completions,
		Parallelism:             r.Parallelism,
		CompletionMode:          jobs.CompletionMode(r.CompletionMode),
		BackoffLimitPerIndex:    r.BackoffLimitPerIndex,
		MaxFailedIndexes:        r.MaxFailedIndexes,
		FailurePolicy:           fp,
		SuccessPolicy:           sp,
		AttemptDeadlineSeconds:  r.AttemptDeadlineSeconds,
		Suspend:                 r.Suspend,
		MaxLogBytes:             r.MaxLogBytes,
		Secrets:                 fileRefsFromRecord(r.Secrets),
		Configs:                 fileRefsFromRecord(r.Configs),
		StopGracePeriodSeconds:  r.StopGracePeriodSeconds,
		TTLSecondsAfterFinished: r.TTLSecondsAfterFinished,
		Image:                   r.Image,
		Command:                 r.Command,
		Args:                    r.Args,
		Env:                     r.Env,
		WorkingDir:              r.WorkingDir,
		User:                    r.User,
		BackoffLimit:            r.BackoffLimit,
		Backoff: jobs.Backoff{Initial: time.Duration(r.BackoffInitialNs), Max: time.Duration(r.BackoffMaxNs),
			Multiplier: r.BackoffMultiplier, Jitter: r.BackoffJitter},
		ActiveDeadlineSeconds: r.ActiveDeadlineSeconds,
		Resources: jobs.Resources{
			Limits:       jobs.ResourceAmounts(r.Limits),
			Reservations: jobs.ResourceAmounts(r.Reservations),
		},
		Placement: jobs.Placement{Constraints: r.Constraints},
		Networks:  r.Networks,
	}
	if c := r.ChildJobs; c != nil {
		spec.ChildJobs = &jobs.ChildJobs{MaxDepth: c.MaxDepth, MaxChildren: c.MaxChildren}
	}
	// Rows from before the batch fields existed were one-shot jobs.
	if spec.Completions == 0 {
		spec.Completions = 1
	}
	if spec.Parallelism == 0 {
		spec.Parallelism = 1
	}
	if spec.CompletionMode == "" {
		spec.CompletionMode = jobs.NonIndexed
	}
	if spec.Backoff.Multiplier == 0 {
		spec.Backoff.Multiplier = jobs.DefaultBackoffMultiplier
	}
	return spec, nil
}

// fileRefsToRecord converts secrets or configs; nil stays nil.
func fileRefsToRecord(refs []jobs.FileRef) []fileRefRecord {
	if refs == nil {
		return nil
	}
	out := make([]fileRefRecord, 0, len(refs))
	for _, f := range refs {
		out = append(out, fileRefRecord{Name: f.Name, Target: f.Target, UID: f.UID, GID: f.GID, Mode: uint32(f.Mode)})
	}
	return out
}

// fileRefsFromRecord is the inverse of fileRefsToRecord.
func fileRefsFromRecord(rs []fileRefRecord) []jobs.FileRef {
	if rs == nil {
		return nil
	}
	out := make([]jobs.FileRef, 0, len(rs))
	for _, r := range rs {
		out = append(out, jobs.FileRef{Name: r.Name, Target: r.Target, UID: r.UID, GID: r.GID, Mode: fs.FileMode(r.Mode)})
	}
	return out
}

func encodeStatus(s jobs.Status) (string, error) {
	var conds []conditionRecord
	for _, c := range s.Conditions {
		conds = append(conds, conditionRecord{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, Time: c.Time.UTC()})
	}
	return encode(statusRecord{
		CompletedIndexes: s.CompletedIndexes,
		FailedIndexes:    s.FailedIndexes,
		Conditions:       conds,
		Reason:           s.Reason,
		Message:          s.Message,
		StartedAt:        utcPtr(s.StartedAt),
		FinishedAt:       utcPtr(s.FinishedAt),
		Active:           s.Active,
		Succeeded:        s.Succeeded,
		Failed:           s.Failed,
	})
}

// decodeStatus returns the status stored as text, with the given phase and
// without attempts.
func decodeStatus(phase jobs.Phase, text string) (jobs.Status, error) {
	var r statusRecord
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return jobs.Status{}, fmt.Errorf("decoding status: %w", err)
	}
	var conds []jobs.Condition
	for _, c := range r.Conditions {
		conds = append(conds, jobs.Condition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, Time: c.Time})
	}
	return jobs.Status{
		CompletedIndexes: r.CompletedIndexes,
		FailedIndexes:    r.FailedIndexes,
		Conditions:       conds,
		Phase:            phase,
		Reason:           r.Reason,
		Message:          r.Message,
		StartedAt:        r.StartedAt,
		FinishedAt:       r.FinishedAt,
		Active:           r.Active,
		Succeeded:        r.Succeeded,
		Failed:           r.Failed,
	}, nil
}

func encodeAttempt(a jobs.Attempt) (string, error) {
	return encode(attemptRecord{
		Service:    a.Service,
		ServiceID:  a.ServiceID,
		Task:       a.Task,
		Node:       a.Node,
		State:      string(a.State),
		ExitCode:   a.ExitCode,
		Error:      a.Error,
		Reason:     a.Reason,
		CreatedAt:  a.CreatedAt.UTC(),
		StartedAt:  utcPtr(a.StartedAt),
		FinishedAt: utcPtr(a.FinishedAt),
		LogBytes:   a.LogBytes,
		Truncated:  a.Truncated,
	})
}

// decodeAttempt returns the attempt stored as text with the given column
// values.
func decodeAttempt(index, attempt int, removed bool, text string) (jobs.Attempt, error) {
	var r attemptRecord
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return jobs.Attempt{}, fmt.Errorf("decoding attempt %d/%d: %w", index, attempt, err)
	}
	return jobs.Attempt{
		Index:      index,
		Attempt:    attempt,
		Service:    r.Service,
		ServiceID:  r.ServiceID,
		Task:       r.Task,
		Node:       r.Node,
		State:      jobs.AttemptState(r.State),
		ExitCode:   r.ExitCode,
		Error:      r.Error,
		Reason:     r.Reason,
		CreatedAt:  r.CreatedAt,
		StartedAt:  r.StartedAt,
		FinishedAt: r.FinishedAt,
		LogBytes:   r.LogBytes,
		Truncated:  r.Truncated,
		Removed:    removed,
	}, nil
}

func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// utcPtr returns a copy of *t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// timeLayout is RFC 3339 with exactly nine fractional digits: in UTC its
// strings sort in time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// formatTime returns t in UTC as a sortable, lossless string.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// parseTime parses a string written by formatTime.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing time %q: %w", s, err)
	}
	return t.UTC(), nil
}
