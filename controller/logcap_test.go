package controller

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/swarm"

	"github.com/swarmjob/swarmjob/jobs"
)

// The output kept of an attempt is capped by its job's maxLogBytes, or by
// the controller's MaxLogBytes for a job without one.
func TestSyncCapturesWithTheJobsLogCap(t *testing.T) {
	line := strings.Repeat("x", 99) // 100 bytes with its newline
	logs := strings.Repeat("stdout:"+line+"\n", 50)
	tests := []struct {
		name          string
		serverCap     int64
		jobCap        int64
		wantBytes     int64
		wantTruncated bool
	}{
		{"the job's cap", 1 << 20, 1000, 1000, true},
		{"the job's cap above the server's", 300, 4000, 4000, true},
		{"the job's cap above the output", 300, 1 << 20, 5000, false},
		{"the server's cap for a job without one", 1000, 0, 1000, true},
		{"the default cap", 0, 0, 5000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.serverCap > 0 {
				h.ctrl.maxLog = tt.serverCap
			}
			h.submit(t, jobs.Spec{Image: "img", MaxLogBytes: tt.jobCap})
			if err := h.step(t); err != nil {
				t.Fatal(err)
			}
			h.engine.finishTask("swarmjob-job1-0-0", swarm.TaskStateComplete, 0, "", logs)
			if err := h.step(t); err != nil {
				t.Fatal(err)
			}
			a := h.job(t).Status.Attempts[0]
			if a.LogBytes != tt.wantBytes || a.Truncated != tt.wantTruncated {
				t.Errorf("attempt logBytes %d truncated %v, want %d %v", a.LogBytes, a.Truncated, tt.wantBytes, tt.wantTruncated)
			}
			// The store holds exactly the output kept: each line is the
			// Engine's timestamp, a space and the text.
			var kept int64
			err := h.store.ReadLogs(t.Context(), jobs.LogQuery{JobID: "job1"}, func(c jobs.LogChunk) error {
				for _, l := range strings.SplitAfter(string(c.Data), "\n") {
					if l == "" {
						continue
					}
					_, text, _ := strings.Cut(l, " ")
					if strings.Trim(text, "x\n") != "" {
						t.Errorf("stored line %q", l)
					}
					kept += int64(len(text))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if kept != tt.wantBytes {
				t.Errorf("stored %d bytes of output, want %d", kept, tt.wantBytes)
			}
		})
	}
}
