package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
)

func TestHealth(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		ready      error
		wantStatus int
		wantBody   string
		wantMsg    string
	}{
		{name: "healthz", path: "/healthz", wantStatus: 200, wantBody: `{"status":"ok"}` + "\n"},
		{name: "healthz while not ready", path: "/healthz", ready: errors.New("engine down"), wantStatus: 200, wantBody: `{"status":"ok"}` + "\n"},
		{name: "readyz", path: "/readyz", wantStatus: 200, wantBody: `{"status":"ready"}` + "\n"},
		{name: "readyz not ready", path: "/readyz", ready: errors.New("engine: this node is not a swarm manager"), wantStatus: 503,
			wantMsg: "engine: this node is not a swarm manager"},
		{name: "readyz with a domain error", path: "/readyz", ready: jobs.Errorf(jobs.EUNAVAIL, "store closed"), wantStatus: 503,
			wantMsg: "not ready: store closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotCtx bool
			e := newTestEnv(t, func(c *Config) {
				c.Ready = func(ctx context.Context) error {
					_, gotCtx = ctx.Deadline()
					return tt.ready
				}
			})
			rec := e.do(http.MethodGet, tt.path, "")
			if tt.wantStatus != http.StatusOK {
				wantError(t, rec, tt.wantStatus, types.CodeUnavailable, tt.wantMsg)
			} else {
				if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody {
					t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tt.wantStatus, tt.wantBody)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
			}
			if tt.path == "/readyz" && !gotCtx {
				t.Error("Ready was called without a deadline")
			}
		})
	}
}

func TestReadyzDefaultsToReady(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Ready = nil })
	if rec := e.do(http.MethodGet, "/readyz", ""); rec.Code != http.StatusOK {
		t.Errorf("status = %d, want 200", rec.Code)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	tests := []struct {
		method     string
		path       string
		wantStatus int
		wantCode   string
		wantAllow  string
		wantMsg    string
	}{
		{http.MethodGet, "/nope", 404, types.CodeNotFound, "", "no route for GET /nope"},
		{http.MethodGet, "/v1/jobs/", 404, types.CodeNotFound, "", "no route for GET /v1/jobs/"},
		{http.MethodGet, "/v1/jobs/j/unknown", 404, types.CodeNotFound, "", "no route"},
		{http.MethodGet, "/v1/jobs/j/cancel", 405, types.CodeMethod, "POST", "method GET is not allowed on /v1/jobs/j/cancel; allowed: POST"},
		{http.MethodPut, "/v1/jobs", 405, types.CodeMethod, "GET, HEAD, POST", "method PUT"},
		{http.MethodPost, "/v1/jobs/j", 405, types.CodeMethod, "DELETE, GET, HEAD, PATCH", "allowed: DELETE, GET, HEAD, PATCH"},
		{http.MethodGet, "/v1/jobs/j/suspend", 405, types.CodeMethod, "POST", "allowed: POST"},
		{http.MethodGet, "/v1/jobs/j/resume", 405, types.CodeMethod, "POST", "allowed: POST"},
		{http.MethodPost, "/v1/jobs/j/results", 405, types.CodeMethod, "GET, HEAD", "allowed: GET, HEAD"},
		{http.MethodPatch, "/v1/jobs", 405, types.CodeMethod, "GET, HEAD, POST", "method PATCH"},
		{http.MethodDelete, "/healthz", 405, types.CodeMethod, "GET, HEAD", "method DELETE"},
		{http.MethodPost, "/v1/events", 405, types.CodeMethod, "GET, HEAD", "method POST is not allowed on /v1/events"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			e := newTestEnv(t)
			rec := e.do(tt.method, tt.path, "")
			wantError(t, rec, tt.wantStatus, tt.wantCode, tt.wantMsg)
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
		})
	}
}

func TestPanicRecovery(t *testing.T) {
	e := newTestEnv(t)
	putRunning(e, "j")
	e.store.setPanic("GetJob")

	wantError(t, e.do(http.MethodGet, "/v1/jobs/j", ""), http.StatusInternalServerError, types.CodeInternal, "internal error")
	rec := e.logs.findRecord(t, "handler panic")
	if rec == nil {
		t.Fatal("the panic was not logged")
	}
	if rec["panic"] != "fakeStore: GetJob panics on purpose" || rec["stack"] == "" {
		t.Errorf("panic record = %v", rec)
	}
	if got := e.logs.findRecord(t, "http request"); got == nil || got["status"] != float64(500) {
		t.Errorf("request log = %v, want status 500", got)
	}

	// The server keeps serving.
	e.store.setPanic("")
	if rec := e.do(http.MethodGet, "/v1/jobs/j", ""); rec.Code != http.StatusOK {
		t.Errorf("after the panic: status %d, body %s", rec.Code, rec.Body)
	}
}

func TestRequestLog(t *testing.T) {
	e := newTestEnv(t)
	e.do(http.MethodGet, "/v1/jobs/nope?x=1", "")
	var got []map[string]any
	for _, r := range e.logs.records(t) {
		if r["msg"] == "http request" {
			delete(r, "time")
			if _, ok := r["duration"].(float64); !ok {
				t.Errorf("duration = %v, want a number", r["duration"])
			}
			delete(r, "duration")
			got = append(got, r)
		}
	}
	want := []map[string]any{{"level": "DEBUG", "msg": "http request", "method": "GET", "path": "/v1/jobs/nope", "status": float64(404),
		"token": auth.BootstrapTokenID, "tenant": auth.DefaultTenant, "remote": "192.0.2.1:1234"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request log (-want +got):\n%s", diff)
	}
	if strings.Contains(e.logs.String(), testAdminToken) {
		t.Error("the log holds the token")
	}
}
