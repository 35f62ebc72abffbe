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
	// PhaseSuspended: the job has no active attempts and starts none
	// until it is resumed. It is not terminal.
	PhaseSuspended = "Suspended"
)

// Reasons in JobStatus.Reason and in conditions. They are stable strings
// that clients may switch on.
const (
	ReasonCompleted            = "Completed"
	ReasonBackoffLimitExceeded = "BackoffLimitExceeded"
	ReasonDeadlineExceeded     = "DeadlineExceeded"
	ReasonCancelled            = "Cancelled"
	ReasonBackoff              = "Backoff"
	ReasonSuspended            = "Suspended"
	ReasonResumed              = "Resumed"
	ReasonFailurePolicy        = "FailurePolicy"
	ReasonSuccessPolicy        = "SuccessPolicy"
	ReasonMaxFailedIndexes     = "MaxFailedIndexesExceeded"
	ReasonFailedIndexes        = "FailedIndexes"
)

// States of a finished attempt in Attempt.State. While an attempt is active
// its state is AttemptCreating or the last Swarm task state observed
// ("pending", "running", ...).
const (
	AttemptCreating  = "creating"
	AttemptSucceeded = "succeeded"
	AttemptFailed    = "failed"
	AttemptStopped   = "stopped"
)

// Reasons in Attempt.Reason: why a finished attempt ended. The failure
// reasons are those FailureRule.OnReasons may name.
const (
	AttemptReasonCompleted = "Completed"
	// Failures.
	AttemptReasonFailed           = "Failed" // non-zero exit code
	AttemptReasonRejected         = "Rejected"
	AttemptReasonDeadlineExceeded = "DeadlineExceeded"
	AttemptReasonNodeLost         = "NodeLost"
	AttemptReasonServiceLost      = "ServiceLost"
	AttemptReasonCreateFailed     = "CreateFailed"
	// Stops that are not failures.
	AttemptReasonSuspended   = "Suspended"
	AttemptReasonScaledDown  = "ScaledDown"
	AttemptReasonJobFinished = "JobFinished"
	AttemptReasonCancelled   = "Cancelled"
)

// Completion modes of JobSpec.CompletionMode.
const (
	CompletionNonIndexed = "NonIndexed"
	CompletionIndexed    = "Indexed"
)

// Actions of FailureRule.Action.
const (
	ActionFailJob   = "FailJob"
	ActionFailIndex = "FailIndex"
	ActionIgnore    = "Ignore"
	ActionCount     = "Count"
)

// Operators of ExitCodes.Operator.
const (
	OperatorIn    = "In"
	OperatorNotIn = "NotIn"
)

