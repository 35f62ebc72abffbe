// Package policy holds the rules each tenant's jobs must follow before they
// are accepted: which host paths may be bind-mounted (never the Docker
// Engine's socket), which volumes and images may be used, and ceilings on
// resources, completions, parallelism, deadlines and the output kept, and
// which Swarm secrets and configs a job may be given.
//
// A Policy is read from a YAML or JSON file (Load) or is the built-in
// default (Default). Checking is pure but for one look at the manager's file
// system: bind sources that exist there have their symlinks resolved. A
// refusal is a *jobs.Error with code jobs.EPOLICY whose message names the
// field, the tenant and the rule.
package policy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/internal/jsonfield"
	"github.com/swarmjob/swarmjob/jobs"
)

// Rule names, as refusals and the policy file name them.
const (
	RuleEngineSocket   = "dockerSocket"
	RuleBindPrefixes   = "allowedBindPrefixes"
	RuleVolumes        = "allowedVolumes"
	RuleImages         = "allowedImages"
	RuleMaxCPUs        = "maxCpus"
	RuleMaxMemory      = "maxMemoryBytes"
	RuleMaxCompletions = "maxCompletions"
	RuleMaxParallelism = "maxParallelism"
	RuleMaxDeadline    = "maxActiveDeadlineSeconds"
	RuleSecrets        = "allowedSecrets"
	RuleConfigs        = "allowedConfigs"
	RuleMaxLogBytes    = "maxLogBytes"
	RuleMaxChildDepth  = "maxChildDepth"
	RuleMaxChildren    = "maxChildren"
	RuleMaxStopGrace   = "maxStopGracePeriodSeconds"
)

// TenantPlaceholder in a volume or image pattern stands for the tenant's
// name.
const TenantPlaceholder = "{tenant}"

// DefaultVolumePattern is the allowedVolumes of a policy that sets none: a
// tenant may use the volumes named after itself, and no other tenant's.
const DefaultVolumePattern = TenantPlaceholder + "_*"

// DefaultSecretPattern and DefaultConfigPattern are the allowedSecrets and
// allowedConfigs of a policy that sets none. Secrets and configs are global
// to the Swarm: without a pattern of its own, a tenant may use only those
// named after itself ({tenant} stands for the tenant's name here too).
const (
	DefaultSecretPattern = TenantPlaceholder + "_*"
	DefaultConfigPattern = TenantPlaceholder + "_*"
)

// EngineSockets are the sockets that give whoever can reach them the Engine
// (and so the host): bind-mounting them, or a directory above them, is always
// refused. Package-level and read-only; a Policy adds the socket of its own
// DOCKER_HOST with DenyPaths.
var EngineSockets = []string{
	"/var/run/docker.sock",
	"/run/docker.sock",
	"/var/run/containerd/containerd.sock",
	"/run/containerd/containerd.sock",
}

