package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
)

// eventPage is how many stored events GET /v1/events reads at a time.
const eventPage = 256

// eventWriteTimeout bounds one write to an events client, so that a client
// that stopped reading does not hold its handler forever.
const eventWriteTimeout = 30 * time.Second

// eventQuery is the parsed request of GET /v1/events.
type eventQuery struct {
	// who may see the events: a tenant sees its own jobs' events only.
	who auth.Principal
	// after is the ID of the last event the client saw; hasAfter tells
	// whether it gave one (Last-Event-ID or ?since) at all.
	after    int64
	hasAfter bool
	jobID    string
	selector jobs.Selector
}

// parseEventQuery reads ?job=ID, ?label=SELECTOR (repeatable) and the
// position to resume from: the Last-Event-ID header or, without it, ?since.
// The header wins, since a reconnecting EventSource sends it with the URL
// it first used.
func parseEventQuery(r *http.Request) (eventQuery, error) {
	q := r.URL.Query()
	eq := eventQuery{jobID: q.Get("job")}
	var err error
	if eq.selector, err = parseSelectorParam(q); err != nil {
		return eventQuery{}, err
	}
	name, v := types.HeaderLastEventID, r.Header.Get(types.HeaderLastEventID)
	if v == "" {
		name, v = "since", q.Get("since")
	}
	if v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return eventQuery{}, jobs.Errorf(jobs.EINVALID, "%s: must be a non-negative event ID, got %q", name, v)
		}
		eq.after, eq.hasAfter = n, true
	}
	return eq, nil
}

func (q eventQuery) matches(e jobs.Event) bool {
	return q.who.CanSee(e.Tenant, "") && (q.jobID == "" || e.JobID == q.jobID) && q.selector.Matches(e.Labels)
}

// handleEvents serves GET /v1/events as Server-Sent Events: each event is
// sent with "id:" (its ID), "event:" (its type) and "data:" (a types.Event
// as JSON). Without a position it starts with the next event; with
// Last-Event-ID or ?since it first replays every kept event after that ID,
// page by page. A tenant's token is sent the events of its own jobs only; an
// admin's, every event. When events after that ID are no longer kept, or the ID is
// unknown, it sends one "reset" event instead, whose ID is the last event's,
// and continues from there. ?job and ?label filter the events sent.
//
// It then waits for the events log to announce new events rather than
// polling the store, sends a keep-alive every heartbeat while nothing comes
// (an "id:" line without data when filtered events moved the client's
// position, so that a reconnect does not replay them), flushes after each
// batch, and ends when the client goes away or the server shuts down.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if s.eventLog == nil {
		s.writeError(w, r, jobs.Errorf(jobs.EUNAVAIL, "events: this server keeps no events stream"))
		return
	}
	q, err := parseEventQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q.who = requestPrincipal(r)
	ctx := r.Context()
	var reset *types.Event
	after, err := s.eventLog.LastEventID(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.hasAfter {
		if reset, err = s.checkMissed(ctx, q.after, after); err != nil {
			s.writeError(w, r, err)
			return
		}
		after = q.after
		if reset != nil {
			after = reset.ID
		}
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	// Reverse proxies such as nginx must not buffer the stream.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	out := &sseWriter{w: w, rc: http.NewResponseController(w), sent: -1}
	if q.hasAfter {
		out.sent = q.after
	}
	if reset != nil {
		out.event(*reset)
	}
	// At once, so that the client sees the stream open; and a client that
	// gave no position learns it, to resume from it.
	out.keepAlive(after)
	if err := out.flush(); err != nil {
		return
	}

	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	for {
		// Taken before the read: an event recorded after the read
		// closes it.
		changed := s.eventLog.Changed()
		events, err := s.eventLog.ReadEvents(ctx, after, eventPage)
		if err == nil && len(events) > 0 && events[0].ID != after+1 {
			// A gap: the events after ours may have been pruned while
			// this client lagged behind.
			var reset *types.Event
			if reset, err = s.checkMissed(ctx, after, events[len(events)-1].ID); err == nil && reset != nil {
				out.event(*reset)
				after, events = reset.ID, nil
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Cut the stream: the client reconnects with its
			// Last-Event-ID and misses nothing.
			s.log.LogAttrs(ctx, slog.LevelWarn, "events stream aborted", slog.Any("err", err))
			panic(http.ErrAbortHandler)
		}
		for _, e := range events {
			after = e.ID
			if q.matches(e) {
				out.event(eventToWire(e))
			}
		}
		if err := out.flush(); err != nil {
			return
		}
		if len(events) == eventPage {
			continue
		}
		if !s.waitForEvents(ctx, changed, heartbeat.C, out, after) {
			return
		}
	}
}

// waitForEvents blocks until changed is closed (true), or until ctx ends or
// a keep-alive cannot be written (false). It sends a keep-alive at every
// tick.
func (s *Server) waitForEvents(ctx context.Context, changed <-chan struct{}, tick <-chan time.Time, out *sseWriter, after int64) bool {
	for {
		select {
		case <-changed:
			return true
		case <-ctx.Done():
			return false
		case <-tick:
			out.keepAlive(after)
			if err := out.flush(); err != nil {
				return false
			}
		}
	}
}

// checkMissed returns the reset event for a client that has seen the events
// up to ID after, when events it has not seen are no longer kept or after is
// above last, the last ID assigned; nil when it missed nothing.
func (s *Server) checkMissed(ctx context.Context, after, last int64) (*types.Event, error) {
	oldest, err := s.eventLog.OldestEventID(ctx)
	if err != nil {
		return nil, err
	}
	var msg string
	switch {
	case after > last:
		msg = fmt.Sprintf("event %d is unknown to this server, whose last event is %d", after, last)
	case after+1 < oldest:
		msg = fmt.Sprintf("the events after %d are no longer kept; the oldest kept is %d", after, oldest)
	default:
		return nil, nil
	}
	// The stream resumes after the last event now, which may be above
	// last when events came meanwhile.
	if last, err = s.eventLog.LastEventID(ctx); err != nil {
		return nil, err
	}
	return &types.Event{
		ID:      last,
		Type:    types.EventReset,
		Time:    s.now().UTC(),
		Message: msg + "; list the jobs again, then follow the events after this one",
	}, nil
}

// sseWriter buffers Server-Sent Events and writes them out in one write and
// one flush per batch.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf bytes.Buffer
	// sent is the last ID the client was given.
	sent int64
}

// event buffers e with its ID and type.
func (o *sseWriter) event(e types.Event) {
	data, err := json.Marshal(e)
	if err != nil {
		// The wire types always encode.
		data = []byte(`{}`)
	}
	fmt.Fprintf(&o.buf, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
	o.sent = e.ID
}

// keepAlive buffers a comment, or an event with only an ID when the client
// has not been given after yet: it dispatches nothing, but moves the
// client's last event ID past the events the filters left out.
func (o *sseWriter) keepAlive(after int64) {
	if after != o.sent {
		fmt.Fprintf(&o.buf, "id: %d\n\n", after)
		o.sent = after
		return
	}
	o.buf.WriteString(": keep-alive\n\n")
}

// flush writes what is buffered, if anything, and flushes the connection.
func (o *sseWriter) flush() error {
	if o.buf.Len() == 0 {
		return nil
	}
	if err := o.rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	_, err := o.w.Write(o.buf.Bytes())
	o.buf.Reset()
	if err != nil {
		return err
	}
	if err := o.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
