package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/events"
	"github.com/swarmjob/swarmjob/jobs"
)

// eventsEnv is a test server with an events log on an in-memory store,
// served over a real listener so that streams can be read as they come.
type eventsEnv struct {
	*testEnv
	evstore *fakeEventStore
	rec     *events.Recorder
	http    *httptest.Server
	// cancelAll ends every request context, as serve does at shutdown.
	cancelAll context.CancelCauseFunc
	// handlerDone receives once per request when its handler returned.
	handlerDone chan string
}

func newEventsEnv(t *testing.T, opts ...func(*Config)) *eventsEnv {
	t.Helper()
	ev := &eventsEnv{evstore: &fakeEventStore{}, handlerDone: make(chan string, 100)}
	ev.rec = events.NewRecorder(ev.evstore, nil)
	ev.testEnv = newTestEnv(t, append([]func(*Config){func(c *Config) { c.Events = ev.rec }}, opts...)...)
	ev.store.record = func(e jobs.Event) { ev.rec.Record(context.Background(), e) }
	base, cancel := context.WithCancelCause(context.Background())
	ev.cancelAll = cancel
	ev.http = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { ev.handlerDone <- r.URL.Path }()
		withAdminToken(ev.srv.Handler()).ServeHTTP(w, r)
	}))
	ev.http.Config.BaseContext = func(net.Listener) context.Context { return base }
	ev.http.Start()
	t.Cleanup(func() {
		cancel(ErrShuttingDown)
		ev.http.Close()
	})
	return ev
}

// record appends an event as the controller would.
func (ev *eventsEnv) record(typ jobs.EventType, job string, labels map[string]string) {
	ev.rec.Record(context.Background(), jobs.Event{Time: testNow, Type: typ, JobID: job, Labels: labels})
}

// sseFrame is one message of an event stream: its fields, or a comment.
type sseFrame struct {
	ID, Event, Data string
	HasID           bool
	Comment         string
}

// stream is an open GET /v1/events whose frames arrive on a channel.
type stream struct {
	t      *testing.T
	resp   *http.Response
	frames chan sseFrame
	done   chan error // the reader's end: io.EOF or the read error
	cancel context.CancelFunc
}

// open starts GET /v1/events+query with header name, value pairs.
func (ev *eventsEnv) open(query string, hdr ...string) *stream {
	ev.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ev.http.URL+"/v1/events"+query, nil)
	if err != nil {
		ev.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ev.http.Client().Do(req)
	if err != nil {
		cancel()
		ev.t.Fatal(err)
	}
	s := &stream{t: ev.t, resp: resp, frames: make(chan sseFrame, 1000), done: make(chan error, 1), cancel: cancel}
	ev.t.Cleanup(s.close)
	if resp.StatusCode != http.StatusOK {
		return s
	}
	go s.read()
	return s
}

func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

func (s *stream) read() {
	sc := bufio.NewScanner(s.resp.Body)
	var f sseFrame
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			s.frames <- f
			f = sseFrame{}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			f.Comment = value
		case "id":
			f.ID, f.HasID = value, true
		case "event":
			f.Event = value
		case "data":
			f.Data = value
		}
	}
	err := sc.Err()
	if err == nil {
		err = io.EOF
	}
	s.done <- err
}

// next returns the next frame, failing the test after 5 s.
func (s *stream) next() sseFrame {
	s.t.Helper()
	select {
	case f := <-s.frames:
		return f
	case err := <-s.done:
		s.t.Fatalf("stream ended (%v) while a frame was expected", err)
	case <-time.After(5 * time.Second):
		s.t.Fatal("no frame within 5s")
	}
	return sseFrame{}
}

// nextEvent skips comments and ID-only frames and returns the next event.
func (s *stream) nextEvent() (sseFrame, types.Event) {
	s.t.Helper()
	for {
		f := s.next()
		if f.Event == "" && f.Data == "" {
			continue
		}
		var e types.Event
		if err := json.Unmarshal([]byte(f.Data), &e); err != nil {
			s.t.Fatalf("data %q: %v", f.Data, err)
		}
		if f.ID != strconv.FormatInt(e.ID, 10) || f.Event != e.Type {
			s.t.Errorf("frame id %q event %q, data says %d %q", f.ID, f.Event, e.ID, e.Type)
		}
		return f, e
	}
}