// Rules are the rules of one tenant. A nil field inherits the policy's
// defaults; an empty list is an empty list ("nothing is allowed"), which is
// why the lists are omitzero: encoding keeps an empty list and leaves out
// an unset one.
type Rules struct {
	// AllowedBindPrefixes are the host directories under which bind
	// sources may be. Default: none, so every bind mount is refused.
	AllowedBindPrefixes []string `json:"allowedBindPrefixes,omitzero"`
	// AllowedVolumes are path.Match patterns of the volume names a
	// volume mount may use; {tenant} is the tenant's name. Default:
	// ["{tenant}_*"].
	AllowedVolumes []string `json:"allowedVolumes,omitzero"`
	// AllowedImages are path.Match patterns of image references, matched
	// against the reference as written and in its full form
	// (docker.io/library/busybox:latest for busybox:latest). Default: any
	// image.
	AllowedImages []string `json:"allowedImages,omitzero"`
	// AllowedSecrets and AllowedConfigs are path.Match patterns of the
	// names of the Swarm secrets and configs a job may be given; {tenant}
	// is the tenant's name. Default: ["{tenant}_*"] each.
	AllowedSecrets []string `json:"allowedSecrets,omitzero"`
	AllowedConfigs []string `json:"allowedConfigs,omitzero"`
	// Ceilings. A job that leaves a limit or the deadline unset gets the
	// ceiling; one that asks for more is refused.
	MaxCPUs                  *float64 `json:"maxCpus,omitempty"`
	MaxMemoryBytes           *int64   `json:"maxMemoryBytes,omitempty"`
	MaxCompletions           *int     `json:"maxCompletions,omitempty"`
	MaxParallelism           *int     `json:"maxParallelism,omitempty"`
	MaxActiveDeadlineSeconds *int64   `json:"maxActiveDeadlineSeconds,omitempty"`
	// MaxLogBytes bounds a job's maxLogBytes, the output kept per
	// attempt. A job that leaves it unset gets the server's default
	// lowered to this ceiling. Default: the server's default (see
	// WithDefaultLogBytes), so that only a policy lets jobs keep more.
	MaxLogBytes *int64 `json:"maxLogBytes,omitempty"`
	// MaxActiveAttempts caps the attempts of all the tenant's jobs that are
	// active at once; jobs beyond it wait Pending with reason Queued.
	// Default: no cap.
	MaxActiveAttempts *int `json:"maxActiveAttempts,omitempty"`
	// MaxChildDepth and MaxChildren are ceilings on childJobs.maxDepth and
	// childJobs.maxChildren. Defaults: DefaultMaxChildDepth and
	// DefaultMaxChildren.
	MaxChildDepth *int `json:"maxChildDepth,omitempty"`
	MaxChildren   *int `json:"maxChildren,omitempty"`
	// MaxStopGracePeriodSeconds bounds a job's stopGracePeriodSeconds: how
	// long a stopped attempt may hold its resources (and the tenant's
	// slots) before it is killed. A job that sets none gets the smaller of
	// this and Swarm's 10 s. Default: none (the API's 3600).
	MaxStopGracePeriodSeconds *int64 `json:"maxStopGracePeriodSeconds,omitempty"`
}

// Built-in ceilings on child jobs: a job's tree of descendants stays small
// unless the operator allows more.
const (
	DefaultMaxChildDepth = 2
	DefaultMaxChildren   = 100
)

// File is the policy file: rules for every tenant, and per tenant rules
// whose fields override them.
type File struct {
	Defaults Rules            `json:"defaults"`
	Tenants  map[string]Rules `json:"tenants,omitempty"`
}

// Policy checks jobs against a File. It is immutable once built and safe
// for concurrent use.
type Policy struct {
	file File
	// denied are the sockets no bind mount may reach: EngineSockets and
	// DenyPaths, each also as its symlinks resolve.
	denied []string
	// evalSymlinks resolves a host path on the manager; a test fake in
	// tests.
	evalSymlinks func(string) (string, error)
	// defaultLogBytes is the server's cap on the output kept per attempt,
	// which a job's unset maxLogBytes means; 0 when not known.
	defaultLogBytes int64
}

// maxFileBytes bounds a policy file.
const maxFileBytes = 1 << 20

// Default returns the built-in policy: no bind mounts, the tenant's own
// volumes, any image, no ceilings beyond the API's own limits.
func Default() *Policy {
	p, _ := New(File{})
	return p
}

// Load reads the policy file at path, YAML or JSON, strictly: an unknown
// field is an error, as is a bad value.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	if len(b) > maxFileBytes {
		return nil, fmt.Errorf("policy %s: larger than %d bytes", path, maxFileBytes)
	}
	p, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// Parse reads a policy document, YAML or JSON (YAML is a superset of JSON),
