package tests

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// peakRSS returns a process's peak resident set size in bytes (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestHugeOutputIsCappedWithFlatMemory: a job that writes 200 MB is stored
// truncated at the cap, the stored output is exactly the first cap bytes,
// and the server's peak RSS grows by less than 64 MB.
func TestHugeOutputIsCappedWithFlatMemory(t *testing.T) {
	t.Parallel()
	s, err := startServer(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	before := peakRSS(t, s.cmd.Process.Pid)
	j := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command: sh("yes 0123456789abcdef | head -c 200000000"),
	}})
	j = waitTerminal(t, s, j.ID, 3*time.Minute)
	if j.Status.Phase != types.PhaseSucceeded {
		t.Fatalf("status = %+v", j.Status)
	}
	a := j.Status.Attempts[0]
	const capBytes = 1 << 20 // the server's default --max-log-bytes
	if !a.Truncated || a.LogBytes != capBytes {
		t.Errorf("attempt = %+v, want truncated at %d", a, capBytes)
	}
	got := logs(t, s, j.ID, client.LogOptions{})
	want := strings.Repeat("0123456789abcdef\n", capBytes/17+1)[:capBytes]
	if got != want {
		t.Errorf("stored output (%d bytes) is not the first %d bytes of the job's output", len(got), capBytes)
	}
	after := peakRSS(t, s.cmd.Process.Pid)
	t.Logf("server peak RSS %d MiB before, %d MiB after", before>>20, after>>20)
	if after-before > 64<<20 {
		t.Errorf("server peak RSS grew by %d MiB, want under 64", (after-before)>>20)
	}
}