// Types and statuses of Condition, as in Kubernetes.
const (
	ConditionSuspended = "Suspended"
	ConditionComplete  = "Complete"
	ConditionFailed    = "Failed"

	ConditionTrue  = "True"
	ConditionFalse = "False"
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
	// Completions is how many attempts must succeed (NonIndexed) or how
	// many indexes 0..completions-1 must each succeed once (Indexed).
	// Default 1.
	Completions *int `json:"completions,omitempty"`
	// Parallelism caps the attempts active at once (default 1). It may be
	// changed while the job runs, with PATCH /v1/jobs/{id}.
	Parallelism *int `json:"parallelism,omitempty"`
	// CompletionMode is CompletionNonIndexed (default) or
	// CompletionIndexed.
	CompletionMode string `json:"completionMode,omitempty"`
	// BackoffLimit is the number of counted failed attempts tolerated
	// job-wide: default 0, or unlimited (2147483647) when
	// BackoffLimitPerIndex is set.
	BackoffLimit *int `json:"backoffLimit,omitempty"`
	// BackoffLimitPerIndex is the number of counted failures tolerated per
	// index (Indexed only).
	BackoffLimitPerIndex *int `json:"backoffLimitPerIndex,omitempty"`
	// MaxFailedIndexes fails the job once more indexes than this failed;
	// it requires BackoffLimitPerIndex.
	MaxFailedIndexes *int           `json:"maxFailedIndexes,omitempty"`
	FailurePolicy    *FailurePolicy `json:"failurePolicy,omitempty"`
	SuccessPolicy    *SuccessPolicy `json:"successPolicy,omitempty"`
	Backoff          *Backoff       `json:"backoff,omitempty"`
	// ActiveDeadlineSeconds bounds the job's run time from its start (or
	// its last resume).
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
	// AttemptDeadlineSeconds bounds each attempt from its creation.
	AttemptDeadlineSeconds *int64 `json:"attemptDeadlineSeconds,omitempty"`
	// StopGracePeriodSeconds is how long a stopped attempt's container has
	// between SIGTERM and SIGKILL (0: none). Unset: Swarm's 10 s.
	StopGracePeriodSeconds *int64 `json:"stopGracePeriodSeconds,omitempty"`
	// TTLSecondsAfterFinished deletes the job, its results and its events
	// this long after it finished (0: right after its services are gone).
	// Unset: the server's retention applies.
	TTLSecondsAfterFinished *int64 `json:"ttlSecondsAfterFinished,omitempty"`
	// ChildJobs lets the job's attempts start child jobs: they get
	// SWARMJOB_URL and SWARMJOB_TOKEN, a token that can create, read and
	// cancel this job's children only, and only until the job finishes.
	ChildJobs *ChildJobs `json:"childJobs,omitempty"`
	// Suspend submits the job suspended: it starts no attempt until it is
	// resumed (POST /v1/jobs/{id}/resume).
	Suspend   *bool      `json:"suspend,omitempty"`
	Resources *Resources `json:"resources,omitempty"`
	Placement *Placement `json:"placement,omitempty"`
	Networks  []string   `json:"networks,omitempty"`
	// Mounts are attached to each attempt's container. Bind mounts are
	// refused unless the tenant's policy allows their source.
	Mounts []Mount `json:"mounts,omitempty"`
	// Secrets and Configs give each attempt's container Swarm secrets and
	// configs as files, by name. Each must exist in the Swarm when the job
	// is submitted, and the tenant's policy must allow its name (by
	// default, names starting with "<tenant>_").
	Secrets []FileRef `json:"secrets,omitempty"`
	Configs []FileRef `json:"configs,omitempty"`
	// MaxLogBytes caps the output kept per attempt, stdout and stderr
	// together; the rest is dropped and the attempt marked truncated.
	// Unset: the server's default, lowered to the tenant's ceiling; a job
	// returned by the server shows the cap it got.
	MaxLogBytes *int64 `json:"maxLogBytes,omitempty"`
}

// ChildJobs limits the child jobs a job may start.
type ChildJobs struct {
	// MaxDepth is how many generations may exist below the job (default
	// 1: children, no grandchildren).
	MaxDepth int `json:"maxDepth,omitempty"`
	// MaxChildren is how many jobs may be created below the job in its
	// life, grandchildren included (default 10).
	MaxChildren int `json:"maxChildren,omitempty"`
}

