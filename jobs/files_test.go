package jobs

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFileRefDefaults(t *testing.T) {
	s := Spec{Image: "busybox",
		Secrets: []FileRef{{Name: "db-pass"}, {Name: "tls", Target: "/etc/tls/key", UID: "1000", GID: "1000", Mode: 0o400}},
		Configs: []FileRef{{Name: "app.conf"}, {Name: "x", Target: "/etc/x"}},
	}
	s.Defaults()
	want := Spec{
		Secrets: []FileRef{{Name: "db-pass", Target: "db-pass", UID: "0", GID: "0"}, {Name: "tls", Target: "/etc/tls/key", UID: "1000", GID: "1000", Mode: 0o400}},
		Configs: []FileRef{{Name: "app.conf", Target: "/app.conf", UID: "0", GID: "0"}, {Name: "x", Target: "/etc/x", UID: "0", GID: "0"}},
	}
	if diff := cmp.Diff(want.Secrets, s.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.Configs, s.Configs); diff != "" {
		t.Errorf("configs (-want +got):\n%s", diff)
	}
}

func TestValidateFileRefs(t *testing.T) {
	secret := func(name, target string) FileRef {
		return FileRef{Name: name, Target: target, UID: "0", GID: "0", Mode: DefaultFileMode}
	}
	many := func(n int) []FileRef {
		out := make([]FileRef, n)
		for i := range out {
			out[i] = secret("s", "t"+strings.Repeat("x", i))
		}
		return out
	}
	tests := []struct {
		name    string
		mod     func(*Spec)
		wantErr string // substring naming the field; "" for valid
	}{
		{name: "secret by file name", mod: func(s *Spec) { s.Secrets = []FileRef{secret("db-pass", "db")} }},
		{name: "secret in a subdirectory", mod: func(s *Spec) { s.Secrets = []FileRef{secret("db-pass", "app/db")} }},
		{name: "secret at an absolute path", mod: func(s *Spec) { s.Secrets = []FileRef{secret("db-pass", "/etc/db")} }},
		{name: "same secret twice", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "x"), secret("a", "y")} }},
		{name: "config", mod: func(s *Spec) { s.Configs = []FileRef{secret("app.conf_1", "/etc/app.conf")} }},
		{name: "64 secrets", mod: func(s *Spec) { s.Secrets = many(MaxSecrets) }},
		{name: "mode 0", mod: func(s *Spec) { s.Secrets = []FileRef{{Name: "a", Target: "a", UID: "0", GID: "0"}} }},
		{name: "log cap", mod: func(s *Spec) { s.MaxLogBytes = 1000 }},

		{name: "65 secrets", mod: func(s *Spec) { s.Secrets = many(MaxSecrets + 1) }, wantErr: "secrets: at most 64"},
		{name: "65 configs", mod: func(s *Spec) { s.Configs = many(MaxConfigs + 1) }, wantErr: "configs: at most 64"},
		{name: "no name", mod: func(s *Spec) { s.Secrets = []FileRef{secret("", "x")} }, wantErr: "secrets[0].name: is required"},
		{name: "name with slash", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a/b", "x")} }, wantErr: "secrets[0].name"},
		{name: "name starting with dot", mod: func(s *Spec) { s.Configs = []FileRef{secret(".a", "/x")} }, wantErr: "configs[0].name"},
		{name: "name ending with dash", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a-", "x")} }, wantErr: "secrets[0].name"},
		{name: "name too long", mod: func(s *Spec) { s.Secrets = []FileRef{secret(strings.Repeat("a", 65), "x")} }, wantErr: "secrets[0].name"},
		{name: "name with NUL", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a\x00b", "x")} }, wantErr: "secrets[0].name"},
		{name: "no target", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "")} }, wantErr: "secrets[0].target: is required"},
		{name: "dotdot target", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "../x")} }, wantErr: "secrets[0].target"},
		{name: "dotdot only", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "..")} }, wantErr: "secrets[0].target"},
		{name: "dotdot inside", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "x/../../etc")} }, wantErr: "secrets[0].target"},
		{name: "dot target", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", ".")} }, wantErr: "secrets[0].target"},
		{name: "trailing slash", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "x/")} }, wantErr: "secrets[0].target"},
		{name: "NUL in target", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "x\x00")} }, wantErr: "secrets[0].target"},
		{name: "absolute dotdot", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "/run/../etc/x")} }, wantErr: "secrets[0].target"},
		{name: "root target", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "/")} }, wantErr: "secrets[0].target"},
		{name: "relative config", mod: func(s *Spec) { s.Configs = []FileRef{secret("a", "etc/a")} }, wantErr: "configs[0].target"},
		{name: "duplicate target", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "x"), secret("b", "x")} }, wantErr: "secrets[1].target: /run/secrets/x is also the target of secrets[0]"},
		{name: "relative and absolute collide", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "x"), secret("b", "/run/secrets/x")} }, wantErr: "secrets[1].target"},
		{name: "secret and config collide", mod: func(s *Spec) {
			s.Secrets, s.Configs = []FileRef{secret("a", "/etc/a")}, []FileRef{secret("b", "/etc/a")}
		}, wantErr: "configs[0].target: /etc/a is also the target of secrets[0]"},
		{name: "uid not numeric", mod: func(s *Spec) { s.Secrets = []FileRef{{Name: "a", Target: "a", UID: "root", GID: "0"}} }, wantErr: "secrets[0].uid"},
		{name: "uid over 32 bits", mod: func(s *Spec) { s.Secrets = []FileRef{{Name: "a", Target: "a", UID: "4294967296", GID: "0"}} }, wantErr: "secrets[0].uid"},
		{name: "gid with a sign", mod: func(s *Spec) { s.Secrets = []FileRef{{Name: "a", Target: "a", UID: "0", GID: "+5"}} }, wantErr: "secrets[0].gid"},
		{name: "secret in swarmjob's directory", mod: func(s *Spec) { s.Secrets = []FileRef{secret("a", "/run/swarmjob/ca.pem")} }, wantErr: "secrets[0].target: is under /run/swarmjob"},
		{name: "config in swarmjob's directory", mod: func(s *Spec) { s.Configs = []FileRef{secret("a", "/run/swarmjob")} }, wantErr: "configs[0].target: is under /run/swarmjob"},
		{name: "gid empty", mod: func(s *Spec) { s.Configs = []FileRef{{Name: "a", Target: "/a", UID: "0"}} }, wantErr: "configs[0].gid"},
		{name: "mode with setuid", mod: func(s *Spec) { s.Secrets = []FileRef{{Name: "a", Target: "a", UID: "0", GID: "0", Mode: 0o4755}} }, wantErr: "secrets[0].mode"},
		{name: "negative log cap", mod: func(s *Spec) { s.MaxLogBytes = -1 }, wantErr: "maxLogBytes"},
		{name: "huge log cap", mod: func(s *Spec) { s.MaxLogBytes = MaxLogBytesLimit + 1 }, wantErr: "maxLogBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Spec{Image: "busybox"}
			s.Defaults()
			tt.mod(&s)
			err := Validate("", nil, s)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("no error, want one naming %q", tt.wantErr)
			case tt.wantErr != "":
				if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want EINVALID naming %q", err, tt.wantErr)
				}
			}
		})
	}
}

func TestSecretPath(t *testing.T) {
	for in, want := range map[string]string{"db": "/run/secrets/db", "app/db": "/run/secrets/app/db", "/etc/db": "/etc/db"} {
		if got := SecretPath(in); got != want {
			t.Errorf("SecretPath(%q) = %q, want %q", in, got, want)
		}
	}
}