// strictly. An empty document (or only comments, or null) is an error, not
// the built-in defaults: it is more likely a file cut short than a wish.
func Parse(doc []byte) (*Policy, error) {
	// Through JSON, so that field names, types and unknown fields are
	// checked by one strict decoder whatever the syntax.
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		// An empty file, or one cut short while it was written, would
		// otherwise put the loosest policy in force.
		return nil, errors.New("the document is empty; a policy that keeps the built-in defaults is written `defaults: {}`")
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		if name, ok := jsonfield.UnknownName(err); ok {
			return nil, fmt.Errorf("parsing: %s", jsonfield.ExplainUnknown(js, reflect.TypeFor[File](), name))
		}
		// The words of the API's decoder, so that a file reads the same
		// message whether the CLI or the server checks it.
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, fmt.Errorf("parsing: %s: must be %s, got %s", typeErr.Field, jsonfield.TypeName(typeErr.Type), typeErr.Value)
		}
		return nil, fmt.Errorf("parsing: %w", err)
	}
	return New(f)
}

// New returns the Policy of f after checking it.
func New(f File) (*Policy, error) {
	if err := f.Defaults.check("defaults"); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(f.Tenants)) {
		// The rule of tokens' tenants: rules for a name no token can
		// have would silently apply to nobody.
		if err := auth.ValidateTenant(name); err != nil {
			return nil, fmt.Errorf("tenants.%s: %s", name, jobs.ErrorMessage(err))
		}
		r := f.Tenants[name]
		if err := r.check("tenants." + name); err != nil {
			return nil, err
		}
	}
	p := &Policy{file: f, evalSymlinks: filepath.EvalSymlinks}
	p.denied = p.resolveAll(EngineSockets)
	return p, nil
}

// DenyPaths returns a copy of p that also refuses bind mounts reaching any
// of paths (such as the socket DOCKER_HOST names).
func (p *Policy) DenyPaths(paths ...string) *Policy {
	c := *p
	c.denied = append(append([]string(nil), p.denied...), c.resolveAll(paths)...)
	return &c
}

// WithDefaultLogBytes returns a copy of p that knows the server's default
// cap on the output kept per attempt (serve --max-log-bytes): it is the
// maxLogBytes ceiling of the tenants whose rules set none, and Apply gives a
// job that leaves maxLogBytes unset the smaller of n and its tenant's
// ceiling. Without it (n = 0), a tenant without a ceiling has none, and its
// jobs that leave maxLogBytes unset keep it unset (the controller's
// default applies).
func (p *Policy) WithDefaultLogBytes(n int64) *Policy {
	c := *p
	c.defaultLogBytes = max(n, 0)
	return &c
}

// resolveAll returns every path of paths, cleaned, and also as its symlinks
// resolve on this host when that differs.
func (p *Policy) resolveAll(paths []string) []string {
	var out []string
	for _, s := range paths {
		out = append(out, p.spellings(s)...)
	}
	return out
}

// spellings returns the forms of host path s that matter: cleaned lexically,
// and resolved through symlinks (of s as given, whose ".." follows a
// symlink as the kernel does, and of the cleaned form) where it exists on
// this host.
func (p *Policy) spellings(s string) []string {
	out := []string{path.Clean(s)}
	for _, in := range []string{s, out[0]} {
		if real, err := p.evalSymlinks(in); err == nil && !slices.Contains(out, path.Clean(real)) {
			out = append(out, path.Clean(real))
		}
	}
	return out
}

