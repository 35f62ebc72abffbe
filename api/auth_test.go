package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/policy"
)

// token stores a token of tenant with scopes in e's token store and returns
// it.
func (e *testEnv) token(tenant string, scopes ...auth.Scope) string {
	e.t.Helper()
	id, tok, err := auth.Generate()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.tokens.CreateToken(e.t.Context(), auth.Token{ID: id, Tenant: tenant, Scopes: scopes, Hash: auth.Hash(tok), CreatedAt: testNow}); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// as serves one request with tok, and a JSON Content-Type when it has a
// body.
func (e *testEnv) as(tok, method, target, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	hdr := bearer(tok)
	if body != "" {
		hdr = append(hdr, "Content-Type", "application/json")
	}
	return e.do(method, target, body, hdr...)
}

func TestAuthenticationRequired(t *testing.T) {
	e := newTestEnv(t)
	e.store.put(&jobs.Job{ID: "j", Tenant: "a", Spec: jobs.Spec{Image: "busybox"}, Status: jobs.Status{Phase: jobs.PhasePending}})
	tests := []struct {
		name   string
		auth   string
		method string
		path   string
		msg    string
		// invalid: the answer says the token sent was refused.
		invalid bool
	}{
		{"no token", "", "GET", "/v1/jobs", "missing bearer token", false},
		{"no token, job route", "", "GET", "/v1/jobs/j", "missing bearer token", false},
		{"no token, unknown route", "", "GET", "/v2/secret", "missing bearer token", false},
		{"no token, wrong method", "", "PUT", "/v1/jobs", "missing bearer token", false},
		{"no token, submit", "", "POST", "/v1/jobs", "missing bearer token", false},
		{"no token, events", "", "GET", "/v1/events", "missing bearer token", false},
		{"no token, tokens", "", "GET", "/v1/tokens", "missing bearer token", false},
		{"probe with a trailing slash", "", "GET", "/healthz/", "missing bearer token", false},
		{"probe through a dot-dot", "", "GET", "/v1/../readyz", "missing bearer token", false},
		{"unknown token", "Bearer sjt_00000000000000ff_" + strings.Repeat("A", 43), "GET", "/v1/jobs", "invalid token", true},
		{"made-up token", "Bearer letmein", "GET", "/v1/jobs", "invalid token", true},
		{"admin token, one letter off", "Bearer " + testAdminToken[:len(testAdminToken)-1] + "X", "GET", "/v1/jobs", "invalid token", true},
		{"basic auth", "Basic YWRtaW46YWRtaW4=", "GET", "/v1/jobs", "Bearer scheme", true},
		{"empty bearer", "Bearer ", "GET", "/v1/jobs", "malformed", true},
		{"token with a space", "Bearer a b", "GET", "/v1/jobs", "malformed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(tt.method, tt.path, "", "Authorization", tt.auth)
			wantError(t, rec, http.StatusUnauthorized, types.CodeUnauthorized, tt.msg)
			want := `Bearer realm="swarmjob"`
			if tt.invalid {
				want += `, error="invalid_token"`
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
		})
	}
	if calls := e.store.calls; len(calls) > 0 {
		t.Errorf("unauthenticated requests reached the store: %v", calls)
	}

	// Two Authorization headers are refused, whatever they hold.
	req := httptest.NewRequest(http.MethodGet, "/v1/jobs", nil)
	req.Header.Add("Authorization", "Bearer "+testAdminToken)
	req.Header.Add("Authorization", "Bearer "+testAdminToken)
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	wantError(t, rec, http.StatusUnauthorized, types.CodeUnauthorized, "must be given once")
}

func TestAnonymousProbes(t *testing.T) {
	e := newTestEnv(t)
	for _, p := range []string{"/healthz", "/readyz", "/v1/openapi.json"} {
		for _, m := range []string{http.MethodGet, http.MethodHead} {
			if rec := e.do(m, p, "", "Authorization", ""); rec.Code != http.StatusOK {
				t.Errorf("%s %s without a token: %d %s", m, p, rec.Code, rec.Body)
			}
		}
	}
	// A bad token does not break a probe either.
	if rec := e.do(http.MethodGet, "/healthz", "", "Authorization", "Bearer nope"); rec.Code != http.StatusOK {
		t.Errorf("probe with a bad token: %d", rec.Code)
	}
}

func TestScopes(t *testing.T) {
	e := newTestEnv(t)
	reader := e.token("a", auth.ScopeJobsRead)
	writer := e.token("a", auth.ScopeJobsWrite)
	both := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)

	job := decodeBody[types.Job](t, e.as(both, "POST", "/v1/jobs", `{"image":"busybox"}`))
	if job.Tenant != "a" {
		t.Errorf("tenant = %q, want a", job.Tenant)
	}
	id := job.ID
	tests := []struct {
		tok, method, path, body string
		status                  int
	}{
		{reader, "POST", "/v1/jobs", `{"image":"busybox"}`, 403},
		{reader, "POST", "/v1/jobs/" + id + "/cancel", "", 403},
		{reader, "POST", "/v1/jobs/" + id + "/suspend", "", 403},
		{reader, "POST", "/v1/jobs/" + id + "/resume", "", 403},
		{reader, "PATCH", "/v1/jobs/" + id, `{"parallelism":2}`, 403},
		{reader, "DELETE", "/v1/jobs/" + id, "", 403},
		{reader, "POST", "/v1/tokens", `{"tenant":"a","scopes":["admin"]}`, 403},
		{reader, "GET", "/v1/tokens", "", 403},
		{reader, "GET", "/v1/jobs", "", 200},
		{reader, "GET", "/v1/jobs/" + id, "", 200},
		{reader, "GET", "/v1/jobs/" + id + "/results", "", 200},
		{reader, "GET", "/v1/jobs/" + id + "/logs", "", 200},
		{reader, "GET", "/v1/jobs/" + id + "/wait?timeout=0s", "", 200},
		{writer, "GET", "/v1/jobs", "", 403},
		{writer, "GET", "/v1/jobs/" + id, "", 403},
		{writer, "GET", "/v1/jobs/" + id + "/logs", "", 403},
		{writer, "GET", "/v1/events", "", 403},
		{writer, "DELETE", "/v1/tokens/0123456789abcdef", "", 403},
		{writer, "PATCH", "/v1/jobs/" + id, `{"parallelism":2}`, 200},
		{writer, "POST", "/v1/jobs/" + id + "/cancel", "", 202},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := e.as(tt.tok, tt.method, tt.path, tt.body)
			if tt.status == 403 {
				wantError(t, rec, 403, types.CodeForbidden, "lacks the scope")
				return
			}
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
		})
	}
	if n := len(e.store.jobs); n != 1 {
		t.Errorf("%d jobs stored, want the one submitted with jobs:write", n)
	}
}

