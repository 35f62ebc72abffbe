package client

import (
	"bufio"
	"bytes"
	"context"
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

// sseServer answers GET /v1/events with body, flushed in parts separated by
// "|", and records the request's query and Last-Event-ID.
type sseServer struct {
	mu      sync.Mutex
	status  int
	parts   []string
	query   string
	lastID  []string
	accept  string
	holdEnd chan struct{} // when set, the stream stays open until it closes
}

func (s *sseServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.query = r.URL.RawQuery
	s.lastID = r.Header.Values("Last-Event-ID")
	s.accept = r.Header.Get("Accept")
	status, parts, hold := s.status, s.parts, s.holdEnd
	s.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		io.WriteString(w, errorBody(types.CodeInvalid, "since: must be a non-negative event ID"))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, p := range parts {
		io.WriteString(w, p)
		w.(http.Flusher).Flush()
	}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}
}

func newSSEClient(t *testing.T, s *sseServer) *Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEventsParsesTheStream(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &sseServer{parts: []string{
		": keep-alive\n\n",
		"id: 7\n\n", // the position, without an event
		`id: 8` + "\nevent: job.created\n" + `data: {"id":8,"type":"job.created","time":"2026-01-02T03:04:05Z","jobId":"j1","labels":{"team":"a"},"phase":"Pending"}` + "\n\n",
		"id: 9\r\nevent: attempt.finished\r\n" + `data: {"id":9,"type":"attempt.finished","time":"2026-01-02T03:04:05Z","jobId":"j1","index":0,"attempt":0,"state":"failed","exitCode":3}` + "\r\n\r\n",
		"retry: 1000\n: comment\n\n",
		`id: 12` + "\nevent: reset\n" + `data: {"id":12,"type":"reset",` + "\n" + `data: "time":"2026-01-02T03:04:05Z","message":"list again"}` + "\n\n",
		"id: 15\n\n",
		"id: 16\nevent: job.deleted\ndata: {\"id\":16", // cut short
	}}
	c := newSSEClient(t, s)
	since := int64(5)
	st, err := c.Events(t.Context(), EventsOptions{Since: &since, JobID: "j1", Labels: "team=a,env!=dev"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if id, ok := st.LastEventID(); !ok || id != 5 {
		t.Errorf("LastEventID before reading = %d, %v; want Since", id, ok)
	}
	var got []types.Event
	var positions []int64
	for {
		e, err := st.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
		id, _ := st.LastEventID()
		positions = append(positions, id)
	}
	want := []types.Event{
		{ID: 8, Type: types.EventJobCreated, Time: at, JobID: "j1", Labels: map[string]string{"team": "a"}, Phase: "Pending"},
		{ID: 9, Type: types.EventAttemptFinished, Time: at, JobID: "j1", Index: ptr(0), Attempt: ptr(0), State: "failed", ExitCode: ptr(3)},
		{ID: 12, Type: types.EventReset, Time: at, Message: "list again"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{8, 9, 12}, positions); diff != "" {
		t.Errorf("LastEventID after each event (-want +got):\n%s", diff)
	}
	// The ID-only message after the reset moved the position; the message
	// cut short did not.
	if id, ok := st.LastEventID(); !ok || id != 15 {
		t.Errorf("LastEventID at the end = %d, %v; want 15", id, ok)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.query != "job=j1&label=team%3Da%2Cenv%21%3Ddev" || !cmp.Equal(s.lastID, []string{"5"}) || s.accept != "text/event-stream" {
		t.Errorf("request: query %q, Last-Event-ID %q, Accept %q", s.query, s.lastID, s.accept)
	}
}

func TestEventsWithoutSince(t *testing.T) {
	s := &sseServer{parts: []string{"id: 3\n\n"}}
	c := newSSEClient(t, s)
	st, err := c.Events(t.Context(), EventsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.LastEventID(); ok {
		t.Error("LastEventID is set before the server sent one")
	}
	if _, err := st.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next = %v, want io.EOF", err)
	}
	if id, ok := st.LastEventID(); !ok || id != 3 {
		t.Errorf("LastEventID = %d, %v; want 3", id, ok)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.query != "" || len(s.lastID) != 0 {
		t.Errorf("request: query %q, Last-Event-ID %q; want neither", s.query, s.lastID)
	}
}

func TestEventsErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		c := newSSEClient(t, &sseServer{status: http.StatusBadRequest})
		_, err := c.Events(t.Context(), EventsOptions{})
		want := &Error{StatusCode: 400, Code: types.CodeInvalid, Message: "since: must be a non-negative event ID"}
		if diff := cmp.Diff(error(want), err); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
	})
	t.Run("malformed data", func(t *testing.T) {
		c := newSSEClient(t, &sseServer{parts: []string{"id: 1\nevent: job.created\ndata: {nope\n\n"}})
		st, err := c.Events(t.Context(), EventsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Next(); err == nil || !strings.Contains(err.Error(), "decoding event 1") {
			t.Errorf("Next = %v, want a decoding error", err)
		}
	})
	t.Run("malformed ID", func(t *testing.T) {
		c := newSSEClient(t, &sseServer{parts: []string{"id: x\n\n"}})
		st, err := c.Events(t.Context(), EventsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Next(); err == nil || !strings.Contains(err.Error(), `malformed event ID "x"`) {
			t.Errorf("Next = %v", err)
		}
	})
	t.Run("context ends", func(t *testing.T) {
		s := &sseServer{parts: []string{": hi\n\n"}, holdEnd: make(chan struct{})}
		defer close(s.holdEnd)
		c := newSSEClient(t, s)
		ctx, cancel := context.WithCancel(t.Context())
		st, err := c.Events(ctx, EventsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		time.AfterFunc(50*time.Millisecond, cancel)
		if _, err := st.Next(); !errors.Is(err, context.Canceled) {
			t.Errorf("Next = %v, want context.Canceled", err)
		}
	})
	t.Run("closed while waiting", func(t *testing.T) {
		s := &sseServer{parts: []string{": hi\n\n"}, holdEnd: make(chan struct{})}
		defer close(s.holdEnd)
		c := newSSEClient(t, s)
		st, err := c.Events(t.Context(), EventsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(50*time.Millisecond, func() { st.Close() })
		if _, err := st.Next(); err == nil {
			t.Error("Next returned no error after Close")
		}
	})
}

func TestCreateJobWithKey(t *testing.T) {
	job := types.Job{ID: "j1", Spec: types.JobSpec{Image: "busybox"}, Status: types.JobStatus{Phase: "Pending", Attempts: []types.Attempt{}}}
	tests := []struct {
		name        string
		status      int
		body        string
		wantCreated bool
		wantErr     error
	}{
		{name: "created", status: http.StatusCreated, body: mustJSON(t, job), wantCreated: true},
		{name: "replayed", status: http.StatusOK, body: mustJSON(t, job)},
		{name: "conflict", status: http.StatusConflict, body: errorBody(types.CodeConflict, `Idempotency-Key: "k" was already used`),
			wantErr: &Error{StatusCode: 409, Code: types.CodeConflict, Message: `Idempotency-Key: "k" was already used`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotKey, gotBody string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotKey = r.Header.Get("Idempotency-Key")
				b, _ := io.ReadAll(r.Body)
				gotBody = string(b)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c, err := New(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			got, created, err := c.CreateJobWithKey(t.Context(), "k", types.CreateJobRequest{JobSpec: types.JobSpec{Image: "busybox"}})
			if gotKey != "k" || gotBody != `{"image":"busybox"}` {
				t.Errorf("server saw key %q, body %q", gotKey, gotBody)
			}
			if tt.wantErr != nil {
				if diff := cmp.Diff(tt.wantErr, err); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil || created != tt.wantCreated || !cmp.Equal(&job, got) {
				t.Errorf("CreateJobWithKey = %+v, %v, %v; want the job, created %v", got, created, err, tt.wantCreated)
			}
		})
	}
}

// FuzzEventStream feeds arbitrary bytes to the event stream parser: it must
// never panic, must end, and must return only events it could decode.
func FuzzEventStream(f *testing.F) {
	f.Add([]byte(eventsSeed))
	f.Add([]byte("id: 1\n\nid: x\n\n"))
	f.Add([]byte("data: {}\n\ndata\n\n:\n\nevent\n\n"))
	f.Add([]byte("id: 3\r\nevent: reset\r\ndata: {\"id\":3}\r\n\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 0, 64), 4096)
		st := &EventStream{ctx: context.Background(), body: io.NopCloser(nil), sc: sc}
		for range len(body) + 1 {
			if _, err := st.Next(); err != nil {
				return
			}
		}
		t.Fatalf("%d events from %d bytes", len(body)+1, len(body))
	})
}

const eventsSeed = ": keep-alive\n\nid: 7\n\nid: 8\nevent: job.created\ndata: {\"id\":8,\"type\":\"job.created\",\"jobId\":\"j1\"}\n\n"
