package policy

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

// fakeHost resolves symlinks as a manager whose /var/run is a symlink to
// /run, whose /srv/link points at the Docker socket, and whose
// /srv/data/../.. climbs out through a symlink: paths it does not know do
// not exist.
func fakeHost(links map[string]string) func(string) (string, error) {
	return func(p string) (string, error) {
		p = filepath.Clean(p)
		for from, to := range links {
			if p == from {
				return to, nil
			}
			if strings.HasPrefix(p, from+"/") {
				return to + strings.TrimPrefix(p, from), nil
			}
		}
		for _, exists := range []string{"/run/docker.sock", "/srv/data", "/srv/data/x", "/home"} {
			if p == exists {
				return p, nil
			}
		}
		return "", fs.ErrNotExist
	}
}

func newTestPolicy(t *testing.T, f File) *Policy {
	t.Helper()
	p, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	p.evalSymlinks = fakeHost(map[string]string{
		"/var/run":     "/run",
		"/srv/link":    "/run/docker.sock",
		"/srv/data/up": "/run",
	})
	p.denied = p.resolveAll(EngineSockets)
	return p
}

func bind(src string) jobs.Spec {
	return jobs.Spec{Image: "busybox", Mounts: []jobs.Mount{{Type: jobs.MountBind, Source: src, Target: "/m"}}}
}

// wantRule checks that err is an EPOLICY error naming rule.
func wantRule(t *testing.T, err error, rule string) {
	t.Helper()
	if rule == "" {
		if err != nil {
			t.Errorf("refused: %v", err)
		}
		return
	}
	if jobs.ErrorCode(err) != jobs.EPOLICY {
		t.Fatalf("error = %v, want a %s policy violation", err, rule)
	}
	if msg := jobs.ErrorMessage(err); !strings.Contains(msg, "policy rule "+rule+" ") {
		t.Errorf("message %q does not name rule %s", msg, rule)
	}
}

func TestDockerSocketRefusedInEverySpelling(t *testing.T) {
	// Even a tenant allowed to bind-mount anything never gets the socket.
	p := newTestPolicy(t, File{Defaults: Rules{AllowedBindPrefixes: []string{"/"}}})
	for _, src := range []string{
		"/var/run/docker.sock",
		"/run/docker.sock",
		"/var/run/docker.sock/",
		"/var/run//docker.sock",
		"//var/run/docker.sock",
		"/var/./run/docker.sock",
		"/var/run/./docker.sock",
		"/var/run/../run/docker.sock",
		"/tmp/../var/run/docker.sock",
		"/run/../run/./docker.sock//",
		"/VAR/RUN/DOCKER.SOCK",
		"/var/run",                 // the directory that holds it
		"/var/run/",                // its directory, spelled with a slash
		"/run",                     // the directory it is really in
		"/var",                     // any directory above it
		"/",                        // the whole host
		"/srv/link",                // a symlink to it
		"/srv/data/up/docker.sock", // through a symlinked directory
		"/run/containerd/containerd.sock",
		"/var/run/containerd",
	} {
		t.Run(src, func(t *testing.T) {
			s := bind(src)
			wantRule(t, p.Apply("a", &s), RuleEngineSocket)
		})
	}
}

func TestDeniedPathsAddDockerHostSocket(t *testing.T) {
	p := newTestPolicy(t, File{Defaults: Rules{AllowedBindPrefixes: []string{"/"}}}).DenyPaths("/home/u/.docker/run/docker.sock")
	for _, src := range []string{"/home/u/.docker/run/docker.sock", "/home/u/.docker/", "/home/u/./.docker/run/../run/docker.sock"} {
		s := bind(src)
		wantRule(t, p.Apply("a", &s), RuleEngineSocket)
	}
	s := bind("/home/u/work")
	wantRule(t, p.Apply("a", &s), "")
}

