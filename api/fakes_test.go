package api

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
)

// fakeStore is an in-memory jobs.Store. It copies jobs in and out, as a
// real store does, so a handler cannot pass by aliasing what it stored.
// Set failWith to make a method fail and panicIn to make it panic.
type fakeStore struct {
	mu       sync.Mutex
	keys     map[string]fakeKey // idempotency keys
	jobs     map[string]*jobs.Job
	order    []string // creation order
	logs     map[jobs.AttemptKey][]fakeChunk
	failWith map[string]error
	panicIn  string
	calls    []string
	// record, when set, receives the events stored with changes, as a
	// real store announces them (the events env sets it).
	record func(jobs.Event)
}

// stored hands the events of a change to f.record; the caller holds f.mu.
func (f *fakeStore) stored(events ...jobs.Event) {
	if f.record == nil {
		return
	}
	for _, e := range events {
		f.record(e)
	}
}

// createdEvent is the job.created event a store stores with j.
func createdEvent(j *jobs.Job) jobs.Event {
	phase := j.Status.Phase
	if phase == "" {
		phase = jobs.PhasePending
	}
	return jobs.Event{Time: j.CreatedAt, Type: jobs.EventJobCreated, JobID: j.ID, Tenant: j.Tenant, Labels: j.Labels, Phase: phase}
}

type fakeChunk struct {
	seq    int
	stream jobs.Stream
	data   []byte
}

var _ jobs.Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{
		jobs:     make(map[string]*jobs.Job),
		logs:     make(map[jobs.AttemptKey][]fakeChunk),
		failWith: make(map[string]error),
	}
}

// enter records a call and returns the error the test wants it to fail with.
// The caller holds mu.
func (f *fakeStore) enter(method string) error {
	f.calls = append(f.calls, method)
	if f.panicIn == method {
		panic("fakeStore: " + method + " panics on purpose")
	}
	return f.failWith[method]
}

func (f *fakeStore) setFail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failWith[method] = err
}

func (f *fakeStore) setPanic(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.panicIn = method
}

func notFound(id string) error { return jobs.Errorf(jobs.ENOTFOUND, "no job %s in fake store", id) }

func cloneJob(j *jobs.Job) *jobs.Job {
	c := *j
	c.Labels = maps.Clone(j.Labels)
	c.Spec.Command = slices.Clone(j.Spec.Command)
	c.Spec.Args = slices.Clone(j.Spec.Args)
	c.Spec.Env = maps.Clone(j.Spec.Env)
	c.Spec.Networks = slices.Clone(j.Spec.Networks)
	c.Spec.Mounts = slices.Clone(j.Spec.Mounts)
	c.Spec.Placement.Constraints = slices.Clone(j.Spec.Placement.Constraints)
	c.Spec.BackoffLimitPerIndex = clonePtr(j.Spec.BackoffLimitPerIndex)
	c.Spec.MaxFailedIndexes = clonePtr(j.Spec.MaxFailedIndexes)
	if p := j.Spec.FailurePolicy; p != nil {
		c.Spec.FailurePolicy = &jobs.FailurePolicy{Rules: slices.Clone(p.Rules)}
	}
	if p := j.Spec.SuccessPolicy; p != nil {
		c.Spec.SuccessPolicy = &jobs.SuccessPolicy{Rules: slices.Clone(p.Rules)}
	}
	c.Status.Conditions = slices.Clone(j.Status.Conditions)
	c.Status.Attempts = slices.Clone(j.Status.Attempts)
	return &c
}

func (f *fakeStore) CreateJob(_ context.Context, j *jobs.Job) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateJob"); err != nil {
		return err
	}
	if _, ok := f.jobs[j.ID]; ok {
		return jobs.Errorf(jobs.ECONFLICT, "job %q exists", j.ID)
	}
	f.jobs[j.ID] = cloneJob(j)
	f.order = append(f.order, j.ID)
	f.stored(createdEvent(j))
	return nil
}

func (f *fakeStore) GetJob(_ context.Context, id string) (*jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetJob"); err != nil {
		return nil, err
	}
	j, ok := f.jobs[id]
	if !ok || j.DeleteRequested {
		return nil, notFound(id)
	}
	return cloneJob(j), nil
}

func (f *fakeStore) GetJobForSync(_ context.Context, id string) (*jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetJobForSync"); err != nil {
		return nil, err
	}
	j, ok := f.jobs[id]
	if !ok {
		return nil, notFound(id)
	}
	return cloneJob(j), nil
}

