package jobs

import (
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Limits on user input. They keep one job record small and bounded.
const (
	MaxNameLen         = 128
	MaxLabels          = 64
	MaxLabelKeyLen     = 253
	MaxLabelValueLen   = 256
	MaxEnv             = 256
	MaxEnvValueLen     = 32 << 10
	MaxArgs            = 1024
	MaxArgLen          = 64 << 10
	MaxImageLen        = 512
	MaxBackoffLimit    = 1000
	MaxDeadlineSeconds = 366 * 24 * 3600
	// MaxStopGracePeriodSeconds bounds a job's stopGracePeriodSeconds: the
	// controller waits that long for a stopped attempt's last output.
	MaxStopGracePeriodSeconds = 3600
	// SwarmStopGracePeriodSeconds is the grace period Swarm gives a job
	// that sets no stopGracePeriodSeconds.
	SwarmStopGracePeriodSeconds = 10
	MaxConstraints              = 32
	MaxNetworks                 = 16
	MaxCompletions              = 100000
	MaxParallelism              = 10000
	MaxPolicyRules              = 20
	MaxExitCodeValues           = 255
)

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$`)
	labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_./-]*[A-Za-z0-9])?$`)
	envKeyRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ReservedEnvPrefix is the prefix of the variables swarmjob injects into
// every container; users may not set them.
const ReservedEnvPrefix = "SWARMJOB_"

// Defaults fills the unset fields of s with their documented defaults.
func (s *Spec) Defaults() {
	if s.Completions == 0 {
		s.Completions = 1
	}
	if s.Parallelism == 0 {
		s.Parallelism = 1
	}
	s.defaultFileRefs()
	if s.CompletionMode == "" {
		s.CompletionMode = NonIndexed
	}
	if s.Backoff.Multiplier == 0 {
		s.Backoff.Multiplier = DefaultBackoffMultiplier
	}
	if s.Backoff.Initial == 0 {
		s.Backoff.Initial = DefaultBackoffInitial
	}
	if s.Backoff.Max == 0 {
		s.Backoff.Max = max(DefaultBackoffMax, s.Backoff.Initial)
	}
	if s.ChildJobs != nil {
		s.ChildJobs.defaults()
	}
}

// Validate checks a job's name, labels and spec. It returns an *Error with
// code EINVALID whose message names the offending field by its JSON name.
func Validate(name string, labels map[string]string, s Spec) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if len(labels) > MaxLabels {
		return Errorf(EINVALID, "labels: at most %d labels are allowed", MaxLabels)
	}
	for k, v := range labels {
		if len(k) > MaxLabelKeyLen || !labelKeyRE.MatchString(k) {
			return Errorf(EINVALID, "labels: key %q must be 1-%d characters of letters, digits, '-', '_', '.', '/'", truncate(k), MaxLabelKeyLen)
		}
		if len(v) > MaxLabelValueLen || !printable(v) {
			return Errorf(EINVALID, "labels[%s]: value must be at most %d printable characters", k, MaxLabelValueLen)
		}
	}
	return s.validate()
}

// ValidateName returns EINVALID unless name is empty or a well-formed job
// (or token) name: at most MaxNameLen ASCII letters, digits, '-', '_' and
// '.', starting and ending with a letter or digit.
func ValidateName(name string) error {
	if name != "" && (len(name) > MaxNameLen || !nameRE.MatchString(name)) {
		return Errorf(EINVALID, "name: must be at most %d characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit", MaxNameLen)
	}
	return nil
}