// Tenant B never learns anything about tenant A's jobs: every route that
// names one answers exactly as for a job that does not exist, and changes
// nothing.
func TestTenantIsolation(t *testing.T) {
	e := newTestEnv(t)
	a := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	b := e.token("b", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	jobA := decodeBody[types.Job](t, e.as(a, "POST", "/v1/jobs", `{"name":"secret","image":"busybox","labels":{"team":"a"}}`))
	jobB := decodeBody[types.Job](t, e.as(b, "POST", "/v1/jobs", `{"image":"busybox"}`))
	putAttempts(e, jobA.ID)

	routes := []struct{ method, path, body string }{
		{"GET", "/v1/jobs/%s", ""},
		{"HEAD", "/v1/jobs/%s", ""},
		{"PATCH", "/v1/jobs/%s", `{"parallelism":3}`},
		{"DELETE", "/v1/jobs/%s", ""},
		{"GET", "/v1/jobs/%s/logs", ""},
		{"GET", "/v1/jobs/%s/logs?follow=true", ""},
		{"GET", "/v1/jobs/%s/logs?index=0&attempt=0&tail=1", ""},
		{"GET", "/v1/jobs/%s/results", ""},
		{"GET", "/v1/jobs/%s/wait?timeout=0s", ""},
		{"GET", "/v1/jobs/%s/wait?timeout=10m", ""},
		{"POST", "/v1/jobs/%s/cancel", ""},
		{"POST", "/v1/jobs/%s/suspend", ""},
		{"POST", "/v1/jobs/%s/resume", ""},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			got := e.as(b, rt.method, strings.Replace(rt.path, "%s", jobA.ID, 1), rt.body)
			// The answer for an ID that exists nowhere, to compare with.
			const ghost = "00000000-0000-4000-8000-000000000000"
			none := e.as(b, rt.method, strings.Replace(rt.path, "%s", ghost, 1), rt.body)
			if got.Code != http.StatusNotFound || none.Code != http.StatusNotFound {
				t.Fatalf("status %d (and %d for a missing job), want 404; body %s", got.Code, none.Code, got.Body)
			}
			if rt.method != "HEAD" {
				wantError(t, got, 404, types.CodeNotFound, "job \""+jobA.ID+"\" not found")
				if strings.ReplaceAll(got.Body.String(), jobA.ID, ghost) != none.Body.String() {
					t.Errorf("the answer differs from a missing job's:\n%s\n%s", got.Body, none.Body)
				}
			}
		})
	}

	// A's job is as it was.
	stored := e.store.get(jobA.ID)
	if stored.CancelRequested || stored.DeleteRequested || stored.Spec.Suspend || stored.Spec.Parallelism != 1 {
		t.Errorf("B changed A's job: %+v", stored)
	}
	// Lists: each tenant its own, whatever it asks for; the admin all.
	list := func(tok, query string) []string {
		t.Helper()
		rec := e.as(tok, "GET", "/v1/jobs"+query, "")
		if rec.Code != 200 {
			t.Fatalf("list: %d %s", rec.Code, rec.Body)
		}
		var ids []string
		for _, j := range decodeBody[types.JobList](t, rec).Items {
			ids = append(ids, j.ID)
		}
		slices.Sort(ids)
		return ids
	}
	both := []string{jobA.ID, jobB.ID}
	slices.Sort(both)
	for _, c := range []struct {
		tok, query string
		want       []string
	}{
		{b, "", []string{jobB.ID}},
		{b, "?tenant=b", []string{jobB.ID}},
		{b, "?label=team%3Da", nil},
		{b, "?namePrefix=secret", nil},
		{a, "", []string{jobA.ID}},
		{testAdminToken, "", both},
		{testAdminToken, "?tenant=a", []string{jobA.ID}},
	} {
		if diff := cmp.Diff(c.want, list(c.tok, c.query)); diff != "" {
			t.Errorf("list %s (-want +got):\n%s", c.query, diff)
		}
	}
	wantError(t, e.as(testAdminToken, "GET", "/v1/jobs?tenant=A/B", ""), 400, types.CodeInvalid, "tenant:")
	// Another tenant's list is refused, not silently replaced by its own.
	wantError(t, e.as(b, "GET", "/v1/jobs?tenant=a", ""), 403, types.CodeForbidden, "only admin tokens list other tenants' jobs")

	// The same idempotency key in two tenants makes two jobs.
	hdr := func(tok string) []string {
		return append(bearer(tok), "Content-Type", "application/json", types.HeaderIdempotencyKey, "k1")
	}
	ka := decodeBody[types.Job](t, e.do("POST", "/v1/jobs", `{"image":"busybox"}`, hdr(a)...))
	kb := e.do("POST", "/v1/jobs", `{"image":"busybox"}`, hdr(b)...)
	if kb.Code != http.StatusCreated {
		t.Fatalf("B's first use of A's key: %d %s", kb.Code, kb.Body)
	}
	if got := decodeBody[types.Job](t, kb); got.ID == ka.ID || got.Tenant != "b" {
		t.Errorf("B's key returned job %s of tenant %s", got.ID, got.Tenant)
	}
}

