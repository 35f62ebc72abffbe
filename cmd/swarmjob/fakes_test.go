package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
)

// fakeAPI is a small in-memory stand-in for the swarmjob server. It records
// what the CLI sent; jobs it creates get IDs job-1, job-2, ...
type fakeAPI struct {
	t *testing.T

	mu      sync.Mutex
	jobs    map[string]*types.Job
	order   []string // job IDs in creation order, for listing
	created []types.CreateJobRequest
	cancels []string
	deletes []string
	waits   int
	queries []string // raw queries of list and logs calls

	suspends []string
	resumes  []string
	patches  []string // "ID BODY"
	// results holds the answer of GET /v1/jobs/{id}/results per job ID.
	results map[string]types.Results

	// final is the status a created job has when waited for; nil keeps
	// it Running, so wait calls block until their timeout.
	final *types.JobStatus
	// logs holds the text of each stream ("stdout", "stderr", "all").
	logs map[string]string
	// onWait, when set, runs at the start of every wait call.
	onWait func()
	// onLogs, when set, runs at the start of every logs call.
	onLogs func()
	// logsDown makes every logs call answer 503.
	logsDown bool
	// pageSize pages GET /v1/jobs when positive.
	pageSize int
	// lists counts GET /v1/jobs calls.
	lists int
	// timeouts holds the timeout of each wait call.
	timeouts []string
	// events feeds GET /v1/events: each message sent is written to the
	// open stream as it is (Server-Sent Events text), and "" ends the
	// stream, as a server that shuts down does. Nil answers 503.
	events chan string
	// eventConns holds the Last-Event-ID header of each GET /v1/events.
	eventConns []string
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	t.Helper()
	f := &fakeAPI{t: t, jobs: map[string]*types.Job{}, logs: map[string]string{}, results: map[string]types.Results{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/jobs", f.create)
	mux.HandleFunc("GET /v1/jobs", f.list)
	mux.HandleFunc("GET /v1/jobs/{id}", f.get)
	mux.HandleFunc("GET /v1/jobs/{id}/wait", f.wait)
	mux.HandleFunc("GET /v1/jobs/{id}/logs", f.logsHandler)
	mux.HandleFunc("POST /v1/jobs/{id}/cancel", f.cancel)
	mux.HandleFunc("DELETE /v1/jobs/{id}", f.delete)
	mux.HandleFunc("POST /v1/jobs/{id}/suspend", f.suspendOrResume(true))
	mux.HandleFunc("POST /v1/jobs/{id}/resume", f.suspendOrResume(false))
	mux.HandleFunc("PATCH /v1/jobs/{id}", f.patch)
	mux.HandleFunc("GET /v1/jobs/{id}/results", f.resultsHandler)
	mux.HandleFunc("GET /v1/events", f.eventsHandler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

// addJob stores a job as if it had been created earlier.
func (f *fakeAPI) addJob(j types.Job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[j.ID] = &j
	f.order = append(f.order, j.ID)
}

func (f *fakeAPI) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake API: encoding response: %v", err)
	}
}

func (f *fakeAPI) writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	f.writeJSON(w, status, types.ErrorResponse{Error: types.ErrorBody{Code: code, Message: fmt.Sprintf(format, args...)}})
}

// job returns a copy of the job named in the path, or writes a 404.
func (f *fakeAPI) job(w http.ResponseWriter, r *http.Request) (types.Job, bool) {
	id := r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		f.writeError(w, http.StatusNotFound, types.CodeNotFound, "job %q not found", id)
		return types.Job{}, false
	}
	return *j, true
}

func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request) {
	var req types.CreateJobRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.writeError(w, http.StatusBadRequest, types.CodeInvalid, "body: %v", err)
		return
	}
	f.mu.Lock()
	f.created = append(f.created, req)
	id := "job-" + strconv.Itoa(len(f.created))
	j := &types.Job{ID: id, Name: req.Name, Labels: req.Labels, CreatedAt: time.Now().UTC(), Spec: req.JobSpec,
		Status: types.JobStatus{Phase: types.PhasePending, Attempts: []types.Attempt{}}}
	f.jobs[id] = j
	f.order = append(f.order, id)
	out := *j
	f.mu.Unlock()
	f.writeJSON(w, http.StatusCreated, out)
}

func (f *fakeAPI) get(w http.ResponseWriter, r *http.Request) {
	if j, ok := f.job(w, r); ok {
		f.writeJSON(w, http.StatusOK, j)
	}
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.RawQuery)
	f.lists++
	var items []types.Job
	prefix := r.URL.Query().Get("idPrefix")
	for _, id := range f.order {
		if j, ok := f.jobs[id]; ok && strings.HasPrefix(id, prefix) {
			items = append(items, *j)
		}
	}
	pageSize := f.pageSize
	f.mu.Unlock()
	start := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			f.writeError(w, http.StatusBadRequest, types.CodeInvalid, "cursor: invalid")
			return
		}
		start = n
	}
	items = items[min(start, len(items)):]
	list := types.JobList{Items: items}
	if pageSize > 0 && len(items) > pageSize {
		list.Items = items[:pageSize]
		list.NextCursor = strconv.Itoa(start + pageSize)
	}
	f.writeJSON(w, http.StatusOK, list)
}

