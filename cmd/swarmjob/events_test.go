package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventsServer serves GET /v1/events with a fixed stream and records what
// the CLI asked for. With hold, the stream stays open until the request ends.
type eventsServer struct {
	body string
	hold bool
	// cut aborts the response after the body, as a crashed server does.
	cut bool

	mu     sync.Mutex
	query  string
	lastID string
}

func (s *eventsServer) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events" {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.query, s.lastID = r.URL.RawQuery, r.Header.Get("Last-Event-ID")
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, s.body)
		w.(http.Flusher).Flush()
		if s.cut {
			panic(http.ErrAbortHandler)
		}
		if s.hold {
			<-r.Context().Done()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const eventsStream = ": keep-alive\n\n" +
	"id: 41\n\n" +
	"id: 42\nevent: job.created\n" +
	`data: {"id":42,"type":"job.created","time":"2026-01-02T03:04:05.5Z","jobId":"j1","labels":{"team":"a"},"phase":"Pending"}` + "\n\n" +
	"id: 43\nevent: attempt.finished\n" +
	`data: {"id":43,"type":"attempt.finished","time":"2026-01-02T03:04:06Z","jobId":"j1","index":0,"attempt":1,"state":"failed","exitCode":3,"reason":"Failed","message":"task: non-zero exit (3)\nmore"}` + "\n\n" +
	"id: 50\nevent: reset\n" +
	`data: {"id":50,"type":"reset","time":"2026-01-02T03:04:07Z","message":"list the jobs again"}` + "\n\n" +
	"id: 51\n\n"

func TestEventsCommand(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
		wantQuery  string
		wantLastID string
	}{
		{
			name: "text",
			args: []string{"events"},
			wantStdout: "2026-01-02T03:04:05.5Z 42 job.created j1 phase=Pending\n" +
				`2026-01-02T03:04:06Z 43 attempt.finished j1 index=0 attempt=1 state=failed exit=3 reason=Failed message="task: non-zero exit (3)\nmore"` + "\n" +
				`2026-01-02T03:04:07Z 50 reset - message="list the jobs again"` + "\n",
			wantCode:   1,
			wantStderr: "swarmjob: the server ended the event stream; resume with --since 51\n",
		},
		{
			name:      "filters and position",
			args:      []string{"events", "--job", "j1", "--label", "team=a", "--label", "!urgent", "--since", "40", "-o", "json"},
			wantQuery: "job=j1&label=team%3Da%2C%21urgent", wantLastID: "40",
			wantStdout: `{"id":42,"type":"job.created","time":"2026-01-02T03:04:05.5Z","jobId":"j1","labels":{"team":"a"},"phase":"Pending"}` + "\n" +
				`{"id":43,"type":"attempt.finished","time":"2026-01-02T03:04:06Z","jobId":"j1","reason":"Failed","index":0,"attempt":1,"state":"failed","exitCode":3,"message":"task: non-zero exit (3)\nmore"}` + "\n" +
				`{"id":50,"type":"reset","time":"2026-01-02T03:04:07Z","message":"list the jobs again"}` + "\n",
			wantCode:   1,
			wantStderr: "swarmjob: the server ended the event stream; resume with --since 51\n",
		},
		{
			name:       "since 0",
			args:       []string{"events", "--since", "0", "-o", "json"},
			wantLastID: "0",
			wantCode:   1,
		},
		{name: "negative since", args: []string{"events", "--since", "-1"}, wantCode: 2,
			wantStderr: "swarmjob: --since: must not be negative, got -1\nRun 'swarmjob events --help' for usage.\n"},
		{name: "unknown output", args: []string{"events", "-o", "yaml"}, wantCode: 2,
			wantStderr: "swarmjob: --output: must be text or json, got \"yaml\"\nRun 'swarmjob events --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &eventsServer{body: eventsStream}
			url := s.start(t)
			code, stdout, stderr := runCLI(t, t.Context(), url, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if tt.wantStdout != "" && stdout != tt.wantStdout {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout, tt.wantStdout)
			}
			if tt.wantStderr != "" && stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			if tt.wantCode == 2 {
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.query != tt.wantQuery || s.lastID != tt.wantLastID {
				t.Errorf("request query %q, Last-Event-ID %q; want %q, %q", s.query, s.lastID, tt.wantQuery, tt.wantLastID)
			}
		})
	}
}

// TestEventsCommandInterrupted: the stream ends with Ctrl-C, which is how
// one stops it, so it exits 0 with what it printed.
func TestEventsCommandInterrupted(t *testing.T) {
	s := &eventsServer{body: eventsStream[:len(eventsStream)-len("id: 51\n\n")], hold: true}
	url := s.start(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	code, stdout, stderr := runCLI(t, ctx, url, "events", "-o", "json")
	if code != 0 || stderr != "" {
		t.Errorf("exit code %d, stderr %q; want 0 and nothing", code, stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 3 {
		t.Errorf("printed %d lines, want 3:\n%s", n, stdout)
	}
}

func TestLsFlagErrors(t *testing.T) {
	tests := []struct {
		args       []string
		wantStderr string
	}{
		{[]string{"ls", "--order", "newest"}, "swarmjob: --order: must be asc or desc, got \"newest\"\nRun 'swarmjob ls --help' for usage.\n"},
		{[]string{"ls", "--created-after", "yesterday"}, "swarmjob: --created-after: must be an RFC 3339 time such as 2026-01-02T15:04:05Z or a duration such as 2h, got \"yesterday\"\nRun 'swarmjob ls --help' for usage.\n"},
		{[]string{"ls", "--created-before", "-2h"}, "swarmjob: --created-before: must be an RFC 3339 time"},
	}
	for _, tt := range tests {
		t.Run(tt.args[1], func(t *testing.T) {
			f, srv := newFakeAPI(t)
			code, _, stderr := runCLI(t, t.Context(), srv.URL, tt.args...)
			if code != 2 || !strings.HasPrefix(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.wantStderr)
			}
			if q := f.calls().Queries; len(q) != 0 {
				t.Errorf("the server was asked %v", q)
			}
		})
	}
}

func TestParseTimeFlag(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2h", now.Add(-2 * time.Hour)},
		{"90s", now.Add(-90 * time.Second)},
		{"0s", now},
		{"2026-01-01T10:00:00+02:00", time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)},
		{"2026-01-01T10:00:00.123456789Z", time.Date(2026, 1, 1, 10, 0, 0, 123456789, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseTimeFlag("--x", tt.in, now)
		if err != nil {
			t.Errorf("parseTimeFlag(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("parseTimeFlag(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// A stream cut short (the server crashed) says where to resume.
func TestEventsCommandCutStream(t *testing.T) {
	s := &eventsServer{body: eventsStream, cut: true}
	code, _, stderr := runCLI(t, t.Context(), s.start(t), "events")
	if code != 1 || !strings.Contains(stderr, "resume with --since 51") || strings.Contains(stderr, "the server ended") {
		t.Errorf("exit %d, stderr %q; want exit 1 saying the stream broke and where to resume", code, stderr)
	}
}