// ListJobs pages newest first; its cursor is the offset of the next page.
func (f *fakeStore) ListJobs(_ context.Context, flt jobs.Filter) (jobs.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListJobs"); err != nil {
		return jobs.Page{}, err
	}
	var match []*jobs.Job
	for i := len(f.order) - 1; i >= 0; i-- {
		j, ok := f.jobs[f.order[i]]
		if !ok || j.DeleteRequested {
			continue
		}
		if flt.Phase != "" && j.Status.Phase != flt.Phase {
			continue
		}
		if flt.Tenant != "" && j.Tenant != flt.Tenant {
			continue
		}
		if !flt.Selector.Matches(j.Labels) || !strings.HasPrefix(j.Name, flt.NamePrefix) {
			continue
		}
		if (!flt.CreatedAfter.IsZero() && j.CreatedAt.Before(flt.CreatedAfter)) ||
			(!flt.CreatedBefore.IsZero() && !j.CreatedAt.Before(flt.CreatedBefore)) {
			continue
		}
		match = append(match, j)
	}
	if flt.Order == jobs.OrderAsc {
		slices.Reverse(match)
	}
	start := 0
	if flt.Cursor != "" {
		n, err := strconv.Atoi(flt.Cursor)
		if err != nil || n < 0 || n > len(match) {
			return jobs.Page{}, jobs.Errorf(jobs.EINVALID, "cursor: %q is not a cursor of this store", flt.Cursor)
		}
		start = n
	}
	limit := cmp.Or(flt.Limit, 100)
	end := min(start+limit, len(match))
	var page jobs.Page
	for _, j := range match[start:end] {
		page.Jobs = append(page.Jobs, cloneJob(j))
	}
	if end < len(match) {
		page.NextCursor = strconv.Itoa(end)
	}
	return page, nil
}

func (f *fakeStore) UpdateStatus(_ context.Context, id string, s jobs.Status, events ...jobs.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UpdateStatus"); err != nil {
		return err
	}
	j, ok := f.jobs[id]
	if !ok {
		return notFound(id)
	}
	s.Attempts = j.Status.Attempts
	j.Status = s
	f.stored(events...)
	return nil
}

// PatchSpec applies p; it does not look at the phase, as the sqlite store
// does not.
func (f *fakeStore) PatchSpec(_ context.Context, id string, p jobs.SpecPatch) (*jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("PatchSpec"); err != nil {
		return nil, err
	}
	j, ok := f.jobs[id]
	if !ok || j.DeleteRequested {
		return nil, notFound(id)
	}
	if p.Parallelism != nil {
		j.Spec.Parallelism = *p.Parallelism
	}
	if p.Suspend != nil {
		j.Spec.Suspend = *p.Suspend
	}
	return cloneJob(j), nil
}

func (f *fakeStore) RequestCancel(_ context.Context, id string, del bool) (*jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("RequestCancel"); err != nil {
		return nil, err
	}
	j, ok := f.jobs[id]
	if !ok || j.DeleteRequested {
		return nil, notFound(id)
	}
	j.CancelRequested = true
	j.DeleteRequested = j.DeleteRequested || del
	return cloneJob(j), nil
}

func (f *fakeStore) DeleteJob(_ context.Context, id string, events ...jobs.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteJob"); err != nil {
		return err
	}
	if _, ok := f.jobs[id]; !ok {
		return notFound(id)
	}
	f.stored(events...)
	delete(f.jobs, id)
	for k := range f.logs {
		if k.JobID == id {
			delete(f.logs, k)
		}
	}
	return nil
}

