package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

func TestGetJob(t *testing.T) {
	started := testNow.Add(time.Second)
	finished := testNow.Add(3 * time.Second)
	e := newTestEnv(t)
	e.store.put(&jobs.Job{
		ID:        "done",
		Name:      "n",
		CreatedAt: testNow,
		Spec: jobs.Spec{Image: "busybox", Completions: 1, Parallelism: 1, CompletionMode: jobs.NonIndexed, BackoffLimit: 1,
			Backoff: jobs.Backoff{Initial: time.Second, Max: time.Minute, Multiplier: 2}},
		Status: jobs.Status{
			Phase: jobs.PhaseFailed, Reason: jobs.ReasonBackoffLimitExceeded, Message: "exit 3",
			StartedAt: &started, FinishedAt: &finished, Failed: 2,
			Conditions: []jobs.Condition{
				{Type: "Suspended", Status: false, Reason: "Resumed", Time: started},
				{Type: "Failed", Status: true, Reason: jobs.ReasonBackoffLimitExceeded, Message: "exit 3", Time: finished},
			},
			Attempts: []jobs.Attempt{
				{Index: 0, Attempt: 0, Service: "sj-done-0-0", ServiceID: "svc0", Task: "t0", Node: "n1", State: jobs.AttemptFailed,
					ExitCode: ptr(3), Error: "task: non-zero exit (3)", Reason: jobs.AttemptReasonFailed, StartedAt: &started, FinishedAt: &finished, LogBytes: 10, Removed: true},
				{Index: 0, Attempt: 1, Service: "sj-done-0-1", State: jobs.AttemptFailed, ExitCode: ptr(3), Reason: jobs.AttemptReasonFailed, LogBytes: 1 << 20, Truncated: true},
			},
		},
	})
	e.store.put(&jobs.Job{ID: "gone", Spec: jobs.Spec{Image: "busybox"}, DeleteRequested: true})

	tests := []struct {
		name       string
		path       string
		wantStatus int
		want       types.Job
		wantMsg    string
	}{
		{
			name: "found", path: "/v1/jobs/done", wantStatus: 200,
			want: types.Job{
				ID: "done", Name: "n", CreatedAt: testNow,
				Spec: types.JobSpec{Image: "busybox", Completions: ptr(1), Parallelism: ptr(1), CompletionMode: "NonIndexed", BackoffLimit: ptr(1),
					Backoff: &types.Backoff{InitialMs: ptr[int64](1000), MaxMs: ptr[int64](60000), Multiplier: ptr(2.0), Jitter: ptr(0.0)},
					Suspend: ptr(false)},
				Status: types.JobStatus{
					Phase: "Failed", Reason: "BackoffLimitExceeded", Message: "exit 3",
					StartedAt: &started, FinishedAt: &finished, Failed: 2,
					Conditions: []types.Condition{
						{Type: "Suspended", Status: "False", Reason: "Resumed", LastTransitionTime: started},
						{Type: "Failed", Status: "True", Reason: "BackoffLimitExceeded", Message: "exit 3", LastTransitionTime: finished},
					},
					Attempts: []types.Attempt{
						{Index: 0, Attempt: 0, Service: "sj-done-0-0", Task: "t0", Node: "n1", State: "failed",
							ExitCode: ptr(3), Error: "task: non-zero exit (3)", Reason: "Failed", StartedAt: &started, FinishedAt: &finished, LogBytes: 10},
						{Index: 0, Attempt: 1, Service: "sj-done-0-1", State: "failed", ExitCode: ptr(3), Reason: "Failed", LogBytes: 1 << 20, Truncated: true},
					},
				},
			},
		},
		{name: "unknown", path: "/v1/jobs/nope", wantStatus: 404, wantMsg: `job "nope" not found`},
		{name: "being deleted", path: "/v1/jobs/gone", wantStatus: 404, wantMsg: `job "gone" not found`},
		{name: "escaped ID", path: "/v1/jobs/a%2Fb", wantStatus: 404, wantMsg: `job "a/b" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(http.MethodGet, tt.path, "")
			if tt.wantStatus != http.StatusOK {
				wantError(t, rec, tt.wantStatus, types.CodeNotFound, tt.wantMsg)
				return
			}
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			if diff := cmp.Diff(tt.want, decodeBody[types.Job](t, rec)); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListJobs(t *testing.T) {
	e := newTestEnv(t)
	for i, j := range []*jobs.Job{
		{ID: "a", Name: "nightly-a", Labels: map[string]string{"team": "x", "env": "prod"}, Status: jobs.Status{Phase: jobs.PhaseRunning}},
		{ID: "b", Name: "nightly-b", Labels: map[string]string{"team": "x"}, Status: jobs.Status{Phase: jobs.PhaseSucceeded}},
		{ID: "c", Name: "nightly", Labels: map[string]string{"team": "y"}, Status: jobs.Status{Phase: jobs.PhasePending}},
		{ID: "d", Status: jobs.Status{Phase: jobs.PhaseRunning}, DeleteRequested: true},
	} {
		j.CreatedAt = testNow.Add(time.Duration(i) * time.Second)
		j.Spec = jobs.Spec{Image: "busybox"}
		e.store.put(j)
	}

	tests := []struct {
		name       string
		query      string
		wantIDs    []string
		wantCursor string
		wantStatus int
		wantMsg    []string
	}{
		{name: "all, newest first", query: "", wantIDs: []string{"c", "b", "a"}},
		{name: "empty parameters are absent", query: "?phase=&label=&limit=&cursor=", wantIDs: []string{"c", "b", "a"}},
		{name: "phase", query: "?phase=Running", wantIDs: []string{"a"}},
		{name: "phase without jobs", query: "?phase=Failed", wantIDs: []string{}},
		{name: "one label", query: "?label=team=x", wantIDs: []string{"b", "a"}},
		{name: "all labels must match", query: "?label=team=x&label=env=prod", wantIDs: []string{"a"}},
		{name: "label value with =", query: "?label=team=x%3Dy", wantIDs: []string{}},
		{name: "label and phase", query: "?label=team=x&phase=Succeeded", wantIDs: []string{"b"}},
		{name: "first page", query: "?limit=2", wantIDs: []string{"c", "b"}, wantCursor: "2"},
		{name: "next page", query: "?limit=2&cursor=2", wantIDs: []string{"a"}},
		{name: "largest limit", query: "?limit=500", wantIDs: []string{"c", "b", "a"}},
		{name: "unknown phase", query: "?phase=Done", wantStatus: 400, wantMsg: []string{"phase: must be one of Pending, Running, Succeeded, Failed, Cancelled, Suspended", `"Done"`}},
		{name: "phase in lower case", query: "?phase=running", wantStatus: 400, wantMsg: []string{"phase:"}},
		{name: "limit zero", query: "?limit=0", wantStatus: 400, wantMsg: []string{"limit: must be an integer between 1 and 500", `"0"`}},
		{name: "limit too large", query: "?limit=501", wantStatus: 400, wantMsg: []string{"limit:", `"501"`}},
		{name: "limit not a number", query: "?limit=ten", wantStatus: 400, wantMsg: []string{"limit:", `"ten"`}},
		{name: "label present", query: "?label=env", wantIDs: []string{"a"}},
		{name: "label absent", query: "?label=!env", wantIDs: []string{"c", "b"}},
		{name: "label not equal, or absent", query: "?label=team!=x", wantIDs: []string{"c"}},
		{name: "selector with commas", query: "?label=team=x,env!=prod", wantIDs: []string{"b"}},
		{name: "selector and repeated label", query: "?label=team=x,env!=prod&label=!other", wantIDs: []string{"b"}},
		{name: "name prefix", query: "?namePrefix=nightly-", wantIDs: []string{"b", "a"}},
		{name: "created after, inclusive", query: "?createdAfter=2026-01-02T03:04:06Z", wantIDs: []string{"c", "b"}},
		{name: "created before, exclusive", query: "?createdBefore=2026-01-02T03:04:06Z", wantIDs: []string{"a"}},
		{name: "created range in another zone", query: "?createdAfter=2026-01-02T04:04:06%2B01:00&createdBefore=2026-01-02T03:04:07Z", wantIDs: []string{"b"}},
		{name: "oldest first", query: "?order=asc", wantIDs: []string{"a", "b", "c"}},
		{name: "newest first, explicitly", query: "?order=desc", wantIDs: []string{"c", "b", "a"}},
		{name: "oldest first, first page", query: "?order=asc&limit=2", wantIDs: []string{"a", "b"}, wantCursor: "2"},
		{name: "label without key", query: "?label==x", wantStatus: 400, wantMsg: []string{`label: requirement "=x": key is empty`}},
		{name: "label with a bad key", query: "?label=te%20am=x", wantStatus: 400, wantMsg: []string{`label: requirement "te am=x": key "te am" must be`}},
		{name: "label with an empty requirement", query: "?label=team=x,", wantStatus: 400, wantMsg: []string{"label: empty requirement"}},
		{name: "label with two values", query: "?label=team=x&label=team=y", wantStatus: 400, wantMsg: []string{"label: key \"team\""}},
		{name: "name prefix too long", query: "?namePrefix=" + strings.Repeat("n", 129), wantStatus: 400, wantMsg: []string{"namePrefix: must be at most 128 characters"}},
		{name: "id prefix not of an ID", query: "?idPrefix=XY", wantStatus: 400, wantMsg: []string{"idPrefix: must be 1 to 36 of the characters of job IDs"}},
		{name: "id prefix too long", query: "?idPrefix=" + strings.Repeat("a", 37), wantStatus: 400, wantMsg: []string{"idPrefix:"}},
		{name: "created after not a time", query: "?createdAfter=yesterday", wantStatus: 400, wantMsg: []string{"createdAfter: must be an RFC 3339 time", `"yesterday"`}},
		{name: "created before without zone", query: "?createdBefore=2026-01-02T03:04:05", wantStatus: 400, wantMsg: []string{"createdBefore: must be an RFC 3339 time"}},
		{name: "unknown order", query: "?order=newest", wantStatus: 400, wantMsg: []string{`order: must be asc or desc, got "newest"`}},
		{name: "bad cursor", query: "?cursor=zzz", wantStatus: 400, wantMsg: []string{"cursor:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(http.MethodGet, "/v1/jobs"+tt.query, "")
			if tt.wantStatus != 0 {
				wantError(t, rec, tt.wantStatus, types.CodeInvalid, tt.wantMsg...)
				return
			}
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), `"items":[`) {
				t.Errorf("body %s lacks an items array", rec.Body)
			}
			list := decodeBody[types.JobList](t, rec)
			ids := []string{}
			for _, j := range list.Items {
				ids = append(ids, j.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
			if list.NextCursor != tt.wantCursor {
				t.Errorf("nextCursor = %q, want %q", list.NextCursor, tt.wantCursor)
			}
		})
	}
}

func TestCancelJob(t *testing.T) {
	tests := []struct {
		name       string
		phase      jobs.Phase
		id         string
		wantStatus int
		wantPhase  string
	}{
		{name: "running job", phase: jobs.PhaseRunning, id: "j", wantStatus: 202, wantPhase: "Running"},
		{name: "terminal job is left as it is", phase: jobs.PhaseSucceeded, id: "j", wantStatus: 202, wantPhase: "Succeeded"},
		{name: "unknown job", phase: jobs.PhaseRunning, id: "other", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.store.put(&jobs.Job{ID: "j", Spec: jobs.Spec{Image: "busybox"}, Status: jobs.Status{Phase: tt.phase}})
			woken := e.hub.Changed(tt.id)

			rec := e.do(http.MethodPost, "/v1/jobs/"+tt.id+"/cancel", "")
			if tt.wantStatus == http.StatusNotFound {
				wantError(t, rec, 404, types.CodeNotFound, `job "other" not found`)
				if got := e.enq.enqueued(); len(got) != 0 {
					t.Errorf("enqueued %v for an unknown job", got)
				}
				return
			}
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			job := decodeBody[types.Job](t, rec)
			if job.ID != "j" || job.Status.Phase != tt.wantPhase {
				t.Errorf("job = %s in %s, want j in %s", job.ID, job.Status.Phase, tt.wantPhase)
			}
			stored := e.store.get("j")
			if !stored.CancelRequested || stored.DeleteRequested {
				t.Errorf("stored cancel=%v delete=%v, want true false", stored.CancelRequested, stored.DeleteRequested)
			}
			if diff := cmp.Diff([]string{"j"}, e.enq.enqueued()); diff != "" {
				t.Errorf("enqueued (-want +got):\n%s", diff)
			}
			select {
			case <-woken:
			default:
				t.Error("waiters of the job were not woken")
			}
		})
	}
}

func TestDeleteJob(t *testing.T) {
	e := newTestEnv(t)
	e.store.put(&jobs.Job{ID: "j", Spec: jobs.Spec{Image: "busybox"}, Status: jobs.Status{Phase: jobs.PhaseRunning}})
	woken := e.hub.Changed("j")

	rec := e.do(http.MethodDelete, "/v1/jobs/j", "")
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("status = %d with body %q, want 204 without body", rec.Code, rec.Body)
	}
	stored := e.store.get("j")
	if stored == nil || !stored.CancelRequested || !stored.DeleteRequested {
		t.Fatalf("stored job = %+v, want it kept with cancel and delete requested", stored)
	}
	if diff := cmp.Diff([]string{"j"}, e.enq.enqueued()); diff != "" {
		t.Errorf("enqueued (-want +got):\n%s", diff)
	}
	select {
	case <-woken:
	default:
		t.Error("waiters of the job were not woken")
	}

	// Readers see the job gone at once, and so does a second delete.
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/v1/jobs/j"},
		{http.MethodDelete, "/v1/jobs/j"},
		{http.MethodPost, "/v1/jobs/j/cancel"},
		{http.MethodDelete, "/v1/jobs/unknown"},
	} {
		t.Run(req.method+" "+req.path, func(t *testing.T) {
			wantError(t, e.do(req.method, req.path, ""), http.StatusNotFound, types.CodeNotFound, "not found")
		})
	}
}