func (r Rules) check(where string) error {
	for i, pfx := range r.AllowedBindPrefixes {
		if !strings.HasPrefix(pfx, "/") || strings.ContainsRune(pfx, 0) {
			return fmt.Errorf("%s.%s[%d]: %q must be an absolute path", where, RuleBindPrefixes, i, pfx)
		}
	}
	for _, pats := range []struct {
		rule string
		list []string
	}{{RuleVolumes, r.AllowedVolumes}, {RuleImages, r.AllowedImages}, {RuleSecrets, r.AllowedSecrets}, {RuleConfigs, r.AllowedConfigs}} {
		for i, pat := range pats.list {
			if _, err := path.Match(pat, ""); err != nil || pat == "" {
				return fmt.Errorf("%s.%s[%d]: %q is not a valid pattern", where, pats.rule, i, pat)
			}
		}
	}
	switch {
	case r.MaxCPUs != nil && !(*r.MaxCPUs > 0):
		return fmt.Errorf("%s.%s: must be positive", where, RuleMaxCPUs)
	case r.MaxMemoryBytes != nil && *r.MaxMemoryBytes <= 0:
		return fmt.Errorf("%s.%s: must be positive", where, RuleMaxMemory)
	case r.MaxCompletions != nil && *r.MaxCompletions <= 0:
		return fmt.Errorf("%s.%s: must be positive", where, RuleMaxCompletions)
	case r.MaxParallelism != nil && *r.MaxParallelism <= 0:
		return fmt.Errorf("%s.%s: must be positive", where, RuleMaxParallelism)
	case r.MaxActiveDeadlineSeconds != nil && *r.MaxActiveDeadlineSeconds <= 0:
		return fmt.Errorf("%s.%s: must be positive", where, RuleMaxDeadline)
	case r.MaxLogBytes != nil && (*r.MaxLogBytes <= 0 || *r.MaxLogBytes > jobs.MaxLogBytesLimit):
		return fmt.Errorf("%s.%s: must be between 1 and %d", where, RuleMaxLogBytes, jobs.MaxLogBytesLimit)
	case r.MaxActiveAttempts != nil && *r.MaxActiveAttempts <= 0:
		return fmt.Errorf("%s.maxActiveAttempts: must be positive", where)
	case r.MaxChildDepth != nil && (*r.MaxChildDepth < 0 || *r.MaxChildDepth > jobs.MaxChildDepth):
		return fmt.Errorf("%s.%s: must be between 0 (no child jobs) and %d", where, RuleMaxChildDepth, jobs.MaxChildDepth)
	case r.MaxChildren != nil && (*r.MaxChildren < 0 || *r.MaxChildren > jobs.MaxChildrenPerJob):
		return fmt.Errorf("%s.%s: must be between 0 (no child jobs) and %d", where, RuleMaxChildren, jobs.MaxChildrenPerJob)
	case r.MaxStopGracePeriodSeconds != nil && (*r.MaxStopGracePeriodSeconds < 0 || *r.MaxStopGracePeriodSeconds > jobs.MaxStopGracePeriodSeconds):
		return fmt.Errorf("%s.%s: must be between 0 and %d", where, RuleMaxStopGrace, jobs.MaxStopGracePeriodSeconds)
	}
	return nil
}

// For returns the rules of tenant: its own fields over the defaults over
// the built-in defaults.
func (p *Policy) For(tenant string) Rules {
	r := p.file.Defaults
	if t, ok := p.file.Tenants[tenant]; ok {
		r = merge(r, t)
	}
	if r.AllowedVolumes == nil {
		r.AllowedVolumes = []string{DefaultVolumePattern}
	}
	if r.AllowedSecrets == nil {
		r.AllowedSecrets = []string{DefaultSecretPattern}
	}
	if r.MaxLogBytes == nil && p.defaultLogBytes > 0 {
		n := p.defaultLogBytes
		r.MaxLogBytes = &n
	}
	if r.AllowedConfigs == nil {
		r.AllowedConfigs = []string{DefaultConfigPattern}
	}
	if r.MaxChildDepth == nil {
		r.MaxChildDepth = new(int(DefaultMaxChildDepth))
	}
	if r.MaxChildren == nil {
		r.MaxChildren = new(int(DefaultMaxChildren))
	}
	return r
}

