// Package jobs holds swarmjob's domain: what a job is, how its spec is
// validated, how its attempts are recorded, and the Store interface that
// persists them. It has no dependency on the Engine API, on HTTP or on any
// particular database.
package jobs

import (
	"time"
)

// Phase is the lifecycle phase of a job. Succeeded, Failed and Cancelled are
// terminal: once a job reaches one of them it never leaves it.
type Phase string

const (
	PhasePending   Phase = "Pending"
	PhaseRunning   Phase = "Running"
	PhaseSucceeded Phase = "Succeeded"
	PhaseFailed    Phase = "Failed"
	PhaseCancelled Phase = "Cancelled"
)

// Terminal reports whether p is a final phase.
func (p Phase) Terminal() bool {
	return p == PhaseSucceeded || p == PhaseFailed || p == PhaseCancelled
}

// Valid reports whether p is one of the known phases.
func (p Phase) Valid() bool {
	switch p {
	case PhasePending, PhaseRunning, PhaseSucceeded, PhaseFailed, PhaseCancelled:
		return true
	}
	return false
}

// Reasons recorded on a job's status. They are stable strings that clients
// may switch on.
const (
	ReasonCompleted            = "Completed"
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
	ReasonCancelled            = "Cancelled"
	ReasonBackoff              = "Backoff"
)

// Job is one submitted unit of batch work and everything swarmjob knows about it.
type Job struct {
	ID        string
	Name      string
	Labels    map[string]string
	CreatedAt time.Time
	Spec      Spec
	Status    Status

	// CancelRequested is set by a cancel or delete request; the controller
	// stops active attempts and moves the job to Cancelled.
	CancelRequested bool
	// DeleteRequested hides the job from readers; the controller removes
	// the record once no service of the job remains.
	DeleteRequested bool
}

// Spec is what the user asked for. It is immutable after submission.
type Spec struct {
	Image      string
	Command    []string
	Args       []string
	Env        map[string]string
	WorkingDir string
	User       string

	// BackoffLimit is the number of failed attempts tolerated before the
	// job fails; 0 means the first failure is final.
	BackoffLimit int
	Backoff      Backoff
	// ActiveDeadlineSeconds bounds the job's run time from its start;
	// 0 means no deadline.
	ActiveDeadlineSeconds int64

	Resources Resources
	Placement Placement
	Networks  []string
}

// Backoff is the delay before attempt n+1 after a failed attempt n:
// min(Initial * 2^n, Max).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Default values applied by Spec.Defaults.
const (
	DefaultBackoffInitial = time.Second
	DefaultBackoffMax     = 60 * time.Second
)

// Delay returns how long to wait before the next attempt when failed
// attempts have failed so far (failed >= 1).
func (b Backoff) Delay(failed int) time.Duration {
	if failed < 1 {
		return 0
	}
	d := b.Initial
	for i := 1; i < failed; i++ {
		d *= 2
		if d >= b.Max || d <= 0 {
			return b.Max
		}
	}
	return min(d, b.Max)
}

// Resources are the CPU and memory limits and reservations of each attempt.
// Zero means unset.
type Resources struct {
	Limits       ResourceAmounts
	Reservations ResourceAmounts
}

// ResourceAmounts is an amount of CPUs (fractional) and of memory in bytes.
type ResourceAmounts struct {
	CPUs        float64
	MemoryBytes int64
}

// Placement constrains the nodes an attempt may run on, in Swarm's
// constraint syntax ("node.role==worker").
type Placement struct {
	Constraints []string
}

// Status is what the controller derived about a job.
type Status struct {
	Phase      Phase
	Reason     string
	Message    string
	StartedAt  *time.Time
	FinishedAt *time.Time
	Active     int
	Succeeded  int
	Failed     int
	Attempts   []Attempt
}

// AttemptState is the state of one attempt as swarmjob records it. The values
// that are not Swarm task states are swarmjob's own.
type AttemptState string

const (
	// AttemptCreating: recorded before the service is created.
	AttemptCreating AttemptState = "creating"
	// AttemptSucceeded: the task completed with exit code 0.
	AttemptSucceeded AttemptState = "succeeded"
	// AttemptFailed: the task failed, was rejected, shut down or orphaned,
	// or its service disappeared.
	AttemptFailed AttemptState = "failed"
	// AttemptStopped: swarmjob stopped the attempt (deadline or cancel).
	AttemptStopped AttemptState = "stopped"
)

// Attempt is one try at running one index of a job: one Swarm service.
type Attempt struct {
	Index   int
	Attempt int
	// Service is the deterministic service name; ServiceID is filled once
	// the Engine confirmed the service.
	Service   string
	ServiceID string
	Task      string
	Node      string
	// State is the recorded state: while the attempt is active it holds
	// the last observed Swarm task state, or "creating".
	State      AttemptState
	ExitCode   *int
	Error      string
	CreatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
	LogBytes   int64
	Truncated  bool
	// Removed is set once the attempt's service was removed from Swarm;
	// only ever after the attempt's result was recorded.
	Removed bool
}

// Finished reports whether the attempt's outcome is recorded.
func (a Attempt) Finished() bool {
	return a.State == AttemptSucceeded || a.State == AttemptFailed || a.State == AttemptStopped
}

// Stream names a log stream of a container.
type Stream uint8

const (
	Stdout Stream = 1
	Stderr Stream = 2
)

func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return "unknown"
}
