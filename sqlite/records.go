package sqlite

import (
	"encoding/json"
	"fmt"
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
	Limits                amountsRecord     `json:"limits"`
	Reservations          amountsRecord     `json:"reservations"`
	Constraints           []string          `json:"constraints"`
	Networks              []string          `json:"networks"`
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
	CreatedAt  time.Time  `json:"createdAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	LogBytes   int64      `json:"logBytes,omitempty"`
	Truncated  bool       `json:"truncated,omitempty"`
}

func encodeSpec(s jobs.Spec) (string, error) {
	return encode(specRecord{
		Image:                 s.Image,
		Command:               s.Command,
		Args:                  s.Args,
		Env:                   s.Env,
		WorkingDir:            s.WorkingDir,
		User:                  s.User,
		BackoffLimit:          s.BackoffLimit,
		BackoffInitialNs:      int64(s.Backoff.Initial),
		BackoffMaxNs:          int64(s.Backoff.Max),
		ActiveDeadlineSeconds: s.ActiveDeadlineSeconds,
		Limits:                amountsRecord(s.Resources.Limits),
		Reservations:          amountsRecord(s.Resources.Reservations),
		Constraints:           s.Placement.Constraints,
		Networks:              s.Networks,
	})
}

func decodeSpec(text string) (jobs.Spec, error) {
	var r specRecord
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return jobs.Spec{}, fmt.Errorf("decoding spec: %w", err)
	}
	return jobs.Spec{
		Image:                 r.Image,
		Command:               r.Command,
		Args:                  r.Args,
		Env:                   r.Env,
		WorkingDir:            r.WorkingDir,
		User:                  r.User,
		BackoffLimit:          r.BackoffLimit,
		Backoff:               jobs.Backoff{Initial: time.Duration(r.BackoffInitialNs), Max: time.Duration(r.BackoffMaxNs)},
		ActiveDeadlineSeconds: r.ActiveDeadlineSeconds,
		Resources: jobs.Resources{
			Limits:       jobs.ResourceAmounts(r.Limits),
			Reservations: jobs.ResourceAmounts(r.Reservations),
		},
		Placement: jobs.Placement{Constraints: r.Constraints},
		Networks:  r.Networks,
	}, nil
}

func encodeStatus(s jobs.Status) (string, error) {
	return encode(statusRecord{
		Reason:     s.Reason,
		Message:    s.Message,
		StartedAt:  utcPtr(s.StartedAt),
		FinishedAt: utcPtr(s.FinishedAt),
		Active:     s.Active,
		Succeeded:  s.Succeeded,
		Failed:     s.Failed,
	})
}

// decodeStatus returns the status stored as text, with the given phase and
// without attempts.
func decodeStatus(phase jobs.Phase, text string) (jobs.Status, error) {
	var r statusRecord
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return jobs.Status{}, fmt.Errorf("decoding status: %w", err)
	}
	return jobs.Status{
		Phase:      phase,
		Reason:     r.Reason,
		Message:    r.Message,
		StartedAt:  r.StartedAt,
		FinishedAt: r.FinishedAt,
		Active:     r.Active,
		Succeeded:  r.Succeeded,
		Failed:     r.Failed,
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