// eventIDs reads n events and returns their IDs.
func (s *stream) eventIDs(n int) []int64 {
	s.t.Helper()
	var out []int64
	for range n {
		_, e := s.nextEvent()
		out = append(out, e.ID)
	}
	return out
}

// quiet checks that no event comes within d.
func (s *stream) quiet(d time.Duration) {
	s.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-s.frames:
			if f.Event != "" || f.Data != "" {
				s.t.Fatalf("unexpected event %+v", f)
			}
		case <-deadline:
			return
		}
	}
}

func TestEventsLiveDelivery(t *testing.T) {
	ev := newEventsEnv(t)
	ev.record(jobs.EventJobCreated, "before", nil)
	s := ev.open("")
	if ct := s.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := s.resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q", cc)
	}
	// A client that gave no position is told where it starts.
	if f := s.next(); !f.HasID || f.ID != "1" || f.Event != "" || f.Data != "" {
		t.Errorf("first frame = %+v, want only the ID 1", f)
	}

	created := ev.createJob(`{"name":"n","labels":{"team":"a"},"image":"busybox"}`)
	_, e := s.nextEvent()
	want := types.Event{ID: 2, Type: types.EventJobCreated, Time: testNow, JobID: created.ID, Tenant: auth.DefaultTenant,
		Labels: map[string]string{"team": "a"}, Phase: types.PhasePending}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("job.created (-want +got):\n%s", diff)
	}

	ev.rec.Record(t.Context(), jobs.Event{Time: testNow, Type: jobs.EventAttemptFinished, JobID: created.ID, Index: 0, Attempt: 1,
		State: jobs.AttemptFailed, ExitCode: ptr(3), Reason: jobs.AttemptReasonFailed, Message: "task: non-zero exit (3)"})
	ev.rec.Record(t.Context(), jobs.Event{Time: testNow, Type: jobs.EventPhaseChanged, JobID: created.ID, Phase: jobs.PhaseFailed, Reason: "BackoffLimitExceeded"})
	_, e = s.nextEvent()
	want = types.Event{ID: 3, Type: types.EventAttemptFinished, Time: testNow, JobID: created.ID, Index: ptr(0), Attempt: ptr(1),
		State: "failed", ExitCode: ptr(3), Reason: "Failed", Message: "task: non-zero exit (3)"}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("attempt.finished (-want +got):\n%s", diff)
	}
	if _, e := s.nextEvent(); e.ID != 4 || e.Type != types.EventPhaseChanged || e.Phase != "Failed" || e.Index != nil {
		t.Errorf("job.phase = %+v", e)
	}
}

func TestEventsReplay(t *testing.T) {
	ev := newEventsEnv(t)
	for i := range 5 {
		ev.record(jobs.EventPhaseChanged, fmt.Sprint("j", i), nil)
	}
	tests := []struct {
		name  string
		query string
		hdr   []string
		want  []int64
	}{
		{name: "Last-Event-ID", hdr: []string{"Last-Event-ID", "2"}, want: []int64{3, 4, 5}},
		{name: "since", query: "?since=3", want: []int64{4, 5}},
		{name: "since 0 is from the start", query: "?since=0", want: []int64{1, 2, 3, 4, 5}},
		{name: "the header wins over since", query: "?since=0", hdr: []string{"Last-Event-ID", "4"}, want: []int64{5}},
		{name: "an empty header does not count", query: "?since=4", hdr: []string{"Last-Event-ID", ""}, want: []int64{5}},
		{name: "up to date", query: "?since=5", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ev.open(tt.query, tt.hdr...)
			got := s.eventIDs(len(tt.want))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("replayed IDs (-want +got):\n%s", diff)
			}
			s.quiet(50 * time.Millisecond)
		})
	}

	t.Run("replay then live", func(t *testing.T) {
		s := ev.open("?since=4")
		if got := s.eventIDs(1); got[0] != 5 {
			t.Fatalf("replayed %v", got)
		}
		ev.record(jobs.EventJobDeleted, "j0", nil)
		if got := s.eventIDs(1); got[0] != 6 {
			t.Errorf("live event %v, want 6", got)
		}
	})
}

