package api

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
)

// handleCreateJob serves POST /v1/jobs: it validates the request, stores a
// Pending job, records job.created and wakes the controller for it. With an
// Idempotency-Key, a repeated request returns the job the first one created
// (200), and the key used for another request is a 409.
func (s *Server) handleCreateJob(w http.ResponseWriter, r *http.Request) {
	if err := checkJSONContentType(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	key, err := s.idempotencyKey(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := decodeCreateJob(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := requestPrincipal(r)
	tenant := p.Tenant
	// One policy for the whole request, whatever changes meanwhile.
	pol := s.policies.Policy()
	if req.Spec.ChildJobs != nil && !s.childJobs {
		s.writeError(w, r, jobs.Errorf(jobs.EINVALID, "childJobs: this server gives jobs no access to its API; start it with --job-network to allow child jobs"))
		return
	}
	if p.Parent != "" {
		// A parent submitted before the server or the policy changed.
		if !s.childJobs {
			s.writeError(w, r, jobs.Errorf(jobs.EFORBIDDEN, "this server no longer allows child jobs (it runs without --job-network)"))
			return
		}
		if err := pol.CheckChildCreation(tenant); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	job := &jobs.Job{
		ID:     s.newID(),
		Name:   req.Name,
		Tenant: tenant,
		// A child-job token creates children of its job; the store checks
		// the parent's limits when it inserts the job.
		ParentID:  p.Parent,
		Labels:    req.Labels,
		CreatedAt: s.now().UTC(),
		Spec:      req.Spec,
		Status:    jobs.Status{Phase: jobs.PhasePending},
	}
	existing, err := s.replayed(r.Context(), job, key, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if existing != nil {
		s.writeReplay(w, r, existing)
		return
	}
	// The policy may fill in limits: on the job's copy of the spec, so
	// that the idempotency hash stays that of the request.
	if err := pol.Apply(tenant, &job.Spec); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.checkObjects(r.Context(), job.Spec); err != nil {
		s.writeError(w, r, err)
		return
	}
	existing, err = s.storeJob(r.Context(), job, key, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if existing != nil {
		s.writeReplay(w, r, existing)
		return
	}
	// The store recorded job.created with the job, so before any other
	// event of the job.
	s.enqueuer.Enqueue(job.ID)
	w.Header().Set("Location", "/v1/jobs/"+url.PathEscape(job.ID))
	s.writeJSON(w, r, http.StatusCreated, jobToWire(job))
}

// writeReplay answers a repeated idempotent submission with the job the
// first one created.
func (s *Server) writeReplay(w http.ResponseWriter, r *http.Request, existing *jobs.Job) {
	w.Header().Set("Location", "/v1/jobs/"+url.PathEscape(existing.ID))
	w.Header().Set(types.HeaderIdempotentReplayed, "true")
	s.writeJSON(w, r, http.StatusOK, jobToWire(existing))
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

// handleListJobs serves GET /v1/jobs?phase=&label=&namePrefix=&createdAfter=
// &createdBefore=&order=&limit=&cursor=.
func (s *Server) handleListJobs(w http.ResponseWriter, r *http.Request) {
	f, err := parseListFilter(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A tenant lists its own jobs, whatever it asks for; an admin lists
	// every tenant's, or the one of ?tenant=.
	if p := requestPrincipal(r); !p.Admin() {
		if f.Tenant != "" && f.Tenant != p.Tenant {
			// Said rather than ignored: the client meant another
			// tenant's jobs and would take its own for them.
			s.writeError(w, r, jobs.Errorf(jobs.EFORBIDDEN, "tenant: only admin tokens list other tenants' jobs; this token's tenant is %s", p.Tenant))
			return
		}
		f.Tenant = p.Tenant
		// A child-job token lists its job's children only.
		if p.Parent != "" {
			f.ParentID = p.Parent
		}
	}
	page, err := s.store.ListJobs(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, types.JobList{Items: jobsToWire(page.Jobs), NextCursor: page.NextCursor})
}

// idPrefixRE is a beginning of a job ID (a lower-case UUID).
var idPrefixRE = regexp.MustCompile(`^[0-9a-f-]{1,36}$`)

// maxParentLen bounds ?parent: job IDs are UUIDs.
const maxParentLen = 128

// parseListFilter reads the query of GET /v1/jobs. Empty parameters count as
// absent. label is a label selector and may repeat; every requirement of
// every label parameter must hold.
func parseListFilter(q url.Values) (jobs.Filter, error) {
	var f jobs.Filter
	if p := q.Get("phase"); p != "" {
		f.Phase = jobs.Phase(p)
		if !f.Phase.Valid() {
			return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "phase: must be one of %s, %s, %s, %s, %s, %s, got %q",
				jobs.PhasePending, jobs.PhaseRunning, jobs.PhaseSucceeded, jobs.PhaseFailed, jobs.PhaseCancelled, jobs.PhaseSuspended, p)
		}
	}
	sel, err := parseSelectorParam(q)
	if err != nil {
		return jobs.Filter{}, err
	}
	f.Selector = sel
	if p := q.Get("namePrefix"); p != "" {
		if len(p) > jobs.MaxNameLen {
			return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "namePrefix: must be at most %d characters, got %d", jobs.MaxNameLen, len(p))
		}
		f.NamePrefix = p
	}
	if f.CreatedAfter, err = parseTimeParam(q, "createdAfter"); err != nil {
		return jobs.Filter{}, err
	}
	if f.CreatedBefore, err = parseTimeParam(q, "createdBefore"); err != nil {
		return jobs.Filter{}, err
	}
	switch o := q.Get("order"); o {
	case "", string(jobs.OrderDesc):
		f.Order = jobs.OrderDesc
	case string(jobs.OrderAsc):
		f.Order = jobs.OrderAsc
	default:
		return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "order: must be asc or desc, got %q", o)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxListLimit {
			return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "limit: must be an integer between 1 and %d, got %q", MaxListLimit, l)
		}
		f.Limit = n
	}
	f.Cursor = q.Get("cursor")
	if p := q.Get("idPrefix"); p != "" {
		if !idPrefixRE.MatchString(p) {
			return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "idPrefix: must be 1 to 36 of the characters of job IDs (0-9, a-f, '-'), got %q", p)
		}
		f.IDPrefix = p
	}
	if p := q.Get("parent"); p != "" {
		if len(p) > maxParentLen || !printableASCII(p) {
			return jobs.Filter{}, jobs.Errorf(jobs.EINVALID, "parent: must be a job ID")
		}
		f.ParentID = p
	}
	if t := q.Get("tenant"); t != "" {
		if err := auth.ValidateTenant(t); err != nil {
			return jobs.Filter{}, err
		}
		f.Tenant = t
	}
	return f, nil
}

// parseSelectorParam reads the label parameters of q as one label selector:
// their requirements joined. Empty parameters are skipped.
func parseSelectorParam(q url.Values) (jobs.Selector, error) {
	var parts []string
	for _, l := range q["label"] {
		if l != "" {
			parts = append(parts, l)
		}
	}
	sel, err := jobs.ParseSelector(strings.Join(parts, ","))
	if err != nil {
		return nil, jobs.Errorf(jobs.EINVALID, "label: %s", jobs.ErrorMessage(err))
	}
	return sel, nil
}

// parseTimeParam reads the RFC 3339 time of parameter name; absent or empty
// is the zero time.
func parseTimeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, jobs.Errorf(jobs.EINVALID, "%s: must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got %q", name, v)
	}
	return t, nil
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
// The job must be one the request's principal can see: its tenant never
// changes, so the check before the write holds for the write.
func (s *Server) requestCancel(ctx context.Context, id string, del bool) (*jobs.Job, error) {
	if _, err := s.getJob(ctx, id); err != nil {
		return nil, err
	}
	job, err := s.store.RequestCancel(ctx, id, del)
	if jobs.IsNotFound(err) {
		return nil, jobNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	s.enqueuer.Enqueue(id)
	s.hub.Notify(id)
	// The store cancelled the job's descendants with it: wake the
	// controller for them too. Were this lost in a crash, the controller
	// would find them at start, as it finds every unfinished job.
	if d, ok := s.store.(descendantLister); ok && job.Spec.ChildJobs != nil {
		ids, err := d.DescendantIDs(ctx, id)
		if err != nil {
			s.log.Warn("listing the child jobs to cancel", "job", id, "err", err)
		}
		for _, child := range ids {
			s.enqueuer.Enqueue(child)
			s.hub.Notify(child)
		}
	}
	return job, nil
}

// descendantLister is implemented by stores that can list a job's
// descendants (sqlite.DB), so that cancelling a parent wakes the controller
// for its children at once rather than at its next resync.
type descendantLister interface {
	DescendantIDs(ctx context.Context, id string) ([]string, error)
}

// getJob reads a job that the principal of ctx may see, with the API's one
// not-found message. Another tenant's job is not found, exactly as a job
// that does not exist, so that IDs reveal nothing across tenants; so is
// every job for a ctx without a principal. Every route naming a job reads
// it through here first.
func (s *Server) getJob(ctx context.Context, id string) (*jobs.Job, error) {
	job, err := s.store.GetJob(ctx, id)
	if jobs.IsNotFound(err) {
		return nil, jobNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	if p, _ := auth.FromContext(ctx); !p.CanSee(job.Tenant, job.ParentID) {
		return nil, jobNotFound(id)
	}
	return job, nil
}
