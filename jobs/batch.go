package jobs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CompletionMode says how completions are counted.
type CompletionMode string

const (
	// NonIndexed: the job succeeds once Completions attempts succeeded.
	NonIndexed CompletionMode = "NonIndexed"
	// Indexed: each index 0..Completions-1 must succeed once; attempts see
	// their index in SWARMJOB_INDEX.
	Indexed CompletionMode = "Indexed"
)

// Why a finished attempt ended. Failure policy rules match the failure
// reasons in onReasons.
const (
	AttemptReasonCompleted = "Completed"
	// Failure reasons (counted per the failure policy).
	AttemptReasonFailed           = "Failed" // non-zero exit
	AttemptReasonRejected         = "Rejected"
	AttemptReasonDeadlineExceeded = "DeadlineExceeded"
	AttemptReasonNodeLost         = "NodeLost"
	AttemptReasonServiceLost      = "ServiceLost"
	AttemptReasonCreateFailed     = "CreateFailed"
	// AttemptReasonEvicted: the Swarm shut the task down while it ran,
	// for example because its node was drained (as a Kubernetes
	// disruption: counted unless a failure policy rule ignores it).
	AttemptReasonEvicted = "Evicted"
	// Stops that are not failures.
	AttemptReasonSuspended   = "Suspended"
	AttemptReasonScaledDown  = "ScaledDown"
	AttemptReasonJobFinished = "JobFinished"
	AttemptReasonCancelled   = "Cancelled"
)

// FailureReasons are the reasons failure policy rules may name.
var FailureReasons = []string{
	AttemptReasonFailed, AttemptReasonRejected, AttemptReasonDeadlineExceeded,
	AttemptReasonNodeLost, AttemptReasonServiceLost, AttemptReasonCreateFailed, AttemptReasonEvicted,
}

// FailureAction is what a failure policy rule does with a failed attempt.
type FailureAction string

const (
	// ActionFailJob fails the whole job at once.
	ActionFailJob FailureAction = "FailJob"
	// ActionFailIndex fails the attempt's index (Indexed, with
	// backoffLimitPerIndex).
	ActionFailIndex FailureAction = "FailIndex"
	// ActionIgnore retries without counting the failure.
	ActionIgnore FailureAction = "Ignore"
	// ActionCount counts the failure towards the backoff limits (the
	// default when no rule matches).
	ActionCount FailureAction = "Count"
)

// FailurePolicy decides per failed attempt; the first matching rule wins.
type FailurePolicy struct {
	Rules []FailureRule
}

// FailureRule matches on exit codes or on failure reasons, not both.
type FailureRule struct {
	Action      FailureAction
	OnExitCodes *ExitCodes
	OnReasons   []string
}

// ExitCodes matches an exit code that is (In) or is not (NotIn) in Values.
type ExitCodes struct {
	Operator string // "In" or "NotIn"
	Values   []int
}

// Match returns the action for a failed attempt: the first matching rule's,
// or ActionCount.
func (p *FailurePolicy) Match(a Attempt) FailureAction {
	if p == nil {
		return ActionCount
	}
	for _, r := range p.Rules {
		if r.matches(a) {
			return r.Action
		}
	}
	return ActionCount
}

func (r FailureRule) matches(a Attempt) bool {
	if r.OnExitCodes != nil {
		if a.ExitCode == nil || a.Reason != AttemptReasonFailed {
			return false
		}
		in := slices.Contains(r.OnExitCodes.Values, *a.ExitCode)
		return in == (r.OnExitCodes.Operator == "In")
	}
	return slices.Contains(r.OnReasons, a.Reason)
}

// SuccessPolicy lets a job succeed before every index did (Indexed): the
// job succeeds as soon as any rule is met.
type SuccessPolicy struct {
	Rules []SuccessRule
}

// SuccessRule is met when every index of SucceededIndexes succeeded (or,
// with SucceededCount, at least that many of them), or, without
// SucceededIndexes, when SucceededCount indexes succeeded.
type SuccessRule struct {
	SucceededIndexes string
	SucceededCount   *int
}

// Met reports whether the rule holds for the set of succeeded indexes.
func (r SuccessRule) Met(succeeded map[int]bool) bool {
	if r.SucceededIndexes == "" {
		return r.SucceededCount != nil && len(succeeded) >= *r.SucceededCount
	}
	idx, err := ParseIndexes(r.SucceededIndexes, 1<<30)
	if err != nil {
		return false
	}
	n := 0
	for _, i := range idx {
		if succeeded[i] {
			n++
		}
	}
	if r.SucceededCount != nil {
		return n >= *r.SucceededCount
	}
	return n == len(idx)
}

// ParseIndexes parses "0-3,7" into sorted, distinct indexes below limit.
func ParseIndexes(s string, limit int) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("empty index list")
	}
	var out []int
	prev := -1
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 || lo != strconv.Itoa(a) {
			return nil, fmt.Errorf("%q is not an index or range like 0-3", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || hi != strconv.Itoa(b) {
				return nil, fmt.Errorf("%q is not a range like 0-3", part)
			}
		}
		if a <= prev {
			return nil, fmt.Errorf("indexes must be in increasing order without overlaps, at %q", part)
		}
		if b >= limit {
			return nil, fmt.Errorf("index %d is not below %d", b, limit)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
		prev = b
	}
	return out, nil
}

// FormatIndexes renders a set of indexes as ranges: {0,1,2,3,7} -> "0-3,7".
func FormatIndexes(set map[int]bool) string {
	idx := make([]int, 0, len(set))
	for i, ok := range set {
		if ok {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(idx[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(idx[j]))
		}
		i = j + 1
	}
	return b.String()
}
