package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// testNow is the fixed clock of every test server.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testAdminToken is the bootstrap admin token of every test server; e.do
// sends it unless the request names its own Authorization header.
const testAdminToken = "test-admin-token-0123456789"

// testEnv is a Server wired to fakes.
type testEnv struct {
	t      *testing.T
	srv    *Server
	store  *fakeStore
	tokens *fakeTokens
	enq    *fakeEnqueuer
	hub    *jobs.Hub
	logs   *syncBuffer
}

// newTestEnv returns a server on fakes whose IDs are job-1, job-2, … and
// whose clock stands at testNow. opts may change the Config further.
func newTestEnv(t *testing.T, opts ...func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{
		t:      t,
		store:  newFakeStore(),
		tokens: newFakeTokens(),
		enq:    &fakeEnqueuer{},
		hub:    &jobs.Hub{},
		logs:   &syncBuffer{},
	}
	var mu sync.Mutex
	n := 0
	cfg := Config{
		Store:      e.store,
		Tokens:     e.tokens,
		AdminToken: testAdminToken,
		Hub:        e.hub,
		Enqueuer:   e.enq,
		Logger:     slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        func() time.Time { return testNow.In(time.FixedZone("X", 3600)) },
		NewID: func() string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("job-%d", n)
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv = NewServer(cfg)
	return e
}

// do serves one request in-process. hdr holds header name, value pairs. It
// authenticates with testAdminToken unless hdr names Authorization, whose
// value "" sends none.
func (e *testEnv) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if req.Header.Get("Authorization") == "" {
		req.Header.Del("Authorization")
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// withAdminToken authenticates requests to h with testAdminToken, unless
// they carry their own Authorization header.
func withAdminToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			r.Header.Set("Authorization", "Bearer "+testAdminToken)
		}
		h.ServeHTTP(w, r)
	})
}

// createJob submits body and fails the test unless it is accepted.
func (e *testEnv) createJob(body string) types.Job {
	e.t.Helper()
	rec := e.do(http.MethodPost, "/v1/jobs", body, "Content-Type", "application/json")
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("POST /v1/jobs %s: status %d, body %s", body, rec.Code, rec.Body)
	}
	return decodeBody[types.Job](e.t, rec)
}

// decodeBody checks that rec holds JSON and decodes it strictly.
func decodeBody[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json; body %s", ct, rec.Body)
	}
	var v T
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %T from %s: %v", v, rec.Body, err)
	}
	return v
}

// wantError checks that rec is an error response with status and code
// whose message contains every one of msgParts.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string, msgParts ...string) types.ErrorBody {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	body := decodeBody[types.ErrorResponse](t, rec).Error
	if body.Code != code {
		t.Errorf("error code = %q, want %q (message %q)", body.Code, code, body.Message)
	}
	for _, p := range msgParts {
		if !strings.Contains(body.Message, p) {
			t.Errorf("error message %q does not contain %q", body.Message, p)
		}
	}
	return body
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the JSON log records written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b.buf.Bytes()))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decoding log record: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// findRecord returns the first log record with message msg, or nil.
func (b *syncBuffer) findRecord(t *testing.T, msg string) map[string]any {
	t.Helper()
	for _, r := range b.records(t) {
		if r["msg"] == msg {
			return r
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func TestHTTPStatus(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{jobs.EINVALID, http.StatusBadRequest},
		{jobs.ENOTFOUND, http.StatusNotFound},
		{jobs.ECONFLICT, http.StatusConflict},
		{jobs.ETOOLARGE, http.StatusRequestEntityTooLarge},
		{jobs.EUNAVAIL, http.StatusServiceUnavailable},
		{jobs.EINTERNAL, http.StatusInternalServerError},
		{types.CodeUnsupported, http.StatusUnsupportedMediaType},
		{types.CodeMethod, http.StatusMethodNotAllowed},
		{jobs.EUNAUTHORIZED, http.StatusUnauthorized},
		{jobs.EFORBIDDEN, http.StatusForbidden},
		{jobs.EPOLICY, http.StatusForbidden},
		{types.CodeRateLimited, http.StatusTooManyRequests},
		{"something_else", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := httpStatus(tt.code); got != tt.want {
				t.Errorf("httpStatus(%q) = %d, want %d", tt.code, got, tt.want)
			}
		})
	}
}

// The domain codes go on the wire as they are, so they must be the codes
// the wire types document.
func TestErrorCodesMatchWireCodes(t *testing.T) {
	got := []string{jobs.EINVALID, jobs.ENOTFOUND, jobs.ECONFLICT, jobs.ETOOLARGE, jobs.EINTERNAL, jobs.EUNAVAIL,
		jobs.EUNAUTHORIZED, jobs.EFORBIDDEN, jobs.EPOLICY}
	want := []string{types.CodeInvalid, types.CodeNotFound, types.CodeConflict, types.CodeTooLarge, types.CodeInternal, types.CodeUnavailable,
		types.CodeUnauthorized, types.CodeForbidden, types.CodePolicyViolation}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobs codes differ from api/types codes (-want +got):\n%s", diff)
	}
}

func TestNewServerPanicsWithoutDependencies(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no store", Config{Enqueuer: &fakeEnqueuer{}, AdminToken: testAdminToken}},
		{"no enqueuer", Config{Store: newFakeStore(), AdminToken: testAdminToken}},
		{"no authentication", Config{Store: newFakeStore(), Enqueuer: &fakeEnqueuer{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewServer did not panic")
				}
			}()
			NewServer(tt.cfg)
		})
	}
}