func (f *fakeAPI) wait(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.waits++
	f.timeouts = append(f.timeouts, r.URL.Query().Get("timeout"))
	onWait, final := f.onWait, f.final
	f.mu.Unlock()
	if onWait != nil {
		onWait()
	}
	j, ok := f.job(w, r)
	if !ok {
		return
	}
	if final != nil {
		j.Status = *final
		f.writeJSON(w, http.StatusOK, j)
		return
	}
	timeout, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	if err != nil {
		f.writeError(w, http.StatusBadRequest, types.CodeInvalid, "timeout: %v", err)
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return
	case <-t.C:
	}
	j.Status.Phase = types.PhaseRunning
	f.writeJSON(w, http.StatusOK, j)
}

func (f *fakeAPI) logsHandler(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.job(w, r); !ok {
		return
	}
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.RawQuery)
	text := f.logs[r.URL.Query().Get("stream")]
	onLogs, running, down := f.onLogs, f.final == nil, f.logsDown
	f.mu.Unlock()
	if onLogs != nil {
		onLogs()
	}
	if down {
		f.writeError(w, http.StatusServiceUnavailable, types.CodeUnavailable, "server is shutting down")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, text)
	if r.URL.Query().Get("follow") == "true" && running {
		// A followed job that runs on: the response goes on until the
		// client leaves.
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}
}

func (f *fakeAPI) cancel(w http.ResponseWriter, r *http.Request) {
	j, ok := f.job(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	f.cancels = append(f.cancels, j.ID)
	f.mu.Unlock()
	f.writeJSON(w, http.StatusAccepted, j)
}

func (f *fakeAPI) delete(w http.ResponseWriter, r *http.Request) {
	j, ok := f.job(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	f.deletes = append(f.deletes, j.ID)
	delete(f.jobs, j.ID)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// suspendOrResume serves the suspend (true) or resume route: 409 for a
// terminal job, as the server answers.
func (f *fakeAPI) suspendOrResume(suspend bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		j, ok := f.job(w, r)
		if !ok {
			return
		}
		if types.TerminalPhase(j.Status.Phase) {
			f.writeError(w, http.StatusConflict, types.CodeConflict, "job %q is %s", j.ID, j.Status.Phase)
			return
		}
		f.mu.Lock()
		if suspend {
			f.suspends = append(f.suspends, j.ID)
		} else {
			f.resumes = append(f.resumes, j.ID)
		}
		f.jobs[j.ID].Spec.Suspend = &suspend
		out := *f.jobs[j.ID]
		f.mu.Unlock()
		f.writeJSON(w, http.StatusAccepted, out)
	}
}

func (f *fakeAPI) patch(w http.ResponseWriter, r *http.Request) {
	j, ok := f.job(w, r)
	if !ok {
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		f.writeError(w, http.StatusBadRequest, types.CodeInvalid, "body: %v", err)
		return
	}
	var p types.JobPatch
	if err := json.Unmarshal(b, &p); err != nil || p.Parallelism == nil {
		f.writeError(w, http.StatusBadRequest, types.CodeInvalid, "body: %v", err)
		return
	}
	if types.TerminalPhase(j.Status.Phase) {
		f.writeError(w, http.StatusConflict, types.CodeConflict, "job %q is %s", j.ID, j.Status.Phase)
		return
	}
	f.mu.Lock()
	f.patches = append(f.patches, j.ID+" "+string(b))
	f.jobs[j.ID].Spec.Parallelism = p.Parallelism
	out := *f.jobs[j.ID]
	f.mu.Unlock()
	f.writeJSON(w, http.StatusOK, out)
}

func (f *fakeAPI) resultsHandler(w http.ResponseWriter, r *http.Request) {
	j, ok := f.job(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	res := f.results[j.ID]
	f.mu.Unlock()
	f.writeJSON(w, http.StatusOK, res)
}

func (f *fakeAPI) eventsHandler(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.eventConns = append(f.eventConns, r.Header.Get("Last-Event-ID"))
	ch := f.events
	f.mu.Unlock()
	if ch == nil {
		f.writeError(w, http.StatusServiceUnavailable, types.CodeUnavailable, "events: this server keeps no events stream")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	io.WriteString(w, ": open\n\n")
	rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case msg := <-ch:
			if msg == "" {
				return
			}
			io.WriteString(w, msg)
			rc.Flush()
		}
	}
}

// setStatus changes the phase and reason of a stored job.
func (f *fakeAPI) setStatus(id, phase, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[id].Status.Phase, f.jobs[id].Status.Reason = phase, reason
}

// removeJob deletes a stored job.
func (f *fakeAPI) removeJob(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.jobs, id)
}

// waitTimeouts returns the timeout parameter of each wait call.
func (f *fakeAPI) waitTimeouts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.timeouts...)
}

// listCount returns how many list calls the fake answered.
func (f *fakeAPI) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

// eventConnections returns the Last-Event-ID of each events request.
func (f *fakeAPI) eventConnections() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.eventConns...)
}

// calls returns what the fake recorded, for comparison.
func (f *fakeAPI) calls() fakeCalls {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := fakeCalls{
		Created: append([]types.CreateJobRequest(nil), f.created...),
		Cancels: append([]string(nil), f.cancels...),
		Deletes: append([]string(nil), f.deletes...),
		Queries: append([]string(nil), f.queries...),
		Waits:   f.waits,

		Suspends: append([]string(nil), f.suspends...),
		Resumes:  append([]string(nil), f.resumes...),
		Patches:  append([]string(nil), f.patches...),
	}
	return c
}

// fakeCalls is a snapshot of what fakeAPI saw.
type fakeCalls struct {
	Created []types.CreateJobRequest
	Cancels []string
	Deletes []string
	Queries []string
	Waits   int

	Suspends []string
	Resumes  []string
	Patches  []string
}