func TestBindPrefixes(t *testing.T) {
	p := newTestPolicy(t, File{
		Tenants: map[string]Rules{"a": {AllowedBindPrefixes: []string{"/srv/data", "/scratch/"}}},
	})
	tests := []struct {
		tenant, src, rule string
	}{
		{"a", "/srv/data", ""},
		{"a", "/srv/data/x", ""},
		{"a", "/srv/data/x/y/", ""},
		{"a", "/scratch/a", ""},
		{"a", "/srv/data2", RuleBindPrefixes},          // a sibling that shares the prefix's letters
		{"a", "/srv/data/../etc", RuleBindPrefixes},    // climbs out lexically
		{"a", "/srv/data/up/passwd", RuleBindPrefixes}, // climbs out through a symlink
		{"a", "/srv", RuleBindPrefixes},
		{"a", "/etc/shadow", RuleBindPrefixes},
		{"b", "/srv/data", RuleBindPrefixes}, // the default: no bind mounts
		{"b", "/tmp", RuleBindPrefixes},
	}
	for _, tt := range tests {
		t.Run(tt.tenant+tt.src, func(t *testing.T) {
			s := bind(tt.src)
			wantRule(t, p.Apply(tt.tenant, &s), tt.rule)
		})
	}
}

func TestVolumesAndTmpfs(t *testing.T) {
	p := newTestPolicy(t, File{Tenants: map[string]Rules{"shared": {AllowedVolumes: []string{"{tenant}_*", "common-*"}}}})
	tests := []struct {
		tenant, volume, rule string
	}{
		{"a", "a_cache", ""},
		{"a", "b_cache", RuleVolumes}, // another tenant's
		{"a", "a-b_cache", RuleVolumes},
		{"a-b", "a_cache", RuleVolumes},
		{"a", "cache", RuleVolumes},
		{"shared", "common-x", ""},
		{"shared", "shared_x", ""},
		{"shared", "a_x", RuleVolumes},
	}
	for _, tt := range tests {
		t.Run(tt.tenant+"/"+tt.volume, func(t *testing.T) {
			s := jobs.Spec{Image: "busybox", Mounts: []jobs.Mount{{Type: jobs.MountVolume, Source: tt.volume, Target: "/v"}}}
			wantRule(t, p.Apply(tt.tenant, &s), tt.rule)
		})
	}
	s := jobs.Spec{Image: "busybox", Mounts: []jobs.Mount{{Type: jobs.MountTmpfs, Target: "/t"}}}
	wantRule(t, p.Apply("a", &s), "")
}

func TestImages(t *testing.T) {
	p := newTestPolicy(t, File{Tenants: map[string]Rules{
		"a": {AllowedImages: []string{"docker.io/library/*", "registry.example.com/{tenant}/*"}},
		"b": {AllowedImages: []string{"swarmjob/*"}},
		"c": {AllowedImages: []string{}},
	}})
	tests := []struct {
		tenant, image, rule string
	}{
		{"a", "busybox", ""},
		{"a", "busybox:1.36", ""},
		{"a", "docker.io/library/busybox@sha256:abc", ""},
		{"a", "library/alpine", ""},
		{"a", "registry.example.com/a/app:1", ""},
		{"a", "registry.example.com/b/app:1", RuleImages},
		{"a", "evil/busybox", RuleImages},
		{"a", "evil.example.com/library/busybox", RuleImages},
		{"b", "swarmjob/busybox:test", ""},
		{"b", "docker.io/swarmjob/busybox:test", RuleImages}, // the pattern names the short form only
		{"b", "busybox", RuleImages},
		{"c", "busybox", RuleImages}, // an empty list allows nothing
		{"d", "anything/at:all", ""}, // no list: any image
	}
	for _, tt := range tests {
		t.Run(tt.tenant+"/"+tt.image, func(t *testing.T) {
			s := jobs.Spec{Image: tt.image}
			wantRule(t, p.Apply(tt.tenant, &s), tt.rule)
		})
	}
}

