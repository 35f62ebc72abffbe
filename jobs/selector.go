package jobs

import (
	"strings"
)

// MaxSelectorRequirements bounds the requirements of one label selector, and
// so the size of the query a selector turns into.
const MaxSelectorRequirements = 32

// SelectorOp is the operator of one selector requirement.
type SelectorOp string

// Selector operators, as in Kubernetes' equality-based selectors.
const (
	// SelectEquals: the label is present with the value ("k=v", "k==v").
	SelectEquals SelectorOp = "="
	// SelectNotEquals: the label is absent or has another value ("k!=v").
	SelectNotEquals SelectorOp = "!="
	// SelectExists: the label is present, with any value ("k").
	SelectExists SelectorOp = "exists"
	// SelectNotExists: the label is absent ("!k").
	SelectNotExists SelectorOp = "!exists"
)

// Requirement is one condition of a Selector on one label key. Value is
// unused by SelectExists and SelectNotExists.
type Requirement struct {
	Key   string
	Op    SelectorOp
	Value string
}

// Selector is a label selector: a job matches when every requirement holds.
// The nil Selector has no requirement and matches every job.
type Selector []Requirement

// ParseSelector parses a label selector in Kubernetes' equality-based
// syntax: requirements separated by commas, each one of "key=value" (also
// "key==value"), "key!=value" (the label is absent or has another value),
// "key" (present) and "!key" (absent). Spaces around keys and values are
// dropped; a value is everything after the operator up to the next comma, so
// it may contain '=' but not ','. An empty or all-space s is the empty
// selector.
//
// Keys must be valid label keys. Giving one key two different "=" values is
// an error, as no job can match both. Errors are EINVALID *Error values whose
// message names the requirement at fault; it has no field prefix, so that
// callers can name their own parameter. ParseSelector never panics
// (FuzzParseSelector).
func ParseSelector(s string) (Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxSelectorRequirements {
		return nil, Errorf(EINVALID, "at most %d requirements are allowed, got %d", MaxSelectorRequirements, len(parts))
	}
	sel := make(Selector, 0, len(parts))
	equal := make(map[string]string)
	for _, part := range parts {
		r, err := parseRequirement(part)
		if err != nil {
			return nil, err
		}
		if r.Op == SelectEquals {
			if old, dup := equal[r.Key]; dup && old != r.Value {
				return nil, Errorf(EINVALID, "key %q is given with two values, %q and %q; no job can match both", r.Key, old, r.Value)
			}
			equal[r.Key] = r.Value
		}
		sel = append(sel, r)
	}
	return sel, nil
}

func parseRequirement(part string) (Requirement, error) {
	p := strings.TrimSpace(part)
	if p == "" {
		return Requirement{}, Errorf(EINVALID, "empty requirement: requirements are separated by single commas")
	}
	if rest, ok := strings.CutPrefix(p, "!"); ok && !strings.HasPrefix(rest, "=") {
		r := Requirement{Key: strings.TrimSpace(rest), Op: SelectNotExists}
		return r, checkSelectorKey(p, r.Key)
	}
	i := strings.IndexAny(p, "=!")
	if i < 0 {
		r := Requirement{Key: p, Op: SelectExists}
		return r, checkSelectorKey(p, r.Key)
	}
	r := Requirement{Key: strings.TrimSpace(p[:i])}
	var value string
	switch op := p[i:]; {
	case strings.HasPrefix(op, "!="):
		r.Op, value = SelectNotEquals, op[2:]
	case strings.HasPrefix(op, "=="):
		r.Op, value = SelectEquals, op[2:]
	case strings.HasPrefix(op, "="):
		r.Op, value = SelectEquals, op[1:]
	default:
		return Requirement{}, Errorf(EINVALID, "requirement %q: '!' must start the requirement (\"!key\") or be part of \"!=\"", truncate(p))
	}
	if err := checkSelectorKey(p, r.Key); err != nil {
		return Requirement{}, err
	}
	r.Value = strings.TrimSpace(value)
	if len(r.Value) > MaxLabelValueLen || !printable(r.Value) {
		return Requirement{}, Errorf(EINVALID, "requirement %q: value must be at most %d printable characters", truncate(p), MaxLabelValueLen)
	}
	return r, nil
}

func checkSelectorKey(req, key string) error {
	if key == "" {
		return Errorf(EINVALID, "requirement %q: key is empty; write key=value, key!=value, key or !key", truncate(req))
	}
	if len(key) > MaxLabelKeyLen || !labelKeyRE.MatchString(key) {
		return Errorf(EINVALID, "requirement %q: key %q must be 1-%d characters of letters, digits, '-', '_', '.', '/'", truncate(req), truncate(key), MaxLabelKeyLen)
	}
	return nil
}

// Matches reports whether labels satisfy every requirement of s.
func (s Selector) Matches(labels map[string]string) bool {
	for _, r := range s {
		v, ok := labels[r.Key]
		switch r.Op {
		case SelectEquals:
			if !ok || v != r.Value {
				return false
			}
		case SelectNotEquals:
			if ok && v == r.Value {
				return false
			}
		case SelectExists:
			if !ok {
				return false
			}
		case SelectNotExists:
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// String returns s in the syntax ParseSelector reads, which parses back to
// an equal Selector.
func (s Selector) String() string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		switch r.Op {
		case SelectEquals:
			b.WriteString(r.Key)
			// "k==v" keeps a value that starts with '=' intact.
			if strings.HasPrefix(r.Value, "=") {
				b.WriteString("==")
			} else {
				b.WriteString("=")
			}
			b.WriteString(r.Value)
		case SelectNotEquals:
			b.WriteString(r.Key + "!=" + r.Value)
		case SelectExists:
			b.WriteString(r.Key)
		case SelectNotExists:
			b.WriteString("!" + r.Key)
		}
	}
	return b.String()
}
