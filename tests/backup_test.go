package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// TestBackupAndRestore: `swarmjob backup` copies a running server's store;
// a server started on the copy (the original stopped) has the job and its
// results.
func TestBackupAndRestore(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s, err := startServer(data)
	if err != nil {
		t.Fatal(err)
	}
	j := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("echo kept in the backup")}})
	waitTerminal(t, s, j.ID, time.Minute)

	copyFile := filepath.Join(t.TempDir(), "swarmjob-backup.db")
	out, err := exec.CommandContext(testCtx(t, time.Minute), binary, "backup", "--data-dir", data, copyFile).CombinedOutput()
	if err != nil {
		t.Fatalf("swarmjob backup: %v\n%s", err, out)
	}
	s.stop()

	restored := filepath.Join(t.TempDir(), "restored")
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(copyFile, filepath.Join(restored, "swarmjob.db")); err != nil {
		t.Fatal(err)
	}
	r, err := startServer(restored)
	if err != nil {
		t.Fatal(err)
	}
	defer r.stop()
	got, err := r.client.GetJob(testCtx(t, 10*time.Second), j.ID)
	if err != nil || got.Status.Phase != "Succeeded" {
		t.Fatalf("job on the restored server: %+v, %v", got, err)
	}
	if o := logs(t, r, j.ID, client.LogOptions{}); !strings.Contains(o, "kept in the backup") {
		t.Errorf("output on the restored server: %q", o)
	}
}