func (s Spec) validate() error {
	switch {
	case s.Image == "":
		return Errorf(EINVALID, "image: is required")
	case len(s.Image) > MaxImageLen || strings.ContainsAny(s.Image, " \t\r\n\x00"):
		return Errorf(EINVALID, "image: must be an image reference of at most %d characters without whitespace", MaxImageLen)
	}
	if err := validateArgv("command", s.Command); err != nil {
		return err
	}
	if err := validateArgv("args", s.Args); err != nil {
		return err
	}
	if len(s.Env) > MaxEnv {
		return Errorf(EINVALID, "env: at most %d variables are allowed", MaxEnv)
	}
	for k, v := range s.Env {
		if !envKeyRE.MatchString(k) || len(k) > 256 {
			return Errorf(EINVALID, "env: name %q must match [A-Za-z_][A-Za-z0-9_]*", truncate(k))
		}
		if strings.HasPrefix(k, ReservedEnvPrefix) {
			return Errorf(EINVALID, "env: name %q is reserved: swarmjob sets the %s* variables itself", k, ReservedEnvPrefix)
		}
		if len(v) > MaxEnvValueLen || strings.ContainsRune(v, 0) {
			return Errorf(EINVALID, "env[%s]: value must be at most %d bytes without NUL", k, MaxEnvValueLen)
		}
	}
	if len(s.WorkingDir) > 4096 || strings.ContainsRune(s.WorkingDir, 0) || (s.WorkingDir != "" && !strings.HasPrefix(s.WorkingDir, "/")) {
		return Errorf(EINVALID, "workingDir: must be an absolute path")
	}
	if len(s.User) > 256 || strings.ContainsAny(s.User, " \t\r\n\x00") {
		return Errorf(EINVALID, "user: must be a user name or uid[:gid] without whitespace")
	}
	if s.BackoffLimit < 0 || (s.BackoffLimit > MaxBackoffLimit && s.BackoffLimit != UnlimitedBackoff) {
		return Errorf(EINVALID, "backoffLimit: must be between 0 and %d, got %d", MaxBackoffLimit, s.BackoffLimit)
	}
	if err := s.validateBatch(); err != nil {
		return err
	}
	if s.Backoff.Initial < time.Millisecond {
		return Errorf(EINVALID, "backoff.initialMs: must be at least 1")
	}
	if s.Backoff.Max < s.Backoff.Initial {
		return Errorf(EINVALID, "backoff.maxMs: must not be less than backoff.initialMs")
	}
	if s.Backoff.Max > 24*time.Hour {
		return Errorf(EINVALID, "backoff.maxMs: must be at most 86400000 (one day)")
	}
	if s.Backoff.Multiplier < 1 || s.Backoff.Multiplier > 10 || s.Backoff.Multiplier != s.Backoff.Multiplier {
		return Errorf(EINVALID, "backoff.multiplier: must be between 1 and 10")
	}
	if s.Backoff.Jitter < 0 || s.Backoff.Jitter >= 1 || s.Backoff.Jitter != s.Backoff.Jitter {
		return Errorf(EINVALID, "backoff.jitter: must be at least 0 and below 1")
	}
	if g := s.StopGracePeriodSeconds; g != nil && (*g < 0 || *g > MaxStopGracePeriodSeconds) {
		return Errorf(EINVALID, "stopGracePeriodSeconds: must be between 0 and %d, got %d", MaxStopGracePeriodSeconds, *g)
	}
	if t := s.TTLSecondsAfterFinished; t != nil && (*t < 0 || *t > MaxDeadlineSeconds) {
		return Errorf(EINVALID, "ttlSecondsAfterFinished: must be between 0 and %d, got %d", MaxDeadlineSeconds, *t)
	}
	if s.AttemptDeadlineSeconds < 0 || s.AttemptDeadlineSeconds > MaxDeadlineSeconds {
		return Errorf(EINVALID, "attemptDeadlineSeconds: must be between 1 and %d, got %d", MaxDeadlineSeconds, s.AttemptDeadlineSeconds)
	}
	if s.ActiveDeadlineSeconds < 0 || s.ActiveDeadlineSeconds > MaxDeadlineSeconds {
		return Errorf(EINVALID, "activeDeadlineSeconds: must be between 1 and %d, got %d", MaxDeadlineSeconds, s.ActiveDeadlineSeconds)
	}
	if err := s.Resources.validate(); err != nil {
		return err
	}
	if err := s.validateFileRefs(); err != nil {
		return err
	}
	if len(s.Placement.Constraints) > MaxConstraints {
		return Errorf(EINVALID, "placement.constraints: at most %d constraints are allowed", MaxConstraints)
	}
	for i, c := range s.Placement.Constraints {
		if len(c) > 512 || !printable(c) || !(strings.Contains(c, "==") || strings.Contains(c, "!=")) {
			return Errorf(EINVALID, "placement.constraints[%d]: must be an expression like node.role==worker", i)
		}
	}
	if err := s.ChildJobs.validate(); err != nil {
		return err
	}
	if len(s.Networks) > MaxNetworks {
		return Errorf(EINVALID, "networks: at most %d networks are allowed", MaxNetworks)
	}
	for i, n := range s.Networks {
		if n == "" || len(n) > 256 || !printable(n) || strings.ContainsAny(n, " \t") {
			return Errorf(EINVALID, "networks[%d]: must be a network name or ID", i)
		}
	}
	return validateMounts(s.Mounts)
}

func (r Resources) validate() error {
	for _, c := range []struct {
		field string
		v     ResourceAmounts
	}{{"resources.limits", r.Limits}, {"resources.reservations", r.Reservations}} {
		if c.v.CPUs < 0 || c.v.CPUs > 1024 || c.v.CPUs != c.v.CPUs || (c.v.CPUs != 0 && c.v.CPUs < 0.01) {
			return Errorf(EINVALID, "%s.cpus: must be 0 (unset) or between 0.01 and 1024", c.field)
		}
		if c.v.MemoryBytes < 0 {
			return Errorf(EINVALID, "%s.memoryBytes: must not be negative", c.field)
		}
		if c.v.MemoryBytes != 0 && c.v.MemoryBytes < 6<<20 {
			return Errorf(EINVALID, "%s.memoryBytes: must be at least 6291456 (6 MiB), the Engine's minimum", c.field)
		}
	}
	if r.Limits.CPUs > 0 && r.Reservations.CPUs > r.Limits.CPUs {
		return Errorf(EINVALID, "resources.reservations.cpus: must not exceed resources.limits.cpus")
	}
	if r.Limits.MemoryBytes > 0 && r.Reservations.MemoryBytes > r.Limits.MemoryBytes {
		return Errorf(EINVALID, "resources.reservations.memoryBytes: must not exceed resources.limits.memoryBytes")
	}
	return nil
}

func validateArgv(field string, argv []string) error {
	if len(argv) > MaxArgs {
		return Errorf(EINVALID, "%s: at most %d elements are allowed", field, MaxArgs)
	}
	for i, a := range argv {
		if len(a) > MaxArgLen || strings.ContainsRune(a, 0) {
			return Errorf(EINVALID, "%s[%d]: must be at most %d bytes without NUL", field, i, MaxArgLen)
		}
	}
	return nil
}

// printable reports whether s holds no control characters (C0, DEL, C1) and
// no invisible format characters (Unicode category Cf: bidirectional
// overrides, zero-width characters, the BOM), which can make a value read
// differently from what it is.
func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