// merge returns base with every field o sets.
func merge(base, o Rules) Rules {
	if o.AllowedBindPrefixes != nil {
		base.AllowedBindPrefixes = o.AllowedBindPrefixes
	}
	if o.AllowedVolumes != nil {
		base.AllowedVolumes = o.AllowedVolumes
	}
	if o.AllowedImages != nil {
		base.AllowedImages = o.AllowedImages
	}
	if o.AllowedSecrets != nil {
		base.AllowedSecrets = o.AllowedSecrets
	}
	if o.AllowedConfigs != nil {
		base.AllowedConfigs = o.AllowedConfigs
	}
	// A set ceiling is a non-nil pointer: cmp.Or keeps o's when set.
	base.MaxCPUs = cmp.Or(o.MaxCPUs, base.MaxCPUs)
	base.MaxMemoryBytes = cmp.Or(o.MaxMemoryBytes, base.MaxMemoryBytes)
	base.MaxCompletions = cmp.Or(o.MaxCompletions, base.MaxCompletions)
	base.MaxParallelism = cmp.Or(o.MaxParallelism, base.MaxParallelism)
	base.MaxActiveDeadlineSeconds = cmp.Or(o.MaxActiveDeadlineSeconds, base.MaxActiveDeadlineSeconds)
	base.MaxLogBytes = cmp.Or(o.MaxLogBytes, base.MaxLogBytes)
	base.MaxActiveAttempts = cmp.Or(o.MaxActiveAttempts, base.MaxActiveAttempts)
	base.MaxChildDepth = cmp.Or(o.MaxChildDepth, base.MaxChildDepth)
	base.MaxChildren = cmp.Or(o.MaxChildren, base.MaxChildren)
	base.MaxStopGracePeriodSeconds = cmp.Or(o.MaxStopGracePeriodSeconds, base.MaxStopGracePeriodSeconds)
	return base
}

// CheckChildCreation returns an EPOLICY error when tenant's rules forbid
// child jobs (maxChildren or maxChildDepth 0), so that a policy changed
// after a parent was submitted stops its children too. The parent's own
// limits were checked against the ceilings when it was submitted.
func (p *Policy) CheckChildCreation(tenant string) error {
	r := p.For(tenant)
	if *r.MaxChildren == 0 {
		return refuse(tenant, RuleMaxChildren, "child jobs are not allowed")
	}
	if *r.MaxChildDepth == 0 {
		return refuse(tenant, RuleMaxChildDepth, "child jobs are not allowed")
	}
	return nil
}

// Tenants returns the tenants the policy has rules of their own for,
// sorted.
func (p *Policy) Tenants() []string {
	return slices.Sorted(maps.Keys(p.file.Tenants))
}

// ActiveAttemptLimit returns the cap on tenant's active attempts, 0 for none.
func (p *Policy) ActiveAttemptLimit(tenant string) int {
	if n := p.For(tenant).MaxActiveAttempts; n != nil && *n > 0 {
		return *n
	}
	return 0
}

// refuse returns the EPOLICY error of a rule.
func refuse(tenant, rule, format string, args ...any) error {
	return jobs.Errorf(jobs.EPOLICY, "%s (policy rule %s of tenant %q)", fmt.Sprintf(format, args...), rule, tenant)
}

// Apply checks spec, a validated spec of a new job of tenant, against the
// tenant's rules, and fills the limits, the deadline and the log cap the job
// left unset with the tenant's ceilings (the log cap: the smaller of the
// ceiling and the server's default, see WithDefaultLogBytes). It returns the
// first rule broken as an EPOLICY error, and leaves spec unchanged then.
func (p *Policy) Apply(tenant string, spec *jobs.Spec) error {
	r := p.For(tenant)
	if err := p.checkImage(tenant, r, spec.Image); err != nil {
		return err
	}
	for i, m := range spec.Mounts {
		if err := p.checkMount(tenant, r, i, m); err != nil {
			return err
		}
	}
	if err := checkFileRefs(tenant, r, spec); err != nil {
		return err
	}
	if err := checkCeilings(tenant, r, spec); err != nil {
		return err
	}
	if r.MaxCPUs != nil && spec.Resources.Limits.CPUs == 0 {
		spec.Resources.Limits.CPUs = *r.MaxCPUs
	}
	if r.MaxMemoryBytes != nil && spec.Resources.Limits.MemoryBytes == 0 {
		spec.Resources.Limits.MemoryBytes = *r.MaxMemoryBytes
	}
	if r.MaxActiveDeadlineSeconds != nil && spec.ActiveDeadlineSeconds == 0 {
		spec.ActiveDeadlineSeconds = *r.MaxActiveDeadlineSeconds
	}
	if c := r.MaxStopGracePeriodSeconds; c != nil && spec.StopGracePeriodSeconds == nil && *c < jobs.SwarmStopGracePeriodSeconds {
		spec.StopGracePeriodSeconds = new(*c)
	}
	if spec.MaxLogBytes == 0 {
		spec.MaxLogBytes = p.defaultLogBytes
		if c := r.MaxLogBytes; c != nil && (spec.MaxLogBytes == 0 || *c < spec.MaxLogBytes) {
			spec.MaxLogBytes = *c
		}
	}
	return nil
}

