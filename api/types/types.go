// Package types holds the JSON wire types of swarmjob's REST API. It imports
// nothing but the standard library, so clients can use it without pulling in
// the server. The server converts these to and from its internal types
// explicitly at the HTTP boundary.
package types

import "time"

// Phases of a job, as they appear in JobStatus.Phase.
const (
	PhasePending   = "Pending"
	PhaseRunning   = "Running"
	PhaseSucceeded = "Succeeded"
	PhaseFailed    = "Failed"
	PhaseCancelled = "Cancelled"
)

// TerminalPhase reports whether phase is final.
func TerminalPhase(phase string) bool {
	return phase == PhaseSucceeded || phase == PhaseFailed || phase == PhaseCancelled
}

// CreateJobRequest is the body of POST /v1/jobs.
type CreateJobRequest struct {
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	JobSpec
}

// JobSpec is what a job runs and how. Field names follow Kubernetes Jobs
// where Kubernetes has the concept.
type JobSpec struct {
	// Image is required.
	Image string `json:"image"`
	// Command overrides the image's ENTRYPOINT; Args overrides its CMD.
	Command    []string          `json:"command,omitempty"`
	Args       []string          `json:"args,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	WorkingDir string            `json:"workingDir,omitempty"`
	User       string            `json:"user,omitempty"`
	// BackoffLimit is the number of retries after failed attempts (default 0).
	BackoffLimit *int     `json:"backoffLimit,omitempty"`
	Backoff      *Backoff `json:"backoff,omitempty"`
	// ActiveDeadlineSeconds bounds the job's run time from its start.
	ActiveDeadlineSeconds *int64     `json:"activeDeadlineSeconds,omitempty"`
	Resources             *Resources `json:"resources,omitempty"`
	Placement             *Placement `json:"placement,omitempty"`
	Networks              []string   `json:"networks,omitempty"`
}

// Backoff is the delay between a failed attempt and the next one:
// min(initialMs * 2^(failures-1), maxMs). Defaults: 1000 and 60000.
type Backoff struct {
	InitialMs *int64 `json:"initialMs,omitempty"`
	MaxMs     *int64 `json:"maxMs,omitempty"`
}

// Resources are per-attempt CPU and memory limits and reservations.
type Resources struct {
	Limits       *ResourceAmounts `json:"limits,omitempty"`
	Reservations *ResourceAmounts `json:"reservations,omitempty"`
}

// ResourceAmounts is a number of CPUs (may be fractional) and bytes of memory.
type ResourceAmounts struct {
	CPUs        float64 `json:"cpus,omitempty"`
	MemoryBytes int64   `json:"memoryBytes,omitempty"`
}

// Placement holds Swarm placement constraints such as "node.role==worker".
type Placement struct {
	Constraints []string `json:"constraints,omitempty"`
}

// Job is a job as the API returns it.
type Job struct {
	ID        string            `json:"id"`
	Name      string            `json:"name,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	Spec      JobSpec           `json:"spec"`
	Status    JobStatus         `json:"status"`
}

// JobStatus is what swarmjob observed and decided about a job.
type JobStatus struct {
	Phase      string     `json:"phase"`
	Reason     string     `json:"reason,omitempty"`
	Message    string     `json:"message,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Active     int        `json:"active"`
	Succeeded  int        `json:"succeeded"`
	Failed     int        `json:"failed"`
	Attempts   []Attempt  `json:"attempts"`
}

// Attempt is one try of one index of a job, run as one Swarm service.
type Attempt struct {
	Index   int    `json:"index"`
	Attempt int    `json:"attempt"`
	Service string `json:"service"`
	Task    string `json:"task,omitempty"`
	Node    string `json:"node,omitempty"`
	// State is the Swarm task state while the attempt runs ("creating"
	// before its service exists), then succeeded, failed or stopped.
	State      string     `json:"state"`
	ExitCode   *int       `json:"exitCode,omitempty"`
	Error      string     `json:"error,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	LogBytes   int64      `json:"logBytes"`
	Truncated  bool       `json:"truncated"`
}

// ExitCode returns the exit code of the job's last attempt, if it has one.
func (j *Job) ExitCode() (int, bool) {
	if n := len(j.Status.Attempts); n > 0 {
		if c := j.Status.Attempts[n-1].ExitCode; c != nil {
			return *c, true
		}
	}
	return 0, false
}

// JobList is one page of GET /v1/jobs. NextCursor is empty on the last page.
type JobList struct {
	Items      []Job  `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// ErrorResponse is the body of every error response.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody carries a stable code and a message naming the problem.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes in ErrorBody.Code.
const (
	CodeInvalid     = "invalid"
	CodeNotFound    = "not_found"
	CodeConflict    = "conflict"
	CodeTooLarge    = "too_large"
	CodeInternal    = "internal"
	CodeUnavailable = "unavailable"
	CodeUnsupported = "unsupported_media_type"
	CodeMethod      = "method_not_allowed"
)
