package tests

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
)

// TestCLIIdempotencyKey: `run --idempotency-key` twice creates one job;
// the second follows the first one's job to the same exit code.
func TestCLIIdempotencyKey(t *testing.T) {
	t.Parallel()
	key := "cli-key-" + time.Now().Format("150405.000000000")
	run := func() (string, string, int) {
		cmd := exec.CommandContext(testCtx(t, time.Minute), binary, "--server", shared.url, "run", "--idempotency-key", key,
			testImage, "sh", "-c", "echo once; exit 3")
		cmd.Env = append(os.Environ(), "SWARMJOB_TOKEN="+shared.token)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}
	out1, _, code1 := run()
	out2, err2, code2 := run()
	if out1 != "once\n" || out2 != "once\n" || code1 != 3 || code2 != 3 {
		t.Errorf("runs: %q exit %d, %q exit %d; want once and 3 twice", out1, code1, out2, code2)
	}
	if !strings.Contains(err2, "already submitted with this idempotency key") {
		t.Errorf("the second run did not say it followed the first job: %q", err2)
	}
	list := exec.CommandContext(testCtx(t, 10*time.Second), binary, "--server", shared.url, "submit", "job.yaml")
	list.Env = append(os.Environ(), "SWARMJOB_TOKEN="+shared.token)
	if out, err := list.CombinedOutput(); err == nil || !strings.Contains(string(out), "swarmjob submit -f job.yaml") {
		t.Errorf("submit without -f: %v %s", err, out)
	}
}

// TestCLIAbbreviatedID: the CLI takes the first characters of a job ID, as
// docker does, against the real server's idPrefix filter.
func TestCLIAbbreviatedID(t *testing.T) {
	t.Parallel()
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("echo short")}})
	waitTerminal(t, shared, j.ID, time.Minute)
	cmd := exec.CommandContext(testCtx(t, 30*time.Second), binary, "--server", shared.url, "logs", j.ID[:8])
	cmd.Env = append(os.Environ(), "SWARMJOB_TOKEN="+shared.token)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "short\n" {
		t.Errorf("logs %s: %v %q", j.ID[:8], err, out)
	}
}