func (f *fakeStore) UnfinishedJobIDs(_ context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UnfinishedJobIDs"); err != nil {
		return nil, err
	}
	var ids []string
	for _, id := range f.order {
		j, ok := f.jobs[id]
		if !ok {
			continue
		}
		unremoved := slices.ContainsFunc(j.Status.Attempts, func(a jobs.Attempt) bool { return !a.Removed })
		if !j.Status.Phase.Terminal() || j.DeleteRequested || unremoved {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (f *fakeStore) PutAttempt(_ context.Context, jobID string, a jobs.Attempt, events ...jobs.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("PutAttempt"); err != nil {
		return err
	}
	j, ok := f.jobs[jobID]
	if !ok {
		return notFound(jobID)
	}
	f.stored(events...)
	for i, old := range j.Status.Attempts {
		if old.Index == a.Index && old.Attempt == a.Attempt {
			j.Status.Attempts[i] = a
			return nil
		}
	}
	j.Status.Attempts = append(j.Status.Attempts, a)
	slices.SortFunc(j.Status.Attempts, func(x, y jobs.Attempt) int {
		return cmp.Or(cmp.Compare(x.Index, y.Index), cmp.Compare(x.Attempt, y.Attempt))
	})
	return nil
}

func (f *fakeStore) DeleteLogs(_ context.Context, k jobs.AttemptKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteLogs"); err != nil {
		return err
	}
	delete(f.logs, k)
	return nil
}

func (f *fakeStore) AppendLog(_ context.Context, k jobs.AttemptKey, seq int, stream jobs.Stream, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("AppendLog"); err != nil {
		return err
	}
	f.logs[k] = append(f.logs[k], fakeChunk{seq: seq, stream: stream, data: slices.Clone(data)})
	return nil
}

// ReadLogs passes chunks in (index, attempt, seq) order. A failWith entry for
// "ReadLogs" is returned after the first chunk was passed on, to test
// failures in the middle of a stream; for "ReadLogs:start" before any.
func (f *fakeStore) ReadLogs(ctx context.Context, q jobs.LogQuery, fn func(jobs.LogChunk) error) error {
	f.mu.Lock()
	if err := f.enter("ReadLogs:start"); err != nil {
		f.mu.Unlock()
		return err
	}
	midErr := f.failWith["ReadLogs"]
	var keys []jobs.AttemptKey
	for k := range f.logs {
		if k.JobID == q.JobID && (q.Index == nil || *q.Index == k.Index) && (q.Attempt == nil || *q.Attempt == k.Attempt) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y jobs.AttemptKey) int {
		return cmp.Or(cmp.Compare(x.Index, y.Index), cmp.Compare(x.Attempt, y.Attempt))
	})
	both := q.Stdout == q.Stderr
	var out []jobs.LogChunk
	for _, k := range keys {
		chunks := slices.Clone(f.logs[k])
		slices.SortFunc(chunks, func(x, y fakeChunk) int { return cmp.Compare(x.seq, y.seq) })
		for _, c := range chunks {
			if both || (c.stream == jobs.Stdout && q.Stdout) || (c.stream == jobs.Stderr && q.Stderr) {
				out = append(out, jobs.LogChunk{Index: k.Index, Attempt: k.Attempt, Stream: c.stream, Data: slices.Clone(c.data)})
			}
		}
	}
	f.mu.Unlock()

	for i, c := range out {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i == 1 && midErr != nil {
			return midErr
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enter("Ping")
}

func (f *fakeStore) Close() error { return nil }

// put stores j as it is, for test setup.
func (f *fakeStore) put(j *jobs.Job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.jobs[j.ID]; !ok {
		f.order = append(f.order, j.ID)
	}
	f.jobs[j.ID] = cloneJob(j)
}

// get returns the stored job, also one being deleted, or nil.
func (f *fakeStore) get(id string) *jobs.Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	if j, ok := f.jobs[id]; ok {
		return cloneJob(j)
	}
	return nil
}

// setPhase moves a stored job to phase, as the controller would.
func (f *fakeStore) setPhase(id string, p jobs.Phase) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[id].Status.Phase = p
}

// fakeEnqueuer records the IDs it was asked to enqueue.
type fakeEnqueuer struct {
	mu  sync.Mutex
	ids []string
}

func (e *fakeEnqueuer) Enqueue(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ids = append(e.ids, id)
}

func (e *fakeEnqueuer) enqueued() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.ids)
}

// fakeTokens is an in-memory auth.TokenStore.
type fakeTokens struct {
	mu     sync.Mutex
	tokens map[string]auth.Token
	order  []string
}

var _ auth.TokenStore = (*fakeTokens)(nil)

func newFakeTokens() *fakeTokens { return &fakeTokens{tokens: make(map[string]auth.Token)} }

func (f *fakeTokens) CreateToken(_ context.Context, t auth.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tokens[t.ID]; ok {
		return jobs.Errorf(jobs.ECONFLICT, "token %q exists", t.ID)
	}
	t.Scopes = slices.Clone(t.Scopes)
	f.tokens[t.ID] = t
	f.order = append(f.order, t.ID)
	return nil
}

func (f *fakeTokens) GetToken(_ context.Context, id string) (auth.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tokens[id]
	if !ok {
		return auth.Token{}, jobs.Errorf(jobs.ENOTFOUND, "token %q not found", id)
	}
	t.Scopes = slices.Clone(t.Scopes)
	return t, nil
}

func (f *fakeTokens) ListTokens(context.Context) ([]auth.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []auth.Token
	for _, id := range f.order {
		if t, ok := f.tokens[id]; ok {
			out = append(out, t)
		}
	}
	return out, nil
}

func (f *fakeTokens) DeleteToken(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tokens[id]; !ok {
		return jobs.Errorf(jobs.ENOTFOUND, "token %q not found", id)
	}
	delete(f.tokens, id)
	return nil
}