// Types of Mount.
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// Mount is a file system attached at Target in the container: a host path
// (MountBind, Source is the path on the node), a named volume (MountVolume,
// Source is its name) or a tmpfs (MountTmpfs, no Source).
type Mount struct {
	Type     string `json:"type"`
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// FileRef gives each attempt's container a Swarm secret or config as a file
// (JobSpec.Secrets, JobSpec.Configs). A job returned by the server shows
// every field, defaults filled in.
type FileRef struct {
	// Name is the secret's or config's name in the Swarm; required.
	Name string `json:"name"`
	// Target is the file's path in the container. For a secret: a file
	// name under /run/secrets (default: the name) or an absolute path; for
	// a config: an absolute path (default: "/" + the name).
	Target string `json:"target,omitempty"`
	// UID and GID own the file, as numbers; default "0".
	UID string `json:"uid,omitempty"`
	GID string `json:"gid,omitempty"`
	// Mode is the file's permission bits, as a number: JSON has no octal,
	// so 0400 is 256 (a YAML job file may write 0400). Default 0444 (292).
	Mode *uint32 `json:"mode,omitempty"`
}

// Backoff is the delay between a failed attempt and the next one:
// min(initialMs * multiplier^(failures-1), maxMs), spread by up to ±jitter
// of itself. Defaults: 1000, 60000, 2 and 0.
type Backoff struct {
	InitialMs  *int64   `json:"initialMs,omitempty"`
	MaxMs      *int64   `json:"maxMs,omitempty"`
	Multiplier *float64 `json:"multiplier,omitempty"`
	Jitter     *float64 `json:"jitter,omitempty"`
}

// FailurePolicy decides what a failed attempt does to its job; the first
// rule that matches wins, and a failure no rule matches is counted.
type FailurePolicy struct {
	Rules []FailureRule `json:"rules"`
}

// FailureRule matches a failed attempt on its exit code or on its reason
// (one of the two) and applies Action: ActionFailJob, ActionFailIndex,
// ActionIgnore or ActionCount.
type FailureRule struct {
	Action      string     `json:"action"`
	OnExitCodes *ExitCodes `json:"onExitCodes,omitempty"`
	// OnReasons lists failure reasons, such as AttemptReasonRejected.
	OnReasons []string `json:"onReasons,omitempty"`
}

// ExitCodes matches an exit code that is (OperatorIn) or is not
// (OperatorNotIn) one of Values.
type ExitCodes struct {
	Operator string `json:"operator"`
	Values   []int  `json:"values"`
}

// SuccessPolicy lets an Indexed job succeed before every index did: as soon
// as any rule is met.
type SuccessPolicy struct {
	Rules []SuccessRule `json:"rules"`
}

// SuccessRule is met when every index of SucceededIndexes ("0-3,7")
// succeeded, or SucceededCount of them; without SucceededIndexes, when
// SucceededCount indexes succeeded.
type SuccessRule struct {
	SucceededIndexes string `json:"succeededIndexes,omitempty"`
	SucceededCount   *int   `json:"succeededCount,omitempty"`
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
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Tenant owns the job: the tenant of the token that submitted it.
	Tenant string `json:"tenant,omitempty"`
	// ParentID is the job whose child-job token created this job; Depth
	// its generation below the job a client submitted (0 for that one).
	ParentID  string            `json:"parentId,omitempty"`
	Depth     int               `json:"depth,omitempty"`
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
	// Succeeded counts successful attempts (NonIndexed) or succeeded
	// indexes (Indexed).
	Succeeded int `json:"succeeded"`
	// Failed counts the failures counted towards backoffLimit.
	Failed int `json:"failed"`
	// CompletedIndexes and FailedIndexes list indexes as ranges, "0-4,7"
	// (Indexed jobs only).
	CompletedIndexes string      `json:"completedIndexes,omitempty"`
	FailedIndexes    string      `json:"failedIndexes,omitempty"`
	Conditions       []Condition `json:"conditions,omitempty"`
	Attempts         []Attempt   `json:"attempts"`
}

// Condition is one aspect of a job's state, as in Kubernetes: Type is
// ConditionSuspended, ConditionComplete or ConditionFailed; Status is
// ConditionTrue or ConditionFalse.
type Condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime time.Time `json:"lastTransitionTime"`
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
	State    string `json:"state"`
	ExitCode *int   `json:"exitCode,omitempty"`
	Error    string `json:"error,omitempty"`
	// Reason says why a finished attempt ended: one of the AttemptReason
	// constants.
	Reason     string     `json:"reason,omitempty"`
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

// JobPatch is the body of PATCH /v1/jobs/{id}: the fields of a running
// job's spec that may change. Parallelism is required.
type JobPatch struct {
	Parallelism *int `json:"parallelism,omitempty"`
}

// States of a ResultItem.
const (
	IndexSucceeded = "Succeeded"
	IndexFailed    = "Failed"
	IndexRunning   = "Running"
	IndexPending   = "Pending"
)

// Results is the body of GET /v1/jobs/{id}/results: one item per
// completion index, in index order. A NonIndexed job runs every attempt as
// index 0, so it has one item.
type Results struct {
	JobID          string       `json:"jobId"`
	CompletionMode string       `json:"completionMode"`
	Items          []ResultItem `json:"items"`
}

// ResultItem is the outcome of one index so far.
type ResultItem struct {
	Index int `json:"index"`
	// State is IndexSucceeded, IndexFailed, IndexRunning or IndexPending.
	State string `json:"state"`
	// ExitCode is that of the index's last attempt, when it has one.
	ExitCode *int `json:"exitCode,omitempty"`
	// Attempts is how many attempts the index had.
	Attempts int `json:"attempts"`
	// LogBytes and Truncated add up the stored output of every attempt.
	LogBytes    int64    `json:"logBytes"`
	Truncated   bool     `json:"truncated"`
	LastAttempt *Attempt `json:"lastAttempt,omitempty"`
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
	// CodeUnauthorized (401): no bearer token, or one that is not valid.
	CodeUnauthorized = "unauthorized"
	// CodeForbidden (403): the token lacks the scope the route needs.
	CodeForbidden = "forbidden"
	// CodePolicyViolation (403): the job breaks a rule of its tenant's
	// policy; the message names the rule.
	CodePolicyViolation = "policy_violation"
	// CodeRateLimited (429): too many requests for this token; the
	// Retry-After header says when to try again.
	CodeRateLimited = "rate_limited"
)

// Request and response headers of the API.
const (
	// HeaderIdempotencyKey on POST /v1/jobs makes the submission
	// idempotent: the same key with the same request returns the job the
	// first submission created.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderIdempotentReplayed is "true" on a 200 answer of POST /v1/jobs
	// that returned an existing job for its idempotency key.
	HeaderIdempotentReplayed = "Idempotent-Replayed"
	// HeaderLastEventID on GET /v1/events resumes the stream after the
	// event with this ID, as Server-Sent Events clients send it.
	HeaderLastEventID = "Last-Event-ID"
)

// Types of Event, also sent as the "event:" field of GET /v1/events.
const (
	EventJobCreated      = "job.created"
	EventAttemptStarted  = "attempt.started"
	EventAttemptFinished = "attempt.finished"
	EventPhaseChanged    = "job.phase"
	EventJobDeleted      = "job.deleted"
	// EventReset says that events the client asked for are no longer
	// kept: it must list the jobs again. Its ID is the last event ID at the
	// time, after which the stream continues.
	EventReset = "reset"
)

// Event is one event of GET /v1/events: the "data:" field of a Server-Sent
// Event, whose "id:" field is ID and "event:" field is Type.
type Event struct {
	ID   int64     `json:"id"`
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// JobID and Labels are those of the job the event is about; a reset
	// has neither.
	JobID  string            `json:"jobId,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// Tenant is the tenant of the job.
	Tenant string `json:"tenant,omitempty"`
	// Phase is the job's phase (job events); Reason is the job's reason
	// (job.phase) or the attempt's (attempt.finished).
	Phase  string `json:"phase,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Index, Attempt and State are set on attempt events, ExitCode on an
	// attempt.finished whose attempt has one.
	Index    *int   `json:"index,omitempty"`
	Attempt  *int   `json:"attempt,omitempty"`
	State    string `json:"state,omitempty"`
	ExitCode *int   `json:"exitCode,omitempty"`
	// Message is a detail for people: the attempt's error, the job's
	// status message, or what a reset means.
	Message string `json:"message,omitempty"`
}

// Scopes of a token.
const (
	// ScopeJobsRead: get, list, wait on, and read the logs, results and
	// events of the tenant's jobs.
	ScopeJobsRead = "jobs:read"
	// ScopeJobsWrite: create, cancel, delete, suspend, resume and patch the
	// tenant's jobs.
	ScopeJobsWrite = "jobs:write"
	// ScopeAdmin: manage tokens, and everything on every tenant's jobs.
	ScopeAdmin = "admin"
)

// CreateTokenRequest is the body of POST /v1/tokens.
type CreateTokenRequest struct {
	// Name is an optional note on what the token is for.
	Name string `json:"name,omitempty"`
	// Tenant is required: the jobs the token creates belong to it, and
	// without ScopeAdmin it sees only that tenant's jobs.
	Tenant string `json:"tenant"`
	// Scopes is required: one or more of ScopeJobsRead, ScopeJobsWrite,
	// ScopeAdmin.
	Scopes []string `json:"scopes"`
	// ExpiresIn is a Go duration such as "720h"; empty: the token does
	// not expire.
	ExpiresIn string `json:"expiresIn,omitempty"`
}

// Token is a token as GET /v1/tokens lists it: never its secret.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name,omitempty"`
	Tenant    string     `json:"tenant"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	Expired   bool       `json:"expired,omitempty"`
}

// CreatedToken is the answer of POST /v1/tokens: the token with its
// secret, which the server shows this once and does not keep.
type CreatedToken struct {
	Token
	// Secret is the bearer token: send it as Authorization: Bearer
	// <secret>.
	Secret string `json:"token"`
}

// TokenList is the body of GET /v1/tokens.
type TokenList struct {
	Items []Token `json:"items"`
}

// PolicyRules are the rules of one tenant (docs/security.md, "Policy"). An
// unset field inherits the defaults; an empty list allows nothing, which is
// why the lists are omitzero (an empty list is kept, an unset one left out).
type PolicyRules struct {
	AllowedBindPrefixes      []string `json:"allowedBindPrefixes,omitzero"`
	AllowedVolumes           []string `json:"allowedVolumes,omitzero"`
	AllowedImages            []string `json:"allowedImages,omitzero"`
	AllowedSecrets           []string `json:"allowedSecrets,omitzero"`
	AllowedConfigs           []string `json:"allowedConfigs,omitzero"`
	MaxCPUs                  *float64 `json:"maxCpus,omitempty"`
	MaxMemoryBytes           *int64   `json:"maxMemoryBytes,omitempty"`
	MaxCompletions           *int     `json:"maxCompletions,omitempty"`
	MaxParallelism           *int     `json:"maxParallelism,omitempty"`
	MaxActiveDeadlineSeconds *int64   `json:"maxActiveDeadlineSeconds,omitempty"`
	MaxLogBytes              *int64   `json:"maxLogBytes,omitempty"`
	MaxActiveAttempts        *int     `json:"maxActiveAttempts,omitempty"`
	MaxChildDepth            *int     `json:"maxChildDepth,omitempty"`
	MaxChildren              *int     `json:"maxChildren,omitempty"`
	// MaxStopGracePeriodSeconds bounds stopGracePeriodSeconds.
	MaxStopGracePeriodSeconds *int64 `json:"maxStopGracePeriodSeconds,omitempty"`
}

// PolicySpec is a policy document: the body of PUT /v1/policy, in the
// format of a policy file (serve --policy) written as JSON.
type PolicySpec struct {
	// Defaults apply to every tenant.
	Defaults PolicyRules `json:"defaults"`
	// Tenants have rules whose set fields replace the defaults' fields.
	Tenants map[string]PolicyRules `json:"tenants,omitempty"`
}

// Policy sources in Policy.Source.
const (
	// PolicySourceDefault: the built-in defaults.
	PolicySourceDefault = "default"
	// PolicySourceFile: the server's policy file (serve --policy), read
	// again on SIGHUP; PUT /v1/policy is refused (409).
	PolicySourceFile = "file"
	// PolicySourceAPI: set with PUT /v1/policy and kept in the store.
	PolicySourceAPI = "api"
)

// Policy is the answer of GET and PUT /v1/policy: the policy in force.
type Policy struct {
	// Source is where it comes from: default, file or api.
	Source string `json:"source"`
	// File is the policy file's path on the server (source file).
	File string `json:"file,omitempty"`
	// Since is when it came into force.
	Since time.Time `json:"since"`
	// ReloadError says why the last SIGHUP failed to read the file, at
	// ReloadFailedAt: the file differs from the policy in force.
	ReloadError    string     `json:"reloadError,omitempty"`
	ReloadFailedAt *time.Time `json:"reloadFailedAt,omitempty"`
	// Policy is the document, as set: PUT it back to restore it.
	Policy PolicySpec `json:"policy"`
}

// TenantPolicy is the answer of GET /v1/policy/tenants/{tenant}: the rules
// in force for one tenant, its own over the defaults over the built-in
// defaults. A rule left unset has no ceiling.
type TenantPolicy struct {
	Tenant string      `json:"tenant"`
	Source string      `json:"source"`
	Since  time.Time   `json:"since"`
	Rules  PolicyRules `json:"rules"`
}
