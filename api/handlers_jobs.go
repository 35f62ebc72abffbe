package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// handleCreateJob serves POST /v1/jobs: it validates the request, stores a
// Pending job and wakes the controller for it.
func (s *Server) handleCreateJob(w http.ResponseWriter, r *http.Request) {
	if err := checkJSONContentType(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := decodeCreateJob(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	job := &jobs.Job{
		ID:        s.newID(),
		Name:      req.Name,
		Labels:    req.Labels,
		CreatedAt: s.now().UTC(),
		Spec:      req.Spec,
		Status:    jobs.Status{Phase: jobs.PhasePending},
	}
	if err := s.store.CreateJob(r.Context(), job); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.enqueuer.Enqueue(job.ID)
	w.Header().Set("Location", "/v1/jobs/"+url.PathEscape(job.ID))
	s.writeJSON(w, r, http.StatusCreated, jobToWire(job))
}

// handleGetJob serves GET /v1/jobs/{id}.
func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request) {
	job, err := s.getJob(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, jobToWire(job))
}

// handleListJobs serves GET /v1/jobs?phase=&label=k=v&limit=&cursor=.
func (s *Server) handleListJobs(w http.ResponseWriter, r *http.Request) {
	f, err := parseListFilter(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.store.ListJobs(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, types.JobList{Items: jobsToWire(page.Jobs), NextCursor: page.NextCursor})
}

// parseListFilter reads the query of GET /v1/jobs. Empty parameters count as
// absent; label may repeat and all labels must match.
func parseListFilter(q url.Values) (jobs.Filter, error) {
	var f jobs.Filter
	if p := q.Get("phase"); p != "" {
		f.Phase = jobs.Phase(p)
		if !f.Phase.Valid() {
			return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "phase: must be one of %s, %s, %s, %s, %s, %s, got %q",
				jobs.PhasePending, jobs.PhaseRunning, jobs.PhaseSucceeded, jobs.PhaseFailed, jobs.PhaseCancelled, jobs.PhaseSuspended, p)
		}
	}
	for _, l := range q["label"] {
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "label: must be key=value, got %q", l)
		}
		if f.Labels == nil {
			f.Labels = make(map[string]string)
		}
		if old, dup := f.Labels[k]; dup && old != v {
			return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "label: key %q is given with two values, %q and %q; no job can match both", k, old, v)
		}
		f.Labels[k] = v
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxListLimit {
			return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "limit: must be an integer between 1 and %d, got %q", MaxListLimit, l)
		}
		f.Limit = n
	}
	f.Cursor = q.Get("cursor")
	return f, nil
}

// handleCancelJob serves POST /v1/jobs/{id}/cancel. Cancellation is
// asynchronous: the controller stops the job's attempts and moves it to
// Cancelled. A terminal job keeps its phase; the flag is ignored for it.
func (s *Server) handleCancelJob(w http.ResponseWriter, r *http.Request) {
	job, err := s.requestCancel(r.Context(), r.PathValue("id"), false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusAccepted, jobToWire(job))
}

// handleDeleteJob serves DELETE /v1/jobs/{id}. The job is hidden from
// readers at once; the controller cancels it, removes its services and then
// deletes its record.
func (s *Server) handleDeleteJob(w http.ResponseWriter, r *http.Request) {
	if _, err := s.requestCancel(r.Context(), r.PathValue("id"), true); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// requestCancel flags the job, wakes the controller to act on the flag, and
// wakes the job's waiters, who see the job as it is now (404 once deleted).
func (s *Server) requestCancel(ctx context.Context, id string, del bool) (*jobs.Job, error) {
	job, err := s.store.RequestCancel(ctx, id, del)
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

// getJob reads a job, with the API's one not-found message.
func (s *Server) getJob(ctx context.Context, id string) (*jobs.Job, error) {
	job, err := s.store.GetJob(ctx, id)
	if jobs.IsNotFound(err) {
		return nil, jobNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	return job, nil
}