// putAttempts gives a job a finished attempt with output.
func putAttempts(e *testEnv, id string) {
	e.t.Helper()
	now := testNow
	code := 0
	if err := e.store.PutAttempt(e.t.Context(), id, jobs.Attempt{Index: 0, Attempt: 0, State: jobs.AttemptSucceeded, ExitCode: &code,
		CreatedAt: now, FinishedAt: &now, Service: "s"}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.AppendLog(e.t.Context(), jobs.AttemptKey{JobID: id}, 0, jobs.Stdout, []byte(now.Format(time.RFC3339Nano)+" a's secret output\n")); err != nil {
		e.t.Fatal(err)
	}
}

func TestEventsFilteredByTenant(t *testing.T) {
	ev := newEventsEnv(t)
	a := ev.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	b := ev.token("b", auth.ScopeJobsRead)
	sa := ev.open("?since=0", bearer(a)...)
	sb := ev.open("?since=0", bearer(b)...)
	sbJob := ev.open("?job=x&since=0", bearer(b)...)
	sadmin := ev.open("?since=0")

	created := decodeBody[types.Job](t, ev.as(a, "POST", "/v1/jobs", `{"image":"busybox"}`))
	// The controller records without a tenant; the store fills it in.
	ev.rec.Record(t.Context(), jobs.Event{Time: testNow, Type: jobs.EventPhaseChanged, JobID: created.ID, Tenant: "a", Phase: jobs.PhaseRunning})
	ev.rec.Record(t.Context(), jobs.Event{Time: testNow, Type: jobs.EventPhaseChanged, JobID: "unknown", Phase: jobs.PhaseRunning})

	for _, s := range []*stream{sa, sadmin} {
		if _, e := s.nextEvent(); e.JobID != created.ID || e.Tenant != "a" {
			t.Errorf("first event %+v, want job.created of A's job", e)
		}
		if _, e := s.nextEvent(); e.Type != types.EventPhaseChanged || e.JobID != created.ID {
			t.Errorf("second event %+v, want job.phase of A's job", e)
		}
	}
	// An event of no known tenant goes to admins only.
	if _, e := sadmin.nextEvent(); e.JobID != "unknown" {
		t.Errorf("admin's third event %+v", e)
	}
	// B's streams, all filtered, only move their position on: no event
	// crosses, also when B asks for A's job by ID.
	for _, s := range []*stream{sb, sbJob} {
		deadline := time.After(300 * time.Millisecond)
	loop:
		for {
			select {
			case f := <-s.frames:
				if f.Event != "" || f.Data != "" {
					t.Errorf("B got %+v", f)
				}
			case <-deadline:
				break loop
			}
		}
	}
}

func TestTokenRoutes(t *testing.T) {
	clock := testNow
	var mu sync.Mutex
	e := newTestEnv(t, func(c *Config) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	})
	rec := e.as(testAdminToken, "POST", "/v1/tokens", `{"name":"ci","tenant":"team-a","scopes":["jobs:read","jobs:write"],"expiresIn":"720h"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	created := decodeBody[types.CreatedToken](t, rec)
	exp := testNow.Add(720 * time.Hour)
	want := types.Token{ID: created.ID, Name: "ci", Tenant: "team-a", Scopes: []string{"jobs:read", "jobs:write"}, CreatedAt: testNow, ExpiresAt: &exp}
	if diff := cmp.Diff(want, created.Token); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if id, ok := auth.TokenID(created.Secret); !ok || id != created.ID {
		t.Fatalf("token %q does not carry its ID %q", created.Secret, created.ID)
	}
	if stored, _ := e.tokens.GetToken(t.Context(), created.ID); stored.Hash != auth.Hash(created.Secret) {
		t.Error("the store does not hold the token's hash")
	}
	if strings.Contains(e.logs.String(), created.Secret) {
		t.Error("the log holds the token")
	}

	// The new token works, for its tenant.
	job := decodeBody[types.Job](t, e.as(created.Secret, "POST", "/v1/jobs", `{"image":"busybox"}`))
	if job.Tenant != "team-a" {
		t.Errorf("job tenant = %q", job.Tenant)
	}
	// Listing shows no secret.
	rec = e.as(testAdminToken, "GET", "/v1/tokens", "")
	if strings.Contains(rec.Body.String(), created.Secret) || strings.Contains(rec.Body.String(), `"token"`) {
		t.Errorf("the list shows a secret: %s", rec.Body)
	}
	if diff := cmp.Diff(types.TokenList{Items: []types.Token{want}}, decodeBody[types.TokenList](t, rec)); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	// Expired: 401, and the list says so.
	mu.Lock()
	clock = exp
	mu.Unlock()
	wantError(t, e.as(created.Secret, "GET", "/v1/jobs", ""), 401, types.CodeUnauthorized, "token expired")
	if l := decodeBody[types.TokenList](t, e.as(testAdminToken, "GET", "/v1/tokens", "")); !l.Items[0].Expired {
		t.Error("the list does not mark the token expired")
	}

	// Deleted: 401 at once, and 404 for a second delete.
	other := decodeBody[types.CreatedToken](t, e.as(testAdminToken, "POST", "/v1/tokens", `{"tenant":"b","scopes":["jobs:read"]}`))
	if other.ExpiresAt != nil {
		t.Errorf("a token without expiresIn expires at %v", other.ExpiresAt)
	}
	if rec := e.as(other.Secret, "GET", "/v1/jobs", ""); rec.Code != 200 {
		t.Fatalf("new token: %d", rec.Code)
	}
	if rec := e.as(testAdminToken, "DELETE", "/v1/tokens/"+other.ID, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	wantError(t, e.as(other.Secret, "GET", "/v1/jobs", ""), 401, types.CodeUnauthorized, "invalid token")
	wantError(t, e.as(testAdminToken, "DELETE", "/v1/tokens/"+other.ID, ""), 404, types.CodeNotFound, "not found")
	wantError(t, e.as(testAdminToken, "DELETE", "/v1/tokens/..%2f..%2fetc", ""), 404, types.CodeNotFound, "not found")

	// A token with admin scope of another tenant manages tokens too.
	admin2 := decodeBody[types.CreatedToken](t, e.as(testAdminToken, "POST", "/v1/tokens", `{"tenant":"ops","scopes":["admin"]}`))
	if rec := e.as(admin2.Secret, "GET", "/v1/tokens", ""); rec.Code != 200 {
		t.Errorf("admin-scoped token lists tokens: %d", rec.Code)
	}

	for _, bad := range []struct{ body, msg string }{
		{`{"scopes":["jobs:read"]}`, "tenant:"},
		{`{"tenant":"Team A","scopes":["jobs:read"]}`, "tenant:"},
		{`{"tenant":"a_b","scopes":["jobs:read"]}`, "tenant:"},
		{`{"tenant":"a"}`, "scopes: at least one"},
		{`{"tenant":"a","scopes":[]}`, "scopes: at least one"},
		{`{"tenant":"a","scopes":["root"]}`, "scopes[0]: must be"},
		{`{"tenant":"a","scopes":["jobs:read","jobs:read"]}`, "scopes[1]: jobs:read is given twice"},
		{`{"tenant":"a","scopes":["jobs:read"],"expiresIn":"-1h"}`, "expiresIn:"},
		{`{"tenant":"a","scopes":["jobs:read"],"expiresIn":"forever"}`, "expiresIn:"},
		{`{"tenant":"a","scopes":["jobs:read"],"expiresIn":"0d"}`, "expiresIn:"},
		{`{"tenant":"a","scopes":["jobs:read"],"expiresIn":"1.5d"}`, "expiresIn:"},
		{`{"tenant":"a","scopes":["jobs:read"],"expiresIn":"100000h"}`, "expiresIn:"},
		{`{"tenant":"a","scopes":["jobs:read"],"name":"a b"}`, "name:"},
		{`{"tenant":"a","scopes":["jobs:read"],"hash":"x"}`, `unknown field "hash"`},
		{`{"tenant":"a","scopes":"jobs:read"}`, "scopes: must be an array"},
	} {
		wantError(t, e.as(testAdminToken, "POST", "/v1/tokens", bad.body), 400, types.CodeInvalid, bad.msg)
	}
}

func TestTokenRoutesWithoutStore(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Tokens = nil })
	wantError(t, e.as(testAdminToken, "GET", "/v1/tokens", ""), 503, types.CodeUnavailable, "keeps no tokens")
	wantError(t, e.as(testAdminToken, "POST", "/v1/tokens", `{"tenant":"a","scopes":["jobs:read"]}`), 503, types.CodeUnavailable)
}

func TestInsecureNoAuth(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Tokens, c.AdminToken, c.InsecureNoAuth = nil, "", true })
	rec := e.do("POST", "/v1/jobs", `{"image":"busybox"}`, "Authorization", "", "Content-Type", "application/json")
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if j := decodeBody[types.Job](t, rec); j.Tenant != auth.DefaultTenant {
		t.Errorf("tenant = %q", j.Tenant)
	}
}

func TestRateLimit(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.RateLimit, c.RateBurst = 1, 3 })
	a := e.token("a", auth.ScopeJobsRead)
	b := e.token("b", auth.ScopeJobsRead)
	for i := range 3 {
		if rec := e.as(a, "GET", "/v1/jobs", ""); rec.Code != 200 {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	rec := e.as(a, "GET", "/v1/jobs", "")
	wantError(t, rec, http.StatusTooManyRequests, types.CodeRateLimited, "too many requests")
	if ra := rec.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After = %q, want 1", ra)
	}
	// Another token has its own budget; probes have none.
	if rec := e.as(b, "GET", "/v1/jobs", ""); rec.Code != 200 {
		t.Errorf("token b: %d", rec.Code)
	}
	for range 10 {
		if rec := e.do("GET", "/healthz", "", "Authorization", ""); rec.Code != 200 {
			t.Fatalf("probe: %d", rec.Code)
		}
	}

	// Failed attempts from one address are limited too; a valid token
	// from the same address is not held back by them.
	var last *httptest.ResponseRecorder
	for range 5 {
		last = e.do("GET", "/v1/jobs", "", "Authorization", "Bearer guess")
	}
	wantError(t, last, http.StatusTooManyRequests, types.CodeRateLimited)
	c := e.token("c", auth.ScopeJobsRead)
	if rec := e.as(c, "GET", "/v1/jobs", ""); rec.Code != 200 {
		t.Errorf("a valid token from the address that failed: %d", rec.Code)
	}
}

func TestRetryAfterString(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", time.Minute: "60"} {
		if got := retryAfter(d).String(); got != want {
			t.Errorf("retryAfter(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestLimitersForgetIdleKeys(t *testing.T) {
	now := testNow
	l := newLimiters(10, 10, func() time.Time { return now })
	for i := range 100 {
		l.allow(strings.Repeat("k", i+1))
	}
	now = now.Add(2 * time.Minute)
	l.allow("fresh")
	if n := len(l.buckets); n != 1 {
		t.Errorf("%d buckets kept after the sweep, want 1", n)
	}
}

func TestStreamsCap(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxStreams = 1 })
	a := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	job := decodeBody[types.Job](t, e.as(a, "POST", "/v1/jobs", `{"image":"busybox"}`))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int)
	go func() {
		req := httptest.NewRequestWithContext(ctx, "GET", "/v1/jobs/"+job.ID+"/wait?timeout=1m", nil)
		req.Header.Set("Authorization", "Bearer "+a)
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		done <- rec.Code
	}()
	// Until the first wait holds the one slot.
	id, _ := auth.TokenID(a)
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.open.held("token:"+id) != 1 {
		select {
		case code := <-done:
			t.Fatalf("the first wait ended with %d", code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the first wait never took its slot")
		}
		time.Sleep(5 * time.Millisecond)
	}
	wantError(t, e.as(a, "GET", "/v1/jobs/"+job.ID+"/wait?timeout=0s", ""), 429, types.CodeRateLimited, "streams open")
	// Other tokens are not affected.
	if rec := e.as(testAdminToken, "GET", "/v1/jobs/"+job.ID+"/wait?timeout=0s", ""); rec.Code != 200 {
		t.Errorf("admin's wait: %d", rec.Code)
	}
	cancel()
	<-done
	if rec := e.as(a, "GET", "/v1/jobs/"+job.ID+"/wait?timeout=0s", ""); rec.Code != 200 {
		t.Errorf("wait after the first ended: %d", rec.Code)
	}
}

func TestPolicyAtSubmit(t *testing.T) {
	pol, err := policy.New(policy.File{
		Defaults: policy.Rules{MaxParallelism: ptr(2), AllowedBindPrefixes: []string{"/srv/shared"}},
		Tenants:  map[string]policy.Rules{"a": {AllowedImages: []string{"swarmjob/*"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, func(c *Config) { c.Policy = policy.Fixed(pol.DenyPaths("/custom/engine.sock")) })
	a := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	job := func(mounts string) string {
		return `{"image":"swarmjob/busybox:test","mounts":[` + mounts + `]}`
	}
	refused := []struct{ body, rule string }{
		{job(`{"type":"bind","source":"/var/run/docker.sock","target":"/var/run/docker.sock"}`), policy.RuleEngineSocket},
		{job(`{"type":"bind","source":"/run/docker.sock","target":"/s"}`), policy.RuleEngineSocket},
		{job(`{"type":"bind","source":"/var/run/docker.sock/","target":"/s"}`), policy.RuleEngineSocket},
		{job(`{"type":"bind","source":"/var//run/./docker.sock","target":"/s"}`), policy.RuleEngineSocket},
		{job(`{"type":"bind","source":"/srv/shared/../../var/run/docker.sock","target":"/s","readOnly":true}`), policy.RuleEngineSocket},
		{job(`{"type":"bind","source":"/var/run","target":"/s"}`), policy.RuleEngineSocket},
		{job(`{"type":"bind","source":"/","target":"/host"}`), policy.RuleEngineSocket},
		{job(`{"type":"bind","source":"/custom/engine.sock","target":"/s"}`), policy.RuleEngineSocket},
		{job(`{"type":"bind","source":"/etc","target":"/e"}`), policy.RuleBindPrefixes},
		{job(`{"type":"bind","source":"/srv/shared2","target":"/e"}`), policy.RuleBindPrefixes},
		{job(`{"type":"volume","source":"b_data","target":"/v"}`), policy.RuleVolumes},
		{`{"image":"busybox"}`, policy.RuleImages},
		{`{"image":"swarmjob/busybox:test","parallelism":3}`, policy.RuleMaxParallelism},
	}
	for _, tt := range refused {
		t.Run(tt.body, func(t *testing.T) {
			rec := e.as(a, "POST", "/v1/jobs", tt.body)
			wantError(t, rec, http.StatusForbidden, types.CodePolicyViolation, "policy rule "+tt.rule, `tenant "a"`)
		})
	}
	if n := len(e.store.jobs); n != 0 {
		t.Fatalf("%d refused jobs were stored", n)
	}

	rec := e.as(a, "POST", "/v1/jobs", job(`{"type":"bind","source":"/srv/shared/in","target":"/in","readOnly":true},{"type":"volume","source":"a_cache","target":"/cache"},{"type":"tmpfs","target":"/tmp"}`))
	if rec.Code != http.StatusCreated {
		t.Fatalf("allowed mounts: %d %s", rec.Code, rec.Body)
	}
	got := decodeBody[types.Job](t, rec)
	want := []types.Mount{
		{Type: "bind", Source: "/srv/shared/in", Target: "/in", ReadOnly: true},
		{Type: "volume", Source: "a_cache", Target: "/cache"},
		{Type: "tmpfs", Target: "/tmp"},
	}
	if diff := cmp.Diff(want, got.Spec.Mounts); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(e.store.get(got.ID).Spec.Mounts, []jobs.Mount{
		{Type: jobs.MountBind, Source: "/srv/shared/in", Target: "/in", ReadOnly: true},
		{Type: jobs.MountVolume, Source: "a_cache", Target: "/cache"},
		{Type: jobs.MountTmpfs, Target: "/tmp"},
	}); diff != "" {
		t.Errorf("stored mounts (-got +want):\n%s", diff)
	}
	// PATCH is held to the same ceiling.
	wantError(t, e.as(a, "PATCH", "/v1/jobs/"+got.ID, `{"parallelism":5}`), 403, types.CodePolicyViolation, "policy rule "+policy.RuleMaxParallelism)
	if rec := e.as(a, "PATCH", "/v1/jobs/"+got.ID, `{"parallelism":2}`); rec.Code != 200 {
		t.Errorf("patch within the ceiling: %d %s", rec.Code, rec.Body)
	}
}

// By default a job may mount no host path at all.
func TestDefaultPolicyRefusesBindMounts(t *testing.T) {
	e := newTestEnv(t)
	for _, src := range []string{"/var/run/docker.sock", "/tmp", "/home/user"} {
		body := `{"image":"busybox","mounts":[{"type":"bind","source":"` + src + `","target":"/m"}]}`
		rec := e.as(testAdminToken, "POST", "/v1/jobs", body)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d %s", src, rec.Code, rec.Body)
		}
	}
}

func TestMountValidation(t *testing.T) {
	e := newTestEnv(t)
	for _, tt := range []struct{ mounts, msg string }{
		{`{"type":"nfs","source":"x","target":"/m"}`, "mounts[0].type: must be bind, volume or tmpfs"},
		{`{"type":"bind","source":"relative","target":"/m"}`, "mounts[0].source: a bind mount needs an absolute host path"},
		{`{"type":"bind","source":"","target":"/m"}`, "mounts[0].source"},
		{`{"type":"bind","source":"/a\u0000b","target":"/m"}`, "mounts[0].source"},
		{`{"type":"volume","source":"../x","target":"/m"}`, "mounts[0].source: a volume mount needs a volume name"},
		{`{"type":"volume","target":"/m"}`, "mounts[0].source: a volume mount needs a volume name"},
		{`{"type":"tmpfs","source":"x","target":"/m"}`, "mounts[0].source: a tmpfs mount has no source"},
		{`{"type":"tmpfs","target":"m"}`, "mounts[0].target: must be a clean absolute path"},
		{`{"type":"tmpfs","target":"/m/"}`, "mounts[0].target: must be a clean absolute path"},
		{`{"type":"tmpfs","target":"/a/../b"}`, "mounts[0].target: must be a clean absolute path"},
		{`{"type":"tmpfs","target":"/"}`, "mounts[0].target: must not be the container's root"},
		{`{"type":"tmpfs"}`, "mounts[0].target: is required"},
		{`{"type":"tmpfs","target":"/m"},{"type":"tmpfs","target":"/m"}`, "mounts[1].target: \"/m\" is the target of another mount"},
		{`{"type":"tmpfs","target":"/m","propagation":"shared"}`, `unknown field "propagation"`},
	} {
		rec := e.as(testAdminToken, "POST", "/v1/jobs", `{"image":"busybox","mounts":[`+tt.mounts+`]}`)
		wantError(t, rec, 400, types.CodeInvalid, tt.msg)
	}
	many := make([]string, jobs.MaxMounts+1)
	for i := range many {
		b, _ := json.Marshal(types.Mount{Type: "tmpfs", Target: "/m" + strings.Repeat("x", i)})
		many[i] = string(b)
	}
	wantError(t, e.as(testAdminToken, "POST", "/v1/jobs", `{"image":"busybox","mounts":[`+strings.Join(many, ",")+`]}`), 400, types.CodeInvalid, "mounts: at most")
}

// Changes and refused tokens are in the audit trail (Info, "audit"), with
// the token that asked and never its secret; reads are not.
func TestAuditTrail(t *testing.T) {
	e := newTestEnv(t)
	writer := e.token("a", auth.ScopeJobsRead, auth.ScopeJobsWrite)
	reader := e.token("a", auth.ScopeJobsRead)
	job := decodeBody[types.Job](t, e.as(writer, "POST", "/v1/jobs", `{"image":"busybox"}`))
	e.as(writer, "GET", "/v1/jobs/"+job.ID, "")
	e.as(reader, "POST", "/v1/jobs/"+job.ID+"/cancel", "")
	e.as(writer, "DELETE", "/v1/jobs/"+job.ID, "")
	e.as("sjt_nope_nope", "GET", "/v1/jobs", "")

	type entry struct {
		Method, Path, Tenant string
		Status               float64
		Token                bool
	}
	var got []entry
	for _, r := range e.logs.records(t) {
		if r["msg"] != "audit" {
			continue
		}
		if r["level"] != "INFO" {
			t.Errorf("audit record at %v", r["level"])
		}
		tok, _ := r["token"].(string)
		got = append(got, entry{Method: r["method"].(string), Path: r["path"].(string), Tenant: r["tenant"].(string),
			Status: r["status"].(float64), Token: tok != ""})
	}
	want := []entry{
		{"POST", "/v1/jobs", "a", 201, true},
		{"POST", "/v1/jobs/" + job.ID + "/cancel", "a", 403, true},
		{"DELETE", "/v1/jobs/" + job.ID, "a", 204, true},
		{"GET", "/v1/jobs", "", 401, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit trail (-want +got):\n%s", diff)
	}
	for _, tok := range []string{writer, reader} {
		if strings.Contains(e.logs.String(), tok) {
			t.Error("a token's secret is in the log")
		}
	}
}