// TestEventsReplayManyPages replays more events than one store read returns.
func TestEventsReplayManyPages(t *testing.T) {
	ev := newEventsEnv(t)
	const n = 2*eventPage + 10
	for i := range n {
		ev.record(jobs.EventPhaseChanged, fmt.Sprint("j", i), nil)
	}
	s := ev.open("?since=5")
	got := s.eventIDs(n - 5)
	for i, id := range got {
		if id != int64(i+6) {
			t.Fatalf("event %d has ID %d, want %d", i, id, i+6)
		}
	}
}

func TestEventsReset(t *testing.T) {
	ev := newEventsEnv(t)
	for i := range 5 {
		ev.record(jobs.EventPhaseChanged, fmt.Sprint("j", i), nil)
	}
	ev.evstore.dropThrough(3) // kept: 4 and 5
	tests := []struct {
		name      string
		since     string
		wantReset string // part of the message; "" for no reset
		want      []int64
	}{
		{name: "missed pruned events", since: "1", wantReset: "the events after 1 are no longer kept; the oldest kept is 4"},
		{name: "from the start, some pruned", since: "0", wantReset: "the events after 0 are no longer kept"},
		{name: "the last pruned one was seen", since: "3", want: []int64{4, 5}},
		{name: "an ID from elsewhere", since: "99", wantReset: "event 99 is unknown to this server, whose last event is 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ev.open("", "Last-Event-ID", tt.since)
			if tt.wantReset == "" {
				if diff := cmp.Diff(tt.want, s.eventIDs(len(tt.want))); diff != "" {
					t.Errorf("IDs (-want +got):\n%s", diff)
				}
				return
			}
			f, e := s.nextEvent()
			if f.ID != "5" || e.Type != types.EventReset || e.ID != 5 || e.JobID != "" {
				t.Errorf("reset frame %+v, event %+v; want a reset with ID 5", f, e)
			}
			if !strings.Contains(e.Message, tt.wantReset) || !strings.Contains(e.Message, "list the jobs again") {
				t.Errorf("reset message %q, want it to contain %q", e.Message, tt.wantReset)
			}
			s.quiet(50 * time.Millisecond)
		})
	}

	t.Run("the stream continues after the reset", func(t *testing.T) {
		s := ev.open("?since=1")
		if _, e := s.nextEvent(); e.Type != types.EventReset {
			t.Fatalf("first event %+v, want a reset", e)
		}
		ev.record(jobs.EventJobCreated, "new", nil)
		if _, e := s.nextEvent(); e.ID != 6 || e.JobID != "new" {
			t.Errorf("after the reset: %+v, want event 6", e)
		}
	})

	t.Run("events pruned while replaying", func(t *testing.T) {
		ev := newEventsEnv(t)
		ev.record(jobs.EventJobCreated, "a", nil)
		s := ev.open("?since=1")
		s.quiet(20 * time.Millisecond)
		// The client is at 1; 2 and 3 come and go, and 1 with them,
		// before it reads them.
		ev.evstore.mu.Lock()
		ev.evstore.last += 2
		ev.evstore.events = nil
		ev.evstore.mu.Unlock()
		ev.record(jobs.EventJobCreated, "b", nil)
		_, e := s.nextEvent()
		if e.Type != types.EventReset || e.ID != 4 || !strings.Contains(e.Message, "the events after 1 are no longer kept; the oldest kept is 4") {
			t.Errorf("got %+v, want a reset at 4", e)
		}
	})
}

func TestEventsFilters(t *testing.T) {
	ev := newEventsEnv(t, func(c *Config) { c.EventHeartbeat = 20 * time.Millisecond })
	ev.record(jobs.EventJobCreated, "a", map[string]string{"team": "x", "env": "prod"})
	ev.record(jobs.EventJobCreated, "b", map[string]string{"team": "y"})
	ev.record(jobs.EventPhaseChanged, "a", map[string]string{"team": "x", "env": "prod"})
	ev.record(jobs.EventJobCreated, "c", nil)
	tests := []struct {
		query string
		want  []int64
	}{
		{"?since=0&job=a", []int64{1, 3}},
		{"?since=0&job=b", []int64{2}},
		{"?since=0&job=nope", nil},
		{"?since=0&label=team=x", []int64{1, 3}},
		{"?since=0&label=team!=x", []int64{2, 4}},
		{"?since=0&label=!team", []int64{4}},
		{"?since=0&label=team,env!=prod", []int64{2}},
		{"?since=0&label=team&label=!env", []int64{2}},
		{"?since=0&job=a&label=team=y", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			s := ev.open(tt.query)
			if diff := cmp.Diff(tt.want, s.eventIDs(len(tt.want))); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
			s.quiet(30 * time.Millisecond)
		})
	}

	t.Run("keep-alives move the position past filtered events", func(t *testing.T) {
		s := ev.open("?since=2&job=b")
		deadline := time.After(5 * time.Second)
		for {
			select {
			case f := <-s.frames:
				if f.Event != "" {
					t.Fatalf("unexpected event %+v", f)
				}
				if f.HasID {
					if f.ID != "4" {
						t.Errorf("position %q, want 4", f.ID)
					}
					return
				}
			case <-deadline:
				t.Fatal("no frame moved the position within 5s")
			}
		}
	})
}

