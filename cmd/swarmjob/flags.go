package main

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// kvFlag is a repeatable KEY=VALUE flag gathered into a map; a later value
// for the same key wins. It implements pflag.Value, so a malformed value is
// a flag error that names the flag.
type kvFlag struct {
	m map[string]string
}

func (f *kvFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return errors.New("must be KEY=VALUE")
	}
	if k == "" {
		return errors.New("KEY must not be empty")
	}
	if f.m == nil {
		f.m = make(map[string]string)
	}
	f.m[k] = v
	return nil
}

func (f *kvFlag) String() string {
	keys := make([]string, 0, len(f.m))
	for k := range f.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + f.m[k]
	}
	return strings.Join(keys, ",")
}

func (f *kvFlag) Type() string { return "KEY=VALUE" }

// bytesFlag is a size in bytes given with an optional unit, as parseBytes
// accepts.
type bytesFlag struct {
	n int64
	s string
}

func (f *bytesFlag) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	f.n, f.s = n, s
	return nil
}

func (f *bytesFlag) String() string { return f.s }
func (f *bytesFlag) Type() string   { return "bytes" }

// parseBytes parses a size such as "512", "64m", "1.5g" or "2GiB". Units are
// binary (k = 1024) and case-insensitive: b, k, m, g, t, each optionally
// followed by "b" or "ib". A fraction of a byte is dropped.
func parseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if !validDecimal(num) {
		return 0, fmt.Errorf("invalid size %q: want a number with an optional unit, such as 64m or 1.5g", s)
	}
	var shift uint
	switch strings.TrimSuffix(strings.TrimSuffix(unit, "b"), "i") {
	case "":
		if unit == "ib" {
			return 0, fmt.Errorf("invalid size %q: unknown unit %q", s, unit)
		}
	case "k":
		shift = 10
	case "m":
		shift = 20
	case "g":
		shift = 30
	case "t":
		shift = 40
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (use b, k, m, g or t)", s, unit)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), shift)))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if !n.IsInt64() {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n.Int64(), nil
}

// validDecimal reports whether s is digits with at most one '.' that has
// digits on both sides.
func validDecimal(s string) bool {
	whole, frac, hasDot := strings.Cut(s, ".")
	return whole != "" && !strings.ContainsRune(frac, '.') && (!hasDot || frac != "")
}
