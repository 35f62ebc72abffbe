package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/swarmjob/swarmjob/jobs"
)

// A backup taken while jobs are written is a store of its own: it opens,
// keeps the instance ID, and holds every job committed before it began.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "swarmjob.db")
	db := openAt(t, path)
	instance, err := db.InstanceID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		create(t, db, newJob(fmt.Sprintf("before-%d", i)))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.CreateJob(t.Context(), newJob(fmt.Sprintf("during-%d", i))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	dest := filepath.Join(dir, "copy.db")
	err = Backup(t.Context(), path, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("copy: %v, mode %v", err, fi.Mode())
	}
	cp := openAt(t, dest)
	if got, err := cp.InstanceID(t.Context()); err != nil || got != instance {
		t.Errorf("instance of the copy = %q, %v; want %q", got, err, instance)
	}
	for i := range 20 {
		if _, err := cp.GetJob(t.Context(), fmt.Sprintf("before-%d", i)); err != nil {
			t.Errorf("job before-%d missing from the copy: %v", i, err)
		}
	}
	page, err := cp.ListJobs(t.Context(), jobs.Filter{Limit: 500})
	if err != nil || len(page.Jobs) < 20 {
		t.Errorf("copy lists %d jobs, %v", len(page.Jobs), err)
	}
}

func TestBackupRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "swarmjob.db")
	openAt(t, path)
	exists := filepath.Join(dir, "exists.db")
	if err := os.WriteFile(exists, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	if err := os.WriteFile(foreign, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ src, dest string }{
		"existing destination": {path, exists},
		"missing store":        {filepath.Join(dir, "none.db"), filepath.Join(dir, "a.db")},
		"not a swarmjob store": {foreign, filepath.Join(dir, "b.db")},
	} {
		t.Run(name, func(t *testing.T) {
			if err := Backup(t.Context(), c.src, c.dest); err == nil {
				t.Fatal("backup succeeded")
			}
		})
	}
	if b, _ := os.ReadFile(exists); string(b) != "keep me" {
		t.Error("an existing destination was overwritten")
	}
	for _, left := range []string{"a.db", "b.db"} {
		if _, err := os.Stat(filepath.Join(dir, left)); !os.IsNotExist(err) {
			t.Errorf("a failed backup left %s behind", left)
		}
	}
}