func TestFullImageRef(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                      "docker.io/library/busybox",
		"busybox:1":                    "docker.io/library/busybox:1",
		"user/app":                     "docker.io/user/app",
		"docker.io/busybox":            "docker.io/library/busybox",
		"index.docker.io/busybox":      "docker.io/library/busybox",
		"docker.io/user/app":           "docker.io/user/app",
		"localhost/app":                "localhost/app",
		"localhost:5000/app":           "localhost:5000/app",
		"registry.example.com/a/b:1":   "registry.example.com/a/b:1",
		"busybox@sha256:0123":          "docker.io/library/busybox@sha256:0123",
		"registry.example.com:443/app": "registry.example.com:443/app",
	} {
		if got := FullImageRef(in); got != want {
			t.Errorf("FullImageRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCeilings(t *testing.T) {
	p := newTestPolicy(t, File{
		Defaults: Rules{MaxCPUs: ptr(2.0), MaxMemoryBytes: ptr[int64](1 << 30), MaxCompletions: ptr(10), MaxParallelism: ptr(4),
			MaxActiveDeadlineSeconds: ptr[int64](3600)},
		Tenants: map[string]Rules{"big": {MaxCPUs: ptr(16.0), MaxChildren: ptr(500), MaxStopGracePeriodSeconds: ptr[int64](60)},
			"none": {MaxChildren: ptr(0)}, "quick": {MaxStopGracePeriodSeconds: ptr[int64](3)}},
	})
	ok := func() jobs.Spec { return jobs.Spec{Image: "busybox", Completions: 1, Parallelism: 1} }
	tests := []struct {
		name   string
		tenant string
		change func(*jobs.Spec)
		rule   string
	}{
		{"within", "a", func(s *jobs.Spec) {}, ""},
		{"cpus", "a", func(s *jobs.Spec) { s.Resources.Limits.CPUs = 2.5 }, RuleMaxCPUs},
		{"reserved cpus", "a", func(s *jobs.Spec) { s.Resources.Reservations.CPUs = 3 }, RuleMaxCPUs},
		{"cpus of a bigger tenant", "big", func(s *jobs.Spec) { s.Resources.Limits.CPUs = 8 }, ""},
		{"memory", "a", func(s *jobs.Spec) { s.Resources.Limits.MemoryBytes = 2 << 30 }, RuleMaxMemory},
		{"memory of a bigger tenant, inherited", "big", func(s *jobs.Spec) { s.Resources.Limits.MemoryBytes = 2 << 30 }, RuleMaxMemory},
		{"completions", "a", func(s *jobs.Spec) { s.Completions = 11 }, RuleMaxCompletions},
		{"parallelism", "a", func(s *jobs.Spec) { s.Parallelism = 5 }, RuleMaxParallelism},
		{"deadline", "a", func(s *jobs.Spec) { s.ActiveDeadlineSeconds = 3601 }, RuleMaxDeadline},
		{"child jobs within the built-in ceilings", "a", func(s *jobs.Spec) { s.ChildJobs = &jobs.ChildJobs{MaxDepth: 2, MaxChildren: 100} }, ""},
		{"child depth over the built-in ceiling", "a", func(s *jobs.Spec) { s.ChildJobs = &jobs.ChildJobs{MaxDepth: 3, MaxChildren: 1} }, RuleMaxChildDepth},
		{"children over the built-in ceiling", "a", func(s *jobs.Spec) { s.ChildJobs = &jobs.ChildJobs{MaxDepth: 1, MaxChildren: 101} }, RuleMaxChildren},
		{"children of a tenant allowed more", "big", func(s *jobs.Spec) { s.ChildJobs = &jobs.ChildJobs{MaxDepth: 1, MaxChildren: 500} }, ""},
		{"children of a tenant allowed none", "none", func(s *jobs.Spec) { s.ChildJobs = &jobs.ChildJobs{MaxDepth: 1, MaxChildren: 1} }, RuleMaxChildren},
		{"grace period without a ceiling", "a", func(s *jobs.Spec) { s.StopGracePeriodSeconds = ptr[int64](3600) }, ""},
		{"grace period over the ceiling", "big", func(s *jobs.Spec) { s.StopGracePeriodSeconds = ptr[int64](61) }, RuleMaxStopGrace},
		{"grace period at the ceiling", "big", func(s *jobs.Spec) { s.StopGracePeriodSeconds = ptr[int64](60) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok()
			tt.change(&s)
			before := s
			err := p.Apply(tt.tenant, &s)
			wantRule(t, err, tt.rule)
			if err != nil && !cmp.Equal(before, s) {
				t.Errorf("a refused spec was changed: %+v", s)
			}
		})
	}

	// What a job leaves unset, it gets at the ceiling.
	s := ok()
	if err := p.Apply("a", &s); err != nil {
		t.Fatal(err)
	}
	want := ok()
	want.Resources.Limits = jobs.ResourceAmounts{CPUs: 2, MemoryBytes: 1 << 30}
	want.ActiveDeadlineSeconds = 3600
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	// A grace ceiling below Swarm's 10 s is filled in; one above is not
	// (Swarm's default is within it).
	for tenant, want := range map[string]*int64{"quick": ptr[int64](3), "big": nil} {
		s := ok()
		if err := p.Apply(tenant, &s); err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(s.StopGracePeriodSeconds, want) {
			t.Errorf("tenant %s: stopGracePeriodSeconds %v, want %v", tenant, s.StopGracePeriodSeconds, want)
		}
	}
	wantRule(t, p.CheckParallelism("a", 5), RuleMaxParallelism)
	wantRule(t, p.CheckParallelism("a", 4), "")
	wantRule(t, Default().CheckParallelism("a", 10000), "")
}

func TestParse(t *testing.T) {
	yamlDoc := `
defaults:
  allowedImages: ["swarmjob/*"]
  maxCpus: 1.5
tenants:
  data:
    allowedBindPrefixes: [/srv/data]
    maxCpus: 4
`
	jsonDoc := `{"defaults":{"allowedImages":["swarmjob/*"],"maxCpus":1.5},"tenants":{"data":{"allowedBindPrefixes":["/srv/data"],"maxCpus":4}}}`
	for name, doc := range map[string]string{"yaml": yamlDoc, "json": jsonDoc} {
		t.Run(name, func(t *testing.T) {
			p, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			got := p.For("data")
			want := Rules{AllowedBindPrefixes: []string{"/srv/data"}, AllowedImages: []string{"swarmjob/*"},
				AllowedVolumes: []string{DefaultVolumePattern}, AllowedSecrets: []string{DefaultSecretPattern},
				AllowedConfigs: []string{DefaultConfigPattern}, MaxCPUs: ptr(4.0),
				MaxChildDepth: ptr(DefaultMaxChildDepth), MaxChildren: ptr(DefaultMaxChildren)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rules of data (-want +got):\n%s", diff)
			}
			if got := *p.For("other").MaxCPUs; got != 1.5 {
				t.Errorf("maxCpus of other = %v, want the default 1.5", got)
			}
		})
	}
	for _, bad := range []string{
		`defaults: {maxCPU: 1}`,                       // unknown field
		`defaults: {maxCpus: -1}`,                     // not positive
		`tenants: {a: {maxActiveAttempts: 0}}`,        // not positive
		`defaults: {maxCompletions: "ten"}`,           // wrong type
		`defaults: {allowedBindPrefixes: [relative]}`, // not absolute
		`defaults: {allowedImages: ["["]}`,            // bad pattern
		`tenants: {"a/b": {}}`,                        // not a tenant name
		`tenants: {"Team-A": {}}`,                     // no token can have it (upper case)
		`tenants: {"a_b": {}}`,                        // nor this ('_')
		`defaults: [1, 2]`,                            // not an object
		"defaults:\n  maxCpus: 1\n maxCpus: 2",        // bad YAML
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	// An empty document is more likely a file cut short than a wish for
	// the loosest policy; an explicit one is taken.
	for _, empty := range []string{"", "# only a comment\n", "null", "~"} {
		if _, err := Parse([]byte(empty)); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("Parse(%q): %v, want an error saying it is empty", empty, err)
		}
	}
	for _, explicit := range []string{"defaults: {}", "{}"} {
		if _, err := Parse([]byte(explicit)); err != nil {
			t.Errorf("Parse(%q): %v", explicit, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, []byte("defaults:\n  maxParallelism: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	wantRule(t, p.CheckParallelism("x", 4), RuleMaxParallelism)
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("loading a missing file succeeded")
	}
}

func ptr[T any](v T) *T { return &v }

// An unknown field in a policy file is named with its path and the rule
// probably meant.
func TestParseUnknownFieldMessage(t *testing.T) {
	for doc, want := range map[string]string{
		`defaults: {maxCpu: 1}`:               `parsing: defaults: unknown field "maxCpu"; did you mean "maxCpus"?`,
		`tenants: {data: {allowedImage: []}}`: `parsing: tenants.data: unknown field "allowedImage"; did you mean "allowedImages"?`,
		`default: {}`:                         `parsing: unknown field "default"; did you mean "defaults"?`,
	} {
		if _, err := Parse([]byte(doc)); err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %s", doc, err, want)
		}
	}
}
