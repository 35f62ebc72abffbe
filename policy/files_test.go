package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

func TestSecretsAndConfigs(t *testing.T) {
	p := newTestPolicy(t, File{Tenants: map[string]Rules{
		"ops":   {AllowedSecrets: []string{"{tenant}_*", "shared-*"}, AllowedConfigs: []string{"*"}},
		"none":  {AllowedSecrets: []string{}},
		"other": {AllowedConfigs: []string{"{tenant}.*"}},
	}})
	tests := []struct {
		tenant  string
		secrets []string
		configs []string
		rule    string
	}{
		{tenant: "a", secrets: []string{"a_db"}},
		{tenant: "a", configs: []string{"a_app.conf"}},
		{tenant: "a", secrets: []string{"a_db", "b_db"}, rule: RuleSecrets}, // another tenant's
		{tenant: "a", secrets: []string{"a-b_db"}, rule: RuleSecrets},
		{tenant: "a-b", secrets: []string{"a_db"}, rule: RuleSecrets},
		{tenant: "a", secrets: []string{"db"}, rule: RuleSecrets},
		{tenant: "a", configs: []string{"b_app.conf"}, rule: RuleConfigs},
		{tenant: "ops", secrets: []string{"ops_x", "shared-tls"}},
		{tenant: "ops", secrets: []string{"a_x"}, rule: RuleSecrets},
		{tenant: "ops", configs: []string{"anything"}},
		{tenant: "none", secrets: []string{"none_x"}, rule: RuleSecrets}, // an empty list allows nothing
		{tenant: "none", configs: []string{"none_x"}},                    // configs keep the default
		{tenant: "other", configs: []string{"other.yaml"}},
		{tenant: "other", configs: []string{"other_x"}, rule: RuleConfigs},
	}
	refs := func(names []string) []jobs.FileRef {
		var out []jobs.FileRef
		for _, n := range names {
			out = append(out, jobs.FileRef{Name: n, Target: "/" + n})
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.tenant+"/"+tt.rule, func(t *testing.T) {
			s := jobs.Spec{Image: "busybox", Secrets: refs(tt.secrets), Configs: refs(tt.configs)}
			err := p.Apply(tt.tenant, &s)
			wantRule(t, err, tt.rule)
			if err != nil && tt.secrets != nil && tt.rule == RuleSecrets {
				// The message names the refused secret and its index.
				if msg := jobs.ErrorMessage(err); !strings.Contains(msg, "secrets[") || !strings.Contains(msg, "matches no allowed secret pattern") {
					t.Errorf("message %q", msg)
				}
			}
		})
	}
}

func TestLogCeiling(t *testing.T) {
	base := newTestPolicy(t, File{
		Defaults: Rules{MaxLogBytes: ptr[int64](4096)},
		Tenants:  map[string]Rules{"big": {MaxLogBytes: ptr[int64](10 << 20)}},
	})
	open := newTestPolicy(t, File{})
	tests := []struct {
		name      string
		p         *Policy
		tenant    string
		requested int64
		want      int64 // the spec's maxLogBytes after Apply
		rule      string
	}{
		{"unset gets the ceiling below the server's default", base.WithDefaultLogBytes(1 << 20), "a", 0, 4096, ""},
		{"unset gets the server's default below the ceiling", base.WithDefaultLogBytes(1 << 20), "big", 0, 1 << 20, ""},
		{"unset, server default unknown: the ceiling", base, "a", 0, 4096, ""},
		{"unset, no ceiling, no default: stays unset", open, "a", 0, 0, ""},
		{"unset, no ceiling: the server's default", open.WithDefaultLogBytes(65536), "a", 0, 65536, ""},
		{"within", base.WithDefaultLogBytes(1 << 20), "a", 1000, 1000, ""},
		{"at the ceiling", base, "a", 4096, 4096, ""},
		{"twice the ceiling", base.WithDefaultLogBytes(1 << 20), "a", 8192, 8192, RuleMaxLogBytes},
		{"above the server's default within a bigger ceiling", base.WithDefaultLogBytes(1 << 20), "big", 5 << 20, 5 << 20, ""},
		{"no ceiling: the server's default is the ceiling", open.WithDefaultLogBytes(65536), "a", 65537, 65537, RuleMaxLogBytes},
		{"no ceiling, no default: anything", open, "a", 1 << 30, 1 << 30, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := jobs.Spec{Image: "busybox", MaxLogBytes: tt.requested}
			err := tt.p.Apply(tt.tenant, &s)
			wantRule(t, err, tt.rule)
			if s.MaxLogBytes != tt.want {
				t.Errorf("maxLogBytes = %d, want %d", s.MaxLogBytes, tt.want)
			}
		})
	}
	// The ceiling inherits like the others, and the server's default
	// fills in only where the file sets none.
	got := []*int64{base.WithDefaultLogBytes(1).For("a").MaxLogBytes, base.For("big").MaxLogBytes, open.WithDefaultLogBytes(7).For("a").MaxLogBytes, open.For("a").MaxLogBytes}
	if diff := cmp.Diff([]*int64{ptr[int64](4096), ptr[int64](10 << 20), ptr[int64](7), nil}, got); diff != "" {
		t.Errorf("ceilings (-want +got):\n%s", diff)
	}
}

func TestParseSecretRules(t *testing.T) {
	p, err := Parse([]byte("defaults:\n  allowedSecrets: [\"{tenant}-*\"]\n  maxLogBytes: 1000\ntenants:\n  a:\n    allowedConfigs: [cfg-*]\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := p.For("a")
	want := Rules{AllowedVolumes: []string{DefaultVolumePattern}, AllowedSecrets: []string{"{tenant}-*"}, AllowedConfigs: []string{"cfg-*"}, MaxLogBytes: ptr[int64](1000)}
	if diff := cmp.Diff(want.AllowedSecrets, r.AllowedSecrets); diff != "" {
		t.Errorf("allowedSecrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.AllowedConfigs, r.AllowedConfigs); diff != "" {
		t.Errorf("allowedConfigs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.MaxLogBytes, r.MaxLogBytes); diff != "" {
		t.Errorf("maxLogBytes (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		`defaults: {allowedSecrets: ["["]}`,
		`defaults: {allowedConfigs: [""]}`,
		`defaults: {maxLogBytes: 0}`,
		`tenants: {a: {maxLogBytes: -1}}`,
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}
