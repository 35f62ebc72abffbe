package api

import (
	"bytes"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/policy"
	"github.com/swarmjob/swarmjob/sqlite"
)

// childEnv is a test server over a real store, with child jobs allowed.
func childEnv(t *testing.T) (*testEnv, *sqlite.DB, *auth.ChildTokens) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "swarmjob.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ct := auth.NewChildTokens(bytes.Repeat([]byte{1}, 32))
	e := newTestEnv(t, func(c *Config) {
		c.Store, c.ChildJobs, c.ChildTokens = db, true, ct
	})
	return e, db, ct
}

func TestChildJobToken(t *testing.T) {
	e, db, ct := childEnv(t)
	owner := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	parent := decodeBody[types.Job](t, e.as(owner, "POST", "/v1/jobs", `{"image":"busybox","childJobs":{"maxChildren":2}}`))
	if c := parent.Spec.ChildJobs; c == nil || c.MaxChildren != 2 || c.MaxDepth != 1 {
		t.Fatalf("childJobs = %+v, want maxChildren 2 and the default maxDepth 1", c)
	}
	other := decodeBody[types.Job](t, e.as(owner, "POST", "/v1/jobs", `{"image":"busybox"}`))
	tok := ct.Token(parent.ID)

	// Two children; the third is over maxChildren.
	var kids []types.Job
	for range 2 {
		rec := e.as(tok, "POST", "/v1/jobs", `{"image":"busybox"}`)
		if rec.Code != http.StatusCreated {
			t.Fatalf("child: %d %s", rec.Code, rec.Body)
		}
		kid := decodeBody[types.Job](t, rec)
		if kid.ParentID != parent.ID || kid.Depth != 1 || kid.Tenant != "a" {
			t.Errorf("child: parent %q depth %d tenant %q", kid.ParentID, kid.Depth, kid.Tenant)
		}
		kids = append(kids, kid)
	}
	rec := e.as(tok, "POST", "/v1/jobs", `{"image":"busybox"}`)
	wantError(t, rec, http.StatusForbidden, types.CodePolicyViolation, "childJobs.maxChildren")
	// A grandchild is beyond maxDepth 1.
	rec = e.as(tok, "POST", "/v1/jobs", `{"image":"busybox","childJobs":{"maxChildren":1}}`)
	wantError(t, rec, http.StatusForbidden, types.CodePolicyViolation, "may not create children")

	// The token sees its children and nothing else.
	for _, id := range []string{parent.ID, other.ID} {
		for _, path := range []string{"/v1/jobs/" + id, "/v1/jobs/" + id + "/results", "/v1/jobs/" + id + "/logs"} {
			if rec := e.as(tok, "GET", path, ""); rec.Code != http.StatusNotFound {
				t.Errorf("GET %s with the child token: %d, want 404", path, rec.Code)
			}
		}
		if rec := e.as(tok, "POST", "/v1/jobs/"+id+"/cancel", ""); rec.Code != http.StatusNotFound {
			t.Errorf("cancel %s with the child token: %d, want 404", id, rec.Code)
		}
	}
	list := decodeBody[types.JobList](t, e.as(tok, "GET", "/v1/jobs?parent="+other.ID, ""))
	if got := len(list.Items); got != 2 || list.Items[0].ParentID != parent.ID {
		t.Errorf("list with the child token: %d jobs, want its 2 children whatever ?parent says", got)
	}
	if rec := e.as(tok, "GET", "/v1/jobs/"+kids[0].ID, ""); rec.Code != http.StatusOK {
		t.Errorf("GET child: %d", rec.Code)
	}
	// Only create, read and cancel.
	for _, r := range []struct{ method, path, body string }{
		{"DELETE", "/v1/jobs/" + kids[0].ID, ""},
		{"PATCH", "/v1/jobs/" + kids[0].ID, `{"parallelism":2}`},
		{"POST", "/v1/jobs/" + kids[0].ID + "/suspend", ""},
		{"GET", "/v1/events", ""},
		{"GET", "/v1/tokens", ""},
	} {
		if rec := e.as(tok, r.method, r.path, r.body); rec.Code != http.StatusForbidden {
			t.Errorf("%s %s with the child token: %d, want 403", r.method, r.path, rec.Code)
		}
	}
	if rec := e.as(tok, "POST", "/v1/jobs/"+kids[0].ID+"/cancel", ""); rec.Code != http.StatusAccepted {
		t.Errorf("cancel child: %d %s", rec.Code, rec.Body)
	}
	// The owner lists the children with ?parent.
	list = decodeBody[types.JobList](t, e.as(owner, "GET", "/v1/jobs?parent="+parent.ID, ""))
	if len(list.Items) != 2 {
		t.Errorf("owner's list of children: %d jobs, want 2", len(list.Items))
	}

	// Cancelling the parent cancels the children and kills the token.
	before := len(e.enq.enqueued())
	if rec := e.as(owner, "POST", "/v1/jobs/"+parent.ID+"/cancel", ""); rec.Code != http.StatusAccepted {
		t.Fatalf("cancel parent: %d", rec.Code)
	}
	for _, k := range kids {
		j, err := db.GetJob(t.Context(), k.ID)
		if err != nil || !j.CancelRequested {
			t.Errorf("child %s not cancelled with its parent: %v", k.ID, err)
		}
		if !slices.Contains(e.enq.enqueued()[before:], k.ID) {
			t.Errorf("child %s: the controller was not woken", k.ID)
		}
	}
	rec = e.as(tok, "GET", "/v1/jobs/"+kids[0].ID, "")
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "token expired") {
		t.Errorf("child token after its job was cancelled: %d %s", rec.Code, rec.Body)
	}
}