func TestEventsKeepAlive(t *testing.T) {
	ev := newEventsEnv(t, func(c *Config) { c.EventHeartbeat = 10 * time.Millisecond })
	s := ev.open("?since=0")
	comments := 0
	for comments < 3 {
		if f := s.next(); f.Comment == "keep-alive" {
			comments++
		} else if f.Event != "" {
			t.Fatalf("unexpected event %+v", f)
		}
	}
}

func TestEventsBadRequests(t *testing.T) {
	ev := newEventsEnv(t)
	tests := []struct {
		name  string
		query string
		hdr   []string
		want  string
	}{
		{name: "negative since", query: "?since=-1", want: `since: must be a non-negative event ID, got "-1"`},
		{name: "since not a number", query: "?since=abc", want: `since: must be a non-negative event ID, got "abc"`},
		{name: "bad Last-Event-ID", hdr: []string{"Last-Event-ID", "x1"}, want: `Last-Event-ID: must be a non-negative event ID, got "x1"`},
		{name: "bad selector", query: "?label==x", want: `label: requirement "=x": key is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, ev.do(http.MethodGet, "/v1/events"+tt.query, "", tt.hdr...), 400, types.CodeInvalid, tt.want)
		})
	}
}

func TestEventsWithoutLog(t *testing.T) {
	e := newTestEnv(t)
	wantError(t, e.do(http.MethodGet, "/v1/events", ""), http.StatusServiceUnavailable, types.CodeUnavailable, "events: this server keeps no events stream")
	// Submitting works without one.
	e.createJob(`{"image":"busybox"}`)
}

func TestEventsHead(t *testing.T) {
	ev := newEventsEnv(t)
	rec := ev.do(http.MethodHead, "/v1/events", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/event-stream" || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}

// waitHandler waits until a handler of path returned.
func (ev *eventsEnv) waitHandler(path string) {
	ev.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-ev.handlerDone:
			if p == path {
				return
			}
		case <-deadline:
			ev.t.Fatalf("the handler of %s did not return within 5s", path)
		}
	}
}

func TestEventsStreamEnds(t *testing.T) {
	t.Run("client disconnects", func(t *testing.T) {
		ev := newEventsEnv(t)
		s := ev.open("")
		s.next()
		s.close()
		ev.waitHandler("/v1/events")
	})
	t.Run("server shuts down", func(t *testing.T) {
		ev := newEventsEnv(t)
		s := ev.open("")
		s.next()
		ev.cancelAll(ErrShuttingDown)
		ev.waitHandler("/v1/events")
		select {
		case err := <-s.done:
			if !errors.Is(err, io.EOF) {
				t.Errorf("stream ended with %v, want a clean end", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the client did not see the stream end")
		}
	})
	t.Run("store fails", func(t *testing.T) {
		ev := newEventsEnv(t)
		// Stored by an earlier run of the server: not in the recorder's
		// tail, so the stream reads the store for it.
		if _, err := ev.evstore.AppendEvent(context.Background(), jobs.Event{Time: testNow, Type: jobs.EventJobCreated, JobID: "j"}); err != nil {
			t.Fatal(err)
		}
		ev.evstore.setFailRead(errors.New("disk on fire"))
		s := ev.open("?since=0")
		ev.waitHandler("/v1/events")
		select {
		case err := <-s.done:
			if errors.Is(err, io.EOF) {
				t.Error("the stream ended cleanly; a failed read must cut it, so that the client reconnects")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the client did not see the stream cut")
		}
		if rec := ev.logs.findRecord(t, "events stream aborted"); rec == nil {
			t.Error("the failure was not logged")
		}
	})
}
