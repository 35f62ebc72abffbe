// Package jobs holds swarmjob's domain: what a job is, how its spec is
// validated, how its attempts are recorded, and the Store interface that
// persists them. It has no dependency on the Engine API, on HTTP or on any
// particular database.
package jobs

import (
	"math"
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
	// PhaseSuspended: the job is suspended; it has no active attempts and
	// starts none until resumed.
	PhaseSuspended Phase = "Suspended"
)

// Terminal reports whether p is a final phase.
func (p Phase) Terminal() bool {
	return p == PhaseSucceeded || p == PhaseFailed || p == PhaseCancelled
}

// Valid reports whether p is one of the known phases.
func (p Phase) Valid() bool {
	switch p {
	case PhasePending, PhaseRunning, PhaseSucceeded, PhaseFailed, PhaseCancelled, PhaseSuspended:
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
	ReasonSuspended            = "Suspended"
	ReasonFailurePolicy        = "FailurePolicy"
	ReasonSuccessPolicy        = "SuccessPolicy"
	ReasonMaxFailedIndexes     = "MaxFailedIndexesExceeded"
	ReasonFailedIndexes        = "FailedIndexes"
	ReasonResumed              = "Resumed"
	// ReasonQueued: the job waits for its tenant's cap on active attempts.
	ReasonQueued = "Queued"
	// ReasonStopping: the job is being cancelled, suspended or finished
	// and waits for its stopped attempts to exit (their grace period).
	ReasonStopping = "Stopping"
)

// Condition types, as in Kubernetes.
const (
	ConditionSuspended = "Suspended"
	ConditionComplete  = "Complete"
	ConditionFailed    = "Failed"
)

// Job is one submitted unit of batch work and everything swarmjob knows about it.
type Job struct {
	ID   string
	Name string
	// Tenant owns the job: the tenant of the token that created it. It
	// never changes. Only that tenant's tokens and admin tokens see the
	// job.
	Tenant    string
	Labels    map[string]string
	CreatedAt time.Time
	Spec      Spec
	Status    Status

	// ParentID is the job whose child-job token created this job; empty
	// for a job a client submitted. Depth is 0 for those, and the parent's
	// Depth+1 for a child. Neither ever changes.
	ParentID string
	Depth    int

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

	// Completions is how many attempts must succeed (NonIndexed) or how
	// many indexes 0..Completions-1 must each succeed once (Indexed).
	Completions int
	// Parallelism caps the attempts active at once. It may change while
	// the job runs.
	Parallelism    int
	CompletionMode CompletionMode

	// BackoffLimit is the number of counted failed attempts tolerated
	// before the job fails; 0 means the first failure is final.
	// UnlimitedBackoff disables the job-wide limit.
	BackoffLimit int
	// BackoffLimitPerIndex, when set (Indexed only), is the number of
	// counted failures tolerated per index before that index fails.
	BackoffLimitPerIndex *int
	// MaxFailedIndexes, when set, fails the job as soon as more indexes
	// than this have failed.
	MaxFailedIndexes *int
	FailurePolicy    *FailurePolicy
	SuccessPolicy    *SuccessPolicy
	Backoff          Backoff
	// ActiveDeadlineSeconds bounds the job's run time from its start (or
	// its last resume); 0 means no deadline.
	ActiveDeadlineSeconds int64
	// AttemptDeadlineSeconds bounds each attempt from its creation; an
	// attempt past it is stopped and fails with reason DeadlineExceeded.
	AttemptDeadlineSeconds int64
	// StopGracePeriodSeconds, when set, is how long a stopped attempt's
	// container has between SIGTERM and SIGKILL (0: none); unset, Swarm's
	// 10 s.
	StopGracePeriodSeconds *int64
	// TTLSecondsAfterFinished, when set, deletes the job with its results
	// this long after it finished; otherwise the server's retention applies.
	TTLSecondsAfterFinished *int64
	// Suspend holds the job: active attempts are stopped (not counted as
	// failures) and none start until it is cleared. It may change while
	// the job runs.
	Suspend bool

	// MaxLogBytes caps the output kept per attempt (stdout and stderr
	// together); 0 means the server's default. The tenant's policy
	// bounds it and fills it in at submission.
	MaxLogBytes int64
	// Secrets and Configs are Swarm secrets and configs given to every
	// attempt's container as files, by name (see FileRef). The tenant's
	// policy decides which names a job may use.
	Secrets []FileRef
	Configs []FileRef

	Resources Resources
	Placement Placement
	Networks  []string
	// Mounts are attached to every attempt's container, in order. Bind
	// mounts are subject to the tenant's policy (package policy).
	Mounts []Mount
	// ChildJobs, when set, lets the job's attempts start child jobs: they
	// get the API's URL and a token that can only create, read and cancel
	// this job's children, within these limits.
	ChildJobs *ChildJobs
}

// ChildJobs limits the jobs a job may start through its child-job token.
type ChildJobs struct {
	// MaxDepth is how many generations below the job may exist: 1 lets
	// its children run but not start children of their own.
	MaxDepth int
	// MaxChildren is how many jobs may be created below the job (children,
	// and theirs) over its whole life, whether they still run or not.
	MaxChildren int
}

// Backoff is the delay before the next attempt after failed ones:
// min(Initial * Multiplier^(failures-1), Max), then spread by up to
// ±Jitter of itself.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	// Multiplier is the growth factor (default 2, at least 1).
	Multiplier float64
	// Jitter in [0, 1) spreads each delay by up to that fraction.
	Jitter float64
}

// Default values applied by Spec.Defaults.
const (
	DefaultBackoffInitial    = time.Second
	DefaultBackoffMax        = 60 * time.Second
	DefaultBackoffMultiplier = 2.0
	// UnlimitedBackoff as BackoffLimit means no job-wide limit; it is the
	// default when BackoffLimitPerIndex is set, as in Kubernetes.
	UnlimitedBackoff = math.MaxInt32
)

// Delay returns how long to wait before the next attempt after failed
// counted failures (failed >= 1). seed picks the jitter deterministically,
// so that the same inputs always give the same delay.
func (b Backoff) Delay(failed int, seed uint64) time.Duration {
	if failed < 1 {
		return 0
	}
	mult := b.Multiplier
	if mult < 1 {
		mult = DefaultBackoffMultiplier
	}
	d := float64(b.Initial)
	for i := 1; i < failed && d < float64(b.Max); i++ {
		d *= mult
	}
	d = min(d, float64(b.Max))
	if b.Jitter > 0 {
		// seed -> [-1, 1)
		u := float64(splitmix(seed)>>11)/float64(1<<53)*2 - 1
		d += d * b.Jitter * u
	}
	return time.Duration(d)
}

// splitmix is a fixed 64-bit mixer (SplitMix64's finaliser).
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
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
	// CompletedIndexes and FailedIndexes list indexes as ranges, "0-4,7"
	// (Indexed jobs).
	CompletedIndexes string
	FailedIndexes    string
	Conditions       []Condition
	Attempts         []Attempt
}

// Condition is one aspect of a job's state, as in Kubernetes: Suspended,
// Complete, Failed.
type Condition struct {
	Type    string
	Status  bool
	Reason  string
	Message string
	// Time is when Status last changed.
	Time time.Time
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
	State    AttemptState
	ExitCode *int
	Error    string
	// Reason says why a finished attempt ended: see the AttemptReason
	// constants.
	Reason     string
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
