package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
)

// seen is what the test server saw of one request.
type seen struct {
	Method      string
	Path        string // escaped, as sent
	Query       string // url.Values.Encode order
	ContentType string
	Body        string
}

// reply is what the test server answers.
type reply struct {
	status int
	body   string
}

// recorder is an httptest server that records every request and answers
// from a list of replies, repeating the last one.
type recorder struct {
	mu      sync.Mutex
	seen    []seen
	replies []reply
	ua      []string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rec.mu.Lock()
	rec.seen = append(rec.seen, seen{
		Method:      r.Method,
		Path:        r.URL.EscapedPath(),
		Query:       r.URL.Query().Encode(),
		ContentType: r.Header.Get("Content-Type"),
		Body:        string(b),
	})
	rec.ua = append(rec.ua, r.Header.Get("User-Agent"))
	rp := rec.replies[min(len(rec.seen), len(rec.replies))-1]
	rec.mu.Unlock()
	w.WriteHeader(rp.status)
	io.WriteString(w, rp.body)
}

func (rec *recorder) requests() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.seen...)
}

func newTestClient(t *testing.T, replies ...reply) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{replies: replies}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatalf("New(%q): %v", srv.URL, err)
	}
	c.minWaitCall = 0
	return c, rec
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func errorBody(code, msg string) string {
	b, err := json.Marshal(types.ErrorResponse{Error: types.ErrorBody{Code: code, Message: msg}})
	if err != nil {
		panic(err)
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }

func TestCalls(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	job := types.Job{
		ID:        "j1",
		CreatedAt: created,
		Spec:      types.JobSpec{Image: "busybox"},
		Status:    types.JobStatus{Phase: types.PhaseSucceeded, Attempts: []types.Attempt{{Service: "s", State: "complete", ExitCode: ptr(0)}}},
	}
	list := types.JobList{Items: []types.Job{job}, NextCursor: "next"}
	results := types.Results{JobID: "j1", CompletionMode: types.CompletionIndexed, Items: []types.ResultItem{
		{Index: 0, State: types.IndexSucceeded, ExitCode: ptr(0), Attempts: 1, LogBytes: 3, LastAttempt: &types.Attempt{Service: "s", State: "succeeded", ExitCode: ptr(0)}},
		{Index: 1, State: types.IndexPending},
	}}

	tests := []struct {
		name    string
		replies []reply
		call    func(context.Context, *Client) (any, error)
		want    any
		wantErr error // compared with cmp when it is an *Error
		wantReq []seen
	}{
		{
			name:    "create",
			replies: []reply{{http.StatusCreated, mustJSON(t, job)}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateJob(ctx, types.CreateJobRequest{Name: "n", JobSpec: types.JobSpec{Image: "busybox", Args: []string{"true"}}})
			},
			want: &job,
			wantReq: []seen{{Method: "POST", Path: "/v1/jobs", ContentType: "application/json",
				Body: `{"name":"n","image":"busybox","args":["true"]}`}},
		},
		{
			name:    "create invalid",
			replies: []reply{{http.StatusBadRequest, errorBody(types.CodeInvalid, "image: required")}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateJob(ctx, types.CreateJobRequest{})
			},
			wantErr: &Error{StatusCode: 400, Code: types.CodeInvalid, Message: "image: required"},
			wantReq: []seen{{Method: "POST", Path: "/v1/jobs", ContentType: "application/json", Body: `{"image":""}`}},
		},
		{
			name:    "get escapes the ID",
			replies: []reply{{http.StatusOK, mustJSON(t, job)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetJob(ctx, "a/b c?d") },
			want:    &job,
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/a%2Fb%20c%3Fd"}},
		},
		{
			name:    "get not found",
			replies: []reply{{http.StatusNotFound, errorBody(types.CodeNotFound, `job "x" not found`)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetJob(ctx, "x") },
			wantErr: &Error{StatusCode: 404, Code: types.CodeNotFound, Message: `job "x" not found`},
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/x"}},
		},
		{
			name:    "error without an API body falls back to the status",
			replies: []reply{{http.StatusBadGateway, "<html>bad gateway</html>"}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetJob(ctx, "x") },
			wantErr: &Error{StatusCode: 502, Message: "502 Bad Gateway"},
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/x"}},
		},
		{
			name:    "error with an empty API message falls back to the status",
			replies: []reply{{http.StatusInternalServerError, errorBody(types.CodeInternal, "")}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetJob(ctx, "x") },
			wantErr: &Error{StatusCode: 500, Code: types.CodeInternal, Message: "500 Internal Server Error"},
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/x"}},
		},
		{
			name:    "empty ID sends nothing",
			replies: []reply{{http.StatusOK, "{}"}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetJob(ctx, "") },
			wantErr: errors.New(`invalid job ID ""`),
		},
		{
			name:    "list with every option",
			replies: []reply{{http.StatusOK, mustJSON(t, list)}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListJobs(ctx, ListOptions{Phase: "Running", Labels: map[string]string{"b": "2", "a": "1"}, Limit: 5, Cursor: "c1"})
			},
			want:    &list,
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs", Query: "cursor=c1&label=a%3D1&label=b%3D2&limit=5&phase=Running"}},
		},
		{
			name:    "list with the filters of a selector, a name, times and an order",
			replies: []reply{{http.StatusOK, mustJSON(t, list)}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListJobs(ctx, ListOptions{Labels: map[string]string{"a": "1"}, Selector: "team!=x,!urgent", NamePrefix: "nightly-",
					CreatedAfter: created, CreatedBefore: created.Add(90 * time.Minute).In(time.FixedZone("X", 3600)), Order: "asc"})
			},
			want: &list,
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs",
				Query: "createdAfter=2025-01-02T03%3A04%3A05Z&createdBefore=2025-01-02T05%3A34%3A05%2B01%3A00&label=a%3D1&label=team%21%3Dx%2C%21urgent&namePrefix=nightly-&order=asc"}},
		},
		{
			name:    "list without options",
			replies: []reply{{http.StatusOK, `{"items":[]}`}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ListJobs(ctx, ListOptions{}) },
			want:    &types.JobList{Items: []types.Job{}},
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs"}},
		},
		{
			name:    "logs",
			replies: []reply{{http.StatusOK, "hello\nworld\n"}},
			call: func(ctx context.Context, c *Client) (any, error) {
				rc, err := c.Logs(ctx, "j1", LogOptions{Stream: "stderr", Attempt: ptr(0), Timestamps: true})
				if err != nil {
					return nil, err
				}
				defer rc.Close()
				b, err := io.ReadAll(rc)
				return string(b), err
			},
			want:    "hello\nworld\n",
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1/logs", Query: "attempt=0&stream=stderr&timestamps=true"}},
		},
		{
			name:    "logs error",
			replies: []reply{{http.StatusBadRequest, errorBody(types.CodeInvalid, "stream: must be stdout, stderr or all")}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Logs(ctx, "j1", LogOptions{Stream: "bogus"})
			},
			wantErr: &Error{StatusCode: 400, Code: types.CodeInvalid, Message: "stream: must be stdout, stderr or all"},
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1/logs", Query: "stream=bogus"}},
		},
		{
			name:    "wait",
			replies: []reply{{http.StatusOK, mustJSON(t, job)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Wait(ctx, "j1", 90*time.Second) },
			want:    &job,
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1/wait", Query: "timeout=1m30s"}},
		},
		{
			name:    "wait without timeout",
			replies: []reply{{http.StatusOK, mustJSON(t, job)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Wait(ctx, "j1", 0) },
			want:    &job,
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1/wait"}},
		},
		{
			name: "wait terminal repeats until terminal",
			replies: []reply{
				{http.StatusOK, `{"id":"j1","status":{"phase":"Pending"}}`},
				{http.StatusOK, `{"id":"j1","status":{"phase":"Running"}}`},
				{http.StatusOK, mustJSON(t, job)},
			},
			call: func(ctx context.Context, c *Client) (any, error) { return c.WaitTerminal(ctx, "j1") },
			want: &job,
			wantReq: []seen{
				{Method: "GET", Path: "/v1/jobs/j1/wait", Query: "timeout=30s"},
				{Method: "GET", Path: "/v1/jobs/j1/wait", Query: "timeout=30s"},
				{Method: "GET", Path: "/v1/jobs/j1/wait", Query: "timeout=30s"},
			},
		},
		{
			name: "wait terminal stops at an error",
			replies: []reply{
				{http.StatusOK, `{"id":"j1","status":{"phase":"Running"}}`},
				{http.StatusNotFound, errorBody(types.CodeNotFound, "job j1 not found")},
			},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.WaitTerminal(ctx, "j1") },
			wantErr: &Error{StatusCode: 404, Code: types.CodeNotFound, Message: "job j1 not found"},
			wantReq: []seen{
				{Method: "GET", Path: "/v1/jobs/j1/wait", Query: "timeout=30s"},
				{Method: "GET", Path: "/v1/jobs/j1/wait", Query: "timeout=30s"},
			},
		},
		{
			name:    "cancel",
			replies: []reply{{http.StatusAccepted, mustJSON(t, job)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.CancelJob(ctx, "j1") },
			want:    &job,
			wantReq: []seen{{Method: "POST", Path: "/v1/jobs/j1/cancel"}},
		},
		{
			name:    "cancel conflict",
			replies: []reply{{http.StatusConflict, errorBody(types.CodeConflict, "job j1 is Succeeded")}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.CancelJob(ctx, "j1") },
			wantErr: &Error{StatusCode: 409, Code: types.CodeConflict, Message: "job j1 is Succeeded"},
			wantReq: []seen{{Method: "POST", Path: "/v1/jobs/j1/cancel"}},
		},
		{
			name:    "logs of one index",
			replies: []reply{{http.StatusOK, "i2\n"}},
			call: func(ctx context.Context, c *Client) (any, error) {
				rc, err := c.Logs(ctx, "j1", LogOptions{Index: ptr(2)})
				if err != nil {
					return nil, err
				}
				defer rc.Close()
				b, err := io.ReadAll(rc)
				return string(b), err
			},
			want:    "i2\n",
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1/logs", Query: "index=2"}},
		},
		{
			name:    "logs followed, since, tail",
			replies: []reply{{http.StatusOK, "live\n"}},
			call: func(ctx context.Context, c *Client) (any, error) {
				rc, err := c.Logs(ctx, "j1", LogOptions{Follow: true, Since: "10m", Tail: ptr(0)})
				if err != nil {
					return nil, err
				}
				defer rc.Close()
				b, err := io.ReadAll(rc)
				return string(b), err
			},
			want:    "live\n",
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1/logs", Query: "follow=true&since=10m&tail=0"}},
		},
		{
			name:    "logs of one attempt of one index",
			replies: []reply{{http.StatusOK, ""}},
			call: func(ctx context.Context, c *Client) (any, error) {
				rc, err := c.Logs(ctx, "j1", LogOptions{Index: ptr(0), Attempt: ptr(3)})
				if err != nil {
					return nil, err
				}
				return nil, rc.Close()
			},
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1/logs", Query: "attempt=3&index=0"}},
		},
		{
			name:    "suspend",
			replies: []reply{{http.StatusAccepted, mustJSON(t, job)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.SuspendJob(ctx, "a/b") },
			want:    &job,
			wantReq: []seen{{Method: "POST", Path: "/v1/jobs/a%2Fb/suspend"}},
		},
		{
			name:    "suspend a finished job",
			replies: []reply{{http.StatusConflict, errorBody(types.CodeConflict, `job "j1" is Succeeded; a finished job cannot be suspended`)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.SuspendJob(ctx, "j1") },
			wantErr: &Error{StatusCode: 409, Code: types.CodeConflict, Message: `job "j1" is Succeeded; a finished job cannot be suspended`},
			wantReq: []seen{{Method: "POST", Path: "/v1/jobs/j1/suspend"}},
		},
		{
			name:    "resume",
			replies: []reply{{http.StatusAccepted, mustJSON(t, job)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ResumeJob(ctx, "j1") },
			want:    &job,
			wantReq: []seen{{Method: "POST", Path: "/v1/jobs/j1/resume"}},
		},
		{
			name:    "resume unknown",
			replies: []reply{{http.StatusNotFound, errorBody(types.CodeNotFound, `job "x" not found`)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ResumeJob(ctx, "x") },
			wantErr: &Error{StatusCode: 404, Code: types.CodeNotFound, Message: `job "x" not found`},
			wantReq: []seen{{Method: "POST", Path: "/v1/jobs/x/resume"}},
		},
		{
			name:    "resume with an empty ID sends nothing",
			replies: []reply{{http.StatusOK, "{}"}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ResumeJob(ctx, "..") },
			wantErr: errors.New(`invalid job ID ".."`),
		},
		{
			name:    "patch",
			replies: []reply{{http.StatusOK, mustJSON(t, job)}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.PatchJob(ctx, "j1", types.JobPatch{Parallelism: ptr(4)})
			},
			want:    &job,
			wantReq: []seen{{Method: "PATCH", Path: "/v1/jobs/j1", ContentType: "application/json", Body: `{"parallelism":4}`}},
		},
		{
			name:    "patch invalid",
			replies: []reply{{http.StatusBadRequest, errorBody(types.CodeInvalid, "parallelism: must be between 1 and 10000, got 0")}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.PatchJob(ctx, "j1", types.JobPatch{Parallelism: ptr(0)})
			},
			wantErr: &Error{StatusCode: 400, Code: types.CodeInvalid, Message: "parallelism: must be between 1 and 10000, got 0"},
			wantReq: []seen{{Method: "PATCH", Path: "/v1/jobs/j1", ContentType: "application/json", Body: `{"parallelism":0}`}},
		},
		{
			name:    "results",
			replies: []reply{{http.StatusOK, mustJSON(t, results)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Results(ctx, "j1") },
			want:    &results,
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1/results"}},
		},
		{
			name:    "results not found",
			replies: []reply{{http.StatusNotFound, errorBody(types.CodeNotFound, `job "j1" not found`)}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Results(ctx, "j1") },
			wantErr: &Error{StatusCode: 404, Code: types.CodeNotFound, Message: `job "j1" not found`},
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1/results"}},
		},
		{
			name:    "delete",
			replies: []reply{{http.StatusNoContent, ""}},
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteJob(ctx, "j1") },
			wantReq: []seen{{Method: "DELETE", Path: "/v1/jobs/j1"}},
		},
		{
			name:    "ready",
			replies: []reply{{http.StatusOK, "ok"}},
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.Ready(ctx) },
			wantReq: []seen{{Method: "GET", Path: "/readyz"}},
		},
		{
			name:    "not ready",
			replies: []reply{{http.StatusServiceUnavailable, errorBody(types.CodeUnavailable, "engine: not a swarm manager")}},
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.Ready(ctx) },
			wantErr: &Error{StatusCode: 503, Code: types.CodeUnavailable, Message: "engine: not a swarm manager"},
			wantReq: []seen{{Method: "GET", Path: "/readyz"}},
		},
		{
			name:    "malformed success body",
			replies: []reply{{http.StatusOK, `{"id":`}},
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetJob(ctx, "j1") },
			wantErr: errors.New("decoding response of GET /v1/jobs/j1: unexpected EOF"),
			wantReq: []seen{{Method: "GET", Path: "/v1/jobs/j1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec := newTestClient(t, tt.replies...)
			got, err := tt.call(t.Context(), c)
			if tt.wantErr != nil {
				checkErr(t, err, tt.wantErr)
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			} else if tt.want != nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.wantReq, rec.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// checkErr compares an *Error field by field and any other error by text.
func checkErr(t *testing.T, got, want error) {
	t.Helper()
	if got == nil {
		t.Fatalf("got no error, want %v", want)
	}
	var wantAPI *Error
	if errors.As(want, &wantAPI) {
		var gotAPI *Error
		if !errors.As(got, &gotAPI) {
			t.Fatalf("got error %T %v, want *client.Error", got, got)
		}
		if diff := cmp.Diff(wantAPI, gotAPI); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
		return
	}
	if got.Error() != want.Error() {
		t.Errorf("got error %q, want %q", got, want)
	}
}

func TestIsNotFound(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"404", &Error{StatusCode: 404, Message: "x"}, true},
		{"not_found code", &Error{StatusCode: 410, Code: types.CodeNotFound}, true},
		{"wrapped 404", errors.Join(errors.New("ctx"), &Error{StatusCode: 404}), true},
		{"400", &Error{StatusCode: 400, Code: types.CodeInvalid}, false},
		{"other error", errors.New("not found"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsNotFound(tt.err); got != tt.want {
				t.Errorf("IsNotFound(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		base     string
		wantPath string // path of GetJob("j1"), when New succeeds
		wantErr  string
	}{
		{base: "http://127.0.0.1:8080", wantPath: "/v1/jobs/j1"},
		{base: "http://127.0.0.1:8080/", wantPath: "/v1/jobs/j1"},
		{base: "https://example.com/swarmjob/", wantPath: "/swarmjob/v1/jobs/j1"},
		{base: "https://example.com/a%2Fb", wantPath: "/a%2Fb/v1/jobs/j1"},
		{base: "127.0.0.1:8080", wantErr: `parsing server URL: parse "127.0.0.1:8080": first path segment in URL cannot contain colon`},
		{base: "ftp://example.com", wantErr: `server URL "ftp://example.com": scheme must be http or https`},
		{base: "http://", wantErr: `server URL "http://": missing host`},
		{base: "http://h/?x=1", wantErr: `server URL "http://h/?x=1": must not have a query, fragment or user info`},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			c, err := New(tt.base)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("New(%q) error = %v, want %q", tt.base, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tt.base, err)
			}
			p, err := c.jobPath("j1")
			if err != nil {
				t.Fatal(err)
			}
			if p != tt.wantPath {
				t.Errorf("path = %q, want %q", p, tt.wantPath)
			}
		})
	}
}

// roundTripFunc lets a test see which http.Client sent a request.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOptions(t *testing.T) {
	var gotUA string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		gotUA = r.Header.Get("User-Agent")
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
	})}
	c, err := New("http://swarmjob.invalid", WithHTTPClient(hc), WithUserAgent("test-agent/1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(t.Context()); err != nil {
		t.Fatalf("Ready through the given http.Client: %v", err)
	}
	if gotUA != "test-agent/1" {
		t.Errorf("User-Agent = %q, want %q", gotUA, "test-agent/1")
	}

	c, rec := newTestClient(t, reply{http.StatusOK, "ok"})
	if err := c.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{DefaultUserAgent}, rec.ua); diff != "" {
		t.Errorf("default User-Agent (-want +got):\n%s", diff)
	}
}

func TestWaitTerminalContextEnds(t *testing.T) {
	c, rec := newTestClient(t, reply{http.StatusOK, `{"id":"j1","status":{"phase":"Running"}}`})
	c.minWaitCall = time.Hour // a server answering at once must not be polled in a loop
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.WaitTerminal(ctx, "j1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitTerminal error = %v, want context.DeadlineExceeded", err)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("server saw %d wait calls, want 1", n)
	}
}