// CheckParallelism checks a new parallelism of a job of tenant (PATCH).
func (p *Policy) CheckParallelism(tenant string, n int) error {
	r := p.For(tenant)
	if r.MaxParallelism != nil && n > *r.MaxParallelism {
		return refuse(tenant, RuleMaxParallelism, "parallelism: %d exceeds the ceiling %d", n, *r.MaxParallelism)
	}
	return nil
}

func checkCeilings(tenant string, r Rules, s *jobs.Spec) error {
	if c := r.MaxCPUs; c != nil {
		for _, a := range []struct {
			field string
			v     float64
		}{{"resources.limits.cpus", s.Resources.Limits.CPUs}, {"resources.reservations.cpus", s.Resources.Reservations.CPUs}} {
			if a.v > *c {
				return refuse(tenant, RuleMaxCPUs, "%s: %g exceeds the ceiling %g", a.field, a.v, *c)
			}
		}
	}
	if c := r.MaxMemoryBytes; c != nil {
		for _, a := range []struct {
			field string
			v     int64
		}{{"resources.limits.memoryBytes", s.Resources.Limits.MemoryBytes}, {"resources.reservations.memoryBytes", s.Resources.Reservations.MemoryBytes}} {
			if a.v > *c {
				return refuse(tenant, RuleMaxMemory, "%s: %d exceeds the ceiling %d", a.field, a.v, *c)
			}
		}
	}
	if c := r.MaxCompletions; c != nil && s.Completions > *c {
		return refuse(tenant, RuleMaxCompletions, "completions: %d exceeds the ceiling %d", s.Completions, *c)
	}
	if c := r.MaxParallelism; c != nil && s.Parallelism > *c {
		return refuse(tenant, RuleMaxParallelism, "parallelism: %d exceeds the ceiling %d", s.Parallelism, *c)
	}
	if c := r.MaxActiveDeadlineSeconds; c != nil && s.ActiveDeadlineSeconds > *c {
		return refuse(tenant, RuleMaxDeadline, "activeDeadlineSeconds: %d exceeds the ceiling %d", s.ActiveDeadlineSeconds, *c)
	}
	if c, g := r.MaxStopGracePeriodSeconds, s.StopGracePeriodSeconds; c != nil && g != nil && *g > *c {
		return refuse(tenant, RuleMaxStopGrace, "stopGracePeriodSeconds: %d exceeds the ceiling %d", *g, *c)
	}
	if c := r.MaxLogBytes; c != nil && s.MaxLogBytes > *c {
		return refuse(tenant, RuleMaxLogBytes, "maxLogBytes: %d exceeds the ceiling %d", s.MaxLogBytes, *c)
	}
	if cj := s.ChildJobs; cj != nil {
		if c := r.MaxChildDepth; c != nil && cj.MaxDepth > *c {
			return refuse(tenant, RuleMaxChildDepth, "childJobs.maxDepth: %d exceeds the ceiling %d", cj.MaxDepth, *c)
		}
		if c := r.MaxChildren; c != nil && cj.MaxChildren > *c {
			return refuse(tenant, RuleMaxChildren, "childJobs.maxChildren: %d exceeds the ceiling %d", cj.MaxChildren, *c)
		}
	}
	return nil
}

