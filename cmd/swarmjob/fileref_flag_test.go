package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
)

func TestParseFileRef(t *testing.T) {
	mode := func(m uint32) *uint32 { return &m }
	tests := []struct {
		in      string
		want    types.FileRef
		wantErr string
	}{
		{in: "db-pass", want: types.FileRef{Name: "db-pass"}},
		{in: "source=db-pass", want: types.FileRef{Name: "db-pass"}},
		{in: "src=db-pass,target=db,uid=1000,gid=1001,mode=0400", want: types.FileRef{Name: "db-pass", Target: "db", UID: "1000", GID: "1001", Mode: mode(0o400)}},
		{in: "target=/etc/app.conf,source=app", want: types.FileRef{Name: "app", Target: "/etc/app.conf"}},
		{in: "mode=440,source=x", want: types.FileRef{Name: "x", Mode: mode(0o440)}},
		{in: "", wantErr: "must be a name"},
		{in: "a,b", wantErr: "must be a name"},
		{in: "target=db", wantErr: "source=NAME is required"},
		{in: "source=a,mode=0900", wantErr: "not an octal mode"},
		{in: "source=a,owner=root", wantErr: `unknown key "owner"`},
		{in: "source=a,source=b", wantErr: "source: given twice"},
		{in: "source=a,target", wantErr: "want key=value"},
		{in: "source=a,target=", wantErr: "want key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseFileRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunSecretsConfigsAndLogCap(t *testing.T) {
	f, srv := newFakeAPI(t)
	code, _, stderr := runCLI(t, t.Context(), srv.URL, "run", "-d",
		"--secret", "a_db", "--secret", "source=a_tls,target=/etc/tls/key,mode=0400",
		"--config", "source=a_app,target=/etc/app.conf", "--max-log-bytes", "64k", "busybox")
	if code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, stderr)
	}
	mode := uint32(0o400)
	logCap := int64(64 << 10)
	want := types.CreateJobRequest{JobSpec: types.JobSpec{Image: "busybox",
		Secrets:     []types.FileRef{{Name: "a_db"}, {Name: "a_tls", Target: "/etc/tls/key", Mode: &mode}},
		Configs:     []types.FileRef{{Name: "a_app", Target: "/etc/app.conf"}},
		MaxLogBytes: &logCap,
	}}
	if diff := cmp.Diff([]types.CreateJobRequest{want}, f.calls().Created); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}

	for args, msg := range map[string]string{
		"--max-log-bytes 0":     "--max-log-bytes: must be at least 1 byte",
		"--secret target=x":     `invalid argument "target=x" for "--secret" flag: source=NAME is required`,
		"--config src=a,mode=9": `invalid argument "src=a,mode=9" for "--config" flag: mode: "9" is not an octal mode`,
	} {
		code, _, stderr := runCLI(t, t.Context(), srv.URL, append(append([]string{"run"}, strings.Fields(args)...), "busybox")...)
		if code != 2 || !strings.Contains(stderr, msg) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", args, code, stderr, msg)
		}
	}
}
