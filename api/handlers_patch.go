package api

import (
	"context"
	"net/http"

	"github.com/swarmjob/swarmjob/jobs"
)

// handleSuspendJob serves POST /v1/jobs/{id}/suspend. Suspending is
// asynchronous: the controller stops the job's active attempts (their
// output is kept and they are not counted as failures) and moves the job
// to Suspended. The request body is ignored. A terminal job is a conflict.
func (s *Server) handleSuspendJob(w http.ResponseWriter, r *http.Request) {
	yes := true
	s.patchAndRespond(w, r, http.StatusAccepted, "suspended", jobs.SpecPatch{Suspend: &yes})
}

// handleResumeJob serves POST /v1/jobs/{id}/resume: the controller starts
// attempts again where the job left off. Resuming a job that is not
// suspended changes nothing. The request body is ignored. A terminal job is
// a conflict.
func (s *Server) handleResumeJob(w http.ResponseWriter, r *http.Request) {
	no := false
	s.patchAndRespond(w, r, http.StatusAccepted, "resumed", jobs.SpecPatch{Suspend: &no})
}

// handlePatchJob serves PATCH /v1/jobs/{id} with a types.JobPatch body,
// decoded as strictly as a job request. The new parallelism applies at the
// controller's next sync: lowering it stops the youngest active attempts
// (not counted as failures). A terminal job is a conflict.
func (s *Server) handlePatchJob(w http.ResponseWriter, r *http.Request) {
	if err := checkJSONContentType(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := decodeJobPatch(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.patchAndRespond(w, r, http.StatusOK, "changed", p)
}

// patchAndRespond applies p to the job of the request's path and answers
// with status and the job as stored, or with the error.
func (s *Server) patchAndRespond(w http.ResponseWriter, r *http.Request, status int, verb string, p jobs.SpecPatch) {
	job, err := s.patchSpec(r.Context(), r.PathValue("id"), verb, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, status, jobToWire(job))
}

// patchSpec stores p for a job that is not terminal, wakes the controller
// to act on it and wakes the job's waiters. A terminal job is ECONFLICT,
// with a message naming its phase and what cannot be done (verb).
//
// The check and the write are two store calls: a job that becomes terminal
// between them gets the patch, which has no effect on a terminal job, and
// the answer shows its terminal phase. A store that refuses the patch of a
// terminal job itself (ECONFLICT) is answered with its own message.
func (s *Server) patchSpec(ctx context.Context, id, verb string, p jobs.SpecPatch) (*jobs.Job, error) {
	job, err := s.getJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if job.Status.Phase.Terminal() {
		return nil, jobs.Errorf(jobs.ECONFLICT, "job %q is %s; a finished job cannot be %s", id, job.Status.Phase, verb)
	}
	if p.Parallelism != nil {
		if err := s.policies.Policy().CheckParallelism(job.Tenant, *p.Parallelism); err != nil {
			return nil, err
		}
	}
	job, err = s.store.PatchSpec(ctx, id, p)
	if jobs.IsNotFound(err) {
		return nil, jobNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	s.enqueuer.Enqueue(id)
	s.hub.Notify(id)
	return job, nil
}
