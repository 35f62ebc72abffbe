package jobs

import (
	"slices"
)

// validateBatch checks completions, parallelism and the policies.
func (s Spec) validateBatch() error {
	if s.Completions < 1 || s.Completions > MaxCompletions {
		return Errorf(EINVALID, "completions: must be between 1 and %d, got %d", MaxCompletions, s.Completions)
	}
	if err := ValidateParallelism(s.Parallelism); err != nil {
		return err
	}
	indexed := s.CompletionMode == Indexed
	if !indexed && s.CompletionMode != NonIndexed {
		return Errorf(EINVALID, "completionMode: must be NonIndexed or Indexed, got %q", s.CompletionMode)
	}
	if s.BackoffLimitPerIndex != nil {
		if !indexed {
			return Errorf(EINVALID, "backoffLimitPerIndex: requires completionMode Indexed")
		}
		if *s.BackoffLimitPerIndex < 0 || *s.BackoffLimitPerIndex > MaxBackoffLimit {
			return Errorf(EINVALID, "backoffLimitPerIndex: must be between 0 and %d, got %d", MaxBackoffLimit, *s.BackoffLimitPerIndex)
		}
	}
	if s.MaxFailedIndexes != nil {
		if s.BackoffLimitPerIndex == nil {
			return Errorf(EINVALID, "maxFailedIndexes: requires backoffLimitPerIndex")
		}
		if *s.MaxFailedIndexes < 0 || *s.MaxFailedIndexes > s.Completions {
			return Errorf(EINVALID, "maxFailedIndexes: must be between 0 and completions (%d), got %d", s.Completions, *s.MaxFailedIndexes)
		}
	}
	if err := s.validateFailurePolicy(); err != nil {
		return err
	}
	return s.validateSuccessPolicy()
}

// ValidateParallelism checks a parallelism value, at submit or in a patch.
func ValidateParallelism(p int) error {
	if p < 1 || p > MaxParallelism {
		return Errorf(EINVALID, "parallelism: must be between 1 and %d, got %d", MaxParallelism, p)
	}
	return nil
}

func (s Spec) validateFailurePolicy() error {
	p := s.FailurePolicy
	if p == nil {
		return nil
	}
	if len(p.Rules) == 0 || len(p.Rules) > MaxPolicyRules {
		return Errorf(EINVALID, "failurePolicy.rules: must have between 1 and %d rules", MaxPolicyRules)
	}
	codeAction := map[int]FailureAction{}
	reasonAction := map[string]FailureAction{}
	for i, r := range p.Rules {
		switch r.Action {
		case ActionFailJob, ActionIgnore, ActionCount:
		case ActionFailIndex:
			if s.BackoffLimitPerIndex == nil {
				return Errorf(EINVALID, "failurePolicy.rules[%d].action: FailIndex requires backoffLimitPerIndex (and completionMode Indexed)", i)
			}
		default:
			return Errorf(EINVALID, "failurePolicy.rules[%d].action: must be FailJob, FailIndex, Ignore or Count, got %q", i, r.Action)
		}
		switch {
		case (r.OnExitCodes == nil) == (len(r.OnReasons) == 0):
			return Errorf(EINVALID, "failurePolicy.rules[%d]: needs exactly one of onExitCodes and onReasons", i)
		case r.OnExitCodes != nil:
			ec := r.OnExitCodes
			if ec.Operator != "In" && ec.Operator != "NotIn" {
				return Errorf(EINVALID, "failurePolicy.rules[%d].onExitCodes.operator: must be In or NotIn, got %q", i, ec.Operator)
			}
			if len(ec.Values) == 0 || len(ec.Values) > MaxExitCodeValues {
				return Errorf(EINVALID, "failurePolicy.rules[%d].onExitCodes.values: must have between 1 and %d values", i, MaxExitCodeValues)
			}
			seen := map[int]bool{}
			for _, v := range ec.Values {
				switch {
				case v < 0 || v > 255:
					return Errorf(EINVALID, "failurePolicy.rules[%d].onExitCodes.values: %d is not an exit code (0-255)", i, v)
				case v == 0 && ec.Operator == "In":
					return Errorf(EINVALID, "failurePolicy.rules[%d].onExitCodes.values: 0 cannot be used with In: exit 0 is success", i)
				case seen[v]:
					return Errorf(EINVALID, "failurePolicy.rules[%d].onExitCodes.values: %d appears twice", i, v)
				}
				seen[v] = true
				if ec.Operator == "In" {
					if prev, ok := codeAction[v]; ok && prev != r.Action {
						return Errorf(EINVALID, "failurePolicy.rules[%d]: exit code %d already has action %s in an earlier rule; the rules contradict", i, v, prev)
					}
					codeAction[v] = r.Action
				}
			}
		default:
			for _, reason := range r.OnReasons {
				if !slices.Contains(FailureReasons, reason) {
					return Errorf(EINVALID, "failurePolicy.rules[%d].onReasons: unknown reason %q (known: %v)", i, reason, FailureReasons)
				}
				if prev, ok := reasonAction[reason]; ok && prev != r.Action {
					return Errorf(EINVALID, "failurePolicy.rules[%d]: reason %s already has action %s in an earlier rule; the rules contradict", i, reason, prev)
				}
				reasonAction[reason] = r.Action
			}
		}
	}
	return nil
}

func (s Spec) validateSuccessPolicy() error {
	p := s.SuccessPolicy
	if p == nil {
		return nil
	}
	if s.CompletionMode != Indexed {
		return Errorf(EINVALID, "successPolicy: requires completionMode Indexed")
	}
	if len(p.Rules) == 0 || len(p.Rules) > MaxPolicyRules {
		return Errorf(EINVALID, "successPolicy.rules: must have between 1 and %d rules", MaxPolicyRules)
	}
	for i, r := range p.Rules {
		if r.SucceededIndexes == "" && r.SucceededCount == nil {
			return Errorf(EINVALID, "successPolicy.rules[%d]: needs succeededIndexes, succeededCount or both", i)
		}
		n := s.Completions
		if r.SucceededIndexes != "" {
			idx, err := ParseIndexes(r.SucceededIndexes, s.Completions)
			if err != nil {
				return Errorf(EINVALID, "successPolicy.rules[%d].succeededIndexes: %v", i, err)
			}
			n = len(idx)
		}
		if c := r.SucceededCount; c != nil && (*c < 1 || *c > n) {
			return Errorf(EINVALID, "successPolicy.rules[%d].succeededCount: must be between 1 and %d, got %d", i, n, *c)
		}
	}
	return nil
}