// checkFileRefs refuses a secret or config whose name matches none of the
// tenant's patterns. It is checked before whether the name exists, so that
// a tenant learns nothing of the secrets of others.
func checkFileRefs(tenant string, r Rules, s *jobs.Spec) error {
	for i, f := range s.Secrets {
		if !matchAny(tenant, r.AllowedSecrets, f.Name) {
			return refuse(tenant, RuleSecrets, "secrets[%d].name: secret %q matches no allowed secret pattern", i, f.Name)
		}
	}
	for i, f := range s.Configs {
		if !matchAny(tenant, r.AllowedConfigs, f.Name) {
			return refuse(tenant, RuleConfigs, "configs[%d].name: config %q matches no allowed config pattern", i, f.Name)
		}
	}
	return nil
}

func (p *Policy) checkMount(tenant string, r Rules, i int, m jobs.Mount) error {
	switch m.Type {
	case jobs.MountBind:
		return p.checkBind(tenant, r, i, m.Source)
	case jobs.MountVolume:
		if !matchAny(tenant, r.AllowedVolumes, m.Source) {
			return refuse(tenant, RuleVolumes, "mounts[%d].source: volume %q matches no allowed volume pattern", i, m.Source)
		}
	}
	return nil
}

// checkBind refuses a bind source that reaches an Engine socket, in any of
// its spellings, and one that is not under an allowed prefix in every one of
// them.
func (p *Policy) checkBind(tenant string, r Rules, i int, src string) error {
	forms := p.spellings(src)
	for _, f := range forms {
		for _, sock := range p.denied {
			if reaches(f, sock) {
				return refuse(tenant, RuleEngineSocket, "mounts[%d].source: %q reaches the container engine's socket %s; jobs get the swarmjob API instead", i, src, sock)
			}
		}
	}
	for _, f := range forms {
		if !underAny(f, r.AllowedBindPrefixes) {
			return refuse(tenant, RuleBindPrefixes, "mounts[%d].source: %q is not under a directory the tenant may bind-mount", i, src)
		}
	}
	return nil
}

// reaches reports whether mounting dir exposes file: dir is file, or a
// directory above it. Case is ignored, for file systems that ignore it.
func reaches(dir, file string) bool {
	dir, file = strings.ToLower(dir), strings.ToLower(file)
	return dir == file || dir == "/" || strings.HasPrefix(file, dir+"/")
}

// underAny reports whether clean path p is one of prefixes or below one.
func underAny(p string, prefixes []string) bool {
	for _, pfx := range prefixes {
		pfx = path.Clean(pfx)
		if p == pfx || pfx == "/" || strings.HasPrefix(p, pfx+"/") {
			return true
		}
	}
	return false
}

func (p *Policy) checkImage(tenant string, r Rules, image string) error {
	if r.AllowedImages == nil {
		return nil
	}
	if matchAny(tenant, r.AllowedImages, image) || matchAny(tenant, r.AllowedImages, FullImageRef(image)) {
		return nil
	}
	return refuse(tenant, RuleImages, "image: %q matches no allowed image pattern", image)
}

// matchAny reports whether s matches one of patterns, with {tenant} in them
// replaced by tenant.
func matchAny(tenant string, patterns []string, s string) bool {
	for _, pat := range patterns {
		ok, err := path.Match(strings.ReplaceAll(pat, TenantPlaceholder, tenant), s)
		if err == nil && ok {
			return true
		}
	}
	return false
}

// FullImageRef returns an image reference with the registry and namespace
// Docker implies: "busybox:1" is "docker.io/library/busybox:1",
// "user/app" is "docker.io/user/app". A reference naming its registry (a
// first component with '.' or ':', or localhost) is returned as it is.
func FullImageRef(ref string) string {
	first, rest, found := strings.Cut(ref, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		if first == "index.docker.io" {
			first = "docker.io"
		}
		if first == "docker.io" && !strings.Contains(rest, "/") {
			return "docker.io/library/" + rest
		}
		return first + "/" + rest
	}
	if !found {
		return "docker.io/library/" + ref
	}
	return "docker.io/" + ref
}
