package api

import (
	"net/http"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// handleJobResults serves GET /v1/jobs/{id}/results: the outcome of each
// completion index, derived from the job's recorded attempts.
func (s *Server) handleJobResults(w http.ResponseWriter, r *http.Request) {
	job, err := s.getJob(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, resultsToWire(job))
}

// resultsToWire derives the per-index results of j. An Indexed job has one
// item per index 0..completions-1; a NonIndexed job runs every attempt as
// index 0 and has one item. An item's state is, in this order:
//
//   - Succeeded: the index succeeded (Indexed), or the job did (NonIndexed);
//   - Failed: the index is in status.failedIndexes (Indexed), or the job
//     failed (NonIndexed);
//   - Running: an attempt of the index is active;
//   - Failed: the job is terminal and the index's last attempt failed, so
//     it will never be retried;
//   - Pending: no outcome yet: not started, waiting for a retry, or its last
//     attempt was stopped (suspend, cancel, lowered parallelism, or the job
//     finishing first).
//
// The last attempt is the one with the highest attempt number; the item's
// exit code is that attempt's.
func resultsToWire(j *jobs.Job) types.Results {
	indexed := j.Spec.CompletionMode == jobs.Indexed
	n := 1
	if indexed {
		n = max(j.Spec.Completions, 1)
	}
	for _, a := range j.Status.Attempts {
		n = max(n, a.Index+1)
	}
	byIndex := make([][]jobs.Attempt, n)
	for _, a := range j.Status.Attempts {
		if a.Index >= 0 {
			byIndex[a.Index] = append(byIndex[a.Index], a)
		}
	}
	failedIdx := map[int]bool{}
	if indexed && j.Status.FailedIndexes != "" {
		// The status was written by the controller with FormatIndexes; a
		// value that does not parse marks no index.
		if idx, err := jobs.ParseIndexes(j.Status.FailedIndexes, n); err == nil {
			for _, i := range idx {
				failedIdx[i] = true
			}
		}
	}
	terminal := j.Status.Phase.Terminal()

	out := types.Results{
		JobID:          j.ID,
		CompletionMode: string(j.Spec.CompletionMode),
		Items:          make([]types.ResultItem, 0, n),
	}
	if out.CompletionMode == "" {
		out.CompletionMode = string(jobs.NonIndexed)
	}
	for i, attempts := range byIndex {
		item := types.ResultItem{Index: i, Attempts: len(attempts)}
		var last *jobs.Attempt
		succeeded, active := false, false
		for k := range attempts {
			a := &attempts[k]
			item.LogBytes += a.LogBytes
			item.Truncated = item.Truncated || a.Truncated
			succeeded = succeeded || a.State == jobs.AttemptSucceeded
			active = active || !a.Finished()
			if last == nil || a.Attempt > last.Attempt {
				last = a
			}
		}
		done, failed := succeeded, failedIdx[i]
		if !indexed {
			done, failed = j.Status.Phase == jobs.PhaseSucceeded, j.Status.Phase == jobs.PhaseFailed
		}
		switch {
		case done:
			item.State = types.IndexSucceeded
		case failed:
			item.State = types.IndexFailed
		case active:
			item.State = types.IndexRunning
		case terminal && last != nil && last.State == jobs.AttemptFailed:
			item.State = types.IndexFailed
		default:
			item.State = types.IndexPending
		}
		if last != nil {
			wire := attemptToWire(*last)
			item.LastAttempt = &wire
			item.ExitCode = clonePtr(last.ExitCode)
		}
		out.Items = append(out.Items, item)
	}
	return out
}