func TestChildJobsNeedTheJobNetwork(t *testing.T) {
	e := newTestEnv(t)
	rec := e.do("POST", "/v1/jobs", `{"image":"busybox","childJobs":{"maxChildren":2}}`, "Content-Type", "application/json")
	wantError(t, rec, http.StatusBadRequest, types.CodeInvalid, "--job-network")
}

// A child token's idempotency keys are its own: the same key of the
// tenant's token names another job.
func TestChildIdempotencyKeysAreScoped(t *testing.T) {
	e, _, ct := childEnv(t)
	owner := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	parent := decodeBody[types.Job](t, e.as(owner, "POST", "/v1/jobs", `{"image":"busybox","childJobs":{"maxChildren":3}}`))
	post := func(tok string) types.Job {
		t.Helper()
		rec := e.do("POST", "/v1/jobs", `{"image":"busybox"}`, "Authorization", "Bearer "+tok,
			"Content-Type", "application/json", types.HeaderIdempotencyKey, "k1")
		if rec.Code != http.StatusCreated && rec.Code != http.StatusOK {
			t.Fatalf("submit: %d %s", rec.Code, rec.Body)
		}
		return decodeBody[types.Job](t, rec)
	}
	mine := post(owner)
	kid := post(ct.Token(parent.ID))
	again := post(ct.Token(parent.ID))
	if kid.ID == mine.ID || kid.ParentID != parent.ID {
		t.Errorf("the child token's key returned the tenant's job")
	}
	if again.ID != kid.ID {
		t.Errorf("the child token's key did not replay its own job")
	}
	list := decodeBody[types.JobList](t, e.as(owner, "GET", "/v1/jobs?parent="+parent.ID, ""))
	if n := len(list.Items); n != 1 {
		t.Errorf("children: %d, want 1 (a replay creates nothing)", n)
	}
}

// A parent submitted before the server lost its job network, or before the
// policy forbade child jobs, starts no more children.
func TestChildCreationFollowsTheServerAndPolicyOfNow(t *testing.T) {
	e, db, ct := childEnv(t)
	owner := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	parent := decodeBody[types.Job](t, e.as(owner, "POST", "/v1/jobs", `{"image":"busybox","childJobs":{"maxChildren":5}}`))
	tok := ct.Token(parent.ID)

	noNetwork := newTestEnv(t, func(c *Config) { c.Store, c.ChildTokens = db, ct })
	rec := noNetwork.as(tok, "POST", "/v1/jobs", `{"image":"busybox"}`)
	wantError(t, rec, http.StatusForbidden, types.CodeForbidden, "--job-network")

	none, err := policy.New(policy.File{Defaults: policy.Rules{MaxChildren: ptrTo(0)}})
	if err != nil {
		t.Fatal(err)
	}
	forbidden := newTestEnv(t, func(c *Config) { c.Store, c.ChildJobs, c.ChildTokens, c.Policy = db, true, ct, policy.Fixed(none) })
	rec = forbidden.as(tok, "POST", "/v1/jobs", `{"image":"busybox"}`)
	wantError(t, rec, http.StatusForbidden, types.CodePolicyViolation, "maxChildren")

	// Reading and cancelling what it made stays allowed: nothing was made.
	if rec := noNetwork.as(tok, "GET", "/v1/jobs", ""); rec.Code != http.StatusOK {
		t.Errorf("list with the child token on a server without a job network: %d", rec.Code)
	}
}
