package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/swarmjob/swarmjob/api/types"
)

// maxEventLine bounds one line of the event stream; events are far smaller.
const maxEventLine = 1 << 20

// EventsOptions select what Events streams. The zero value streams every
// event from the next one on.
type EventsOptions struct {
	// Since resumes after the event with this ID: the server first replays
	// every event after it that it still keeps, or sends a reset when it no
	// longer keeps them all. Nil starts with the next event.
	Since *int64
	// JobID keeps only the events of this job.
	JobID string
	// Labels is a label selector on the labels of the job an event is
	// about, such as "team=data,env!=dev".
	Labels string
}

// Events opens the events stream (GET /v1/events, Server-Sent Events). It
// returns once the server has accepted the request; read the events with
// Next and Close the stream when done. It does not reconnect: when the
// stream ends, open a new one with Since set to the stream's LastEventID to
// miss nothing. The stream ends when ctx does.
func (c *Client) Events(ctx context.Context, opts EventsOptions) (*EventStream, error) {
	q := url.Values{}
	if opts.JobID != "" {
		q.Set("job", opts.JobID)
	}
	if opts.Labels != "" {
		q.Set("label", opts.Labels)
	}
	var hdr http.Header
	if opts.Since != nil {
		hdr = http.Header{types.HeaderLastEventID: {strconv.FormatInt(*opts.Since, 10)}}
	}
	// The body outlives this call: EventStream.Close closes it.
	resp, err := c.sendWith(ctx, http.MethodGet, c.path("v1", "events"), q, nil, "text/event-stream", hdr) //nolint:bodyclose
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), maxEventLine)
	s := &EventStream{ctx: ctx, body: resp.Body, sc: sc}
	if opts.Since != nil {
		s.last, s.hasLast = *opts.Since, true
	}
	return s, nil
}

// EventStream is an open events stream, returned by Events. Its methods are
// not safe for concurrent use, except Close, which ends a Next that blocks.
type EventStream struct {
	ctx  context.Context
	body io.ReadCloser
	sc   *bufio.Scanner
	// last is the last event ID the server sent, with or without an
	// event; hasLast tells whether there is one.
	last    int64
	hasLast bool
}

// Next blocks until the next event and returns it. An event of type
// types.EventReset means that events were missed, as the server no longer
// keeps them: list the jobs again, then go on reading. Next returns io.EOF
// when the server ended the stream (it shuts down, for example), ctx's error
// when ctx ended, and another error when the stream broke or held something
// that is not an event.
func (s *EventStream) Next() (types.Event, error) {
	var (
		typ     string
		data    bytes.Buffer
		id      int64
		hasID   bool
		hasData bool
	)
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if len(line) == 0 {
			// The end of a message: its ID counts even without data,
			// which is how the server moves a client past events that
			// its filters left out.
			if hasID {
				s.last, s.hasLast = id, true
			}
			if hasData {
				return decodeEvent(typ, id, hasID, data.Bytes())
			}
			typ, hasID = "", false
			continue
		}
		field, value, _ := strings.Cut(string(line), ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			// A comment: the server's keep-alive.
		case "id":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return types.Event{}, fmt.Errorf("reading events: malformed event ID %q", value)
			}
			id, hasID = n, true
		case "event":
			typ = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		}
	}
	if err := s.ctx.Err(); err != nil {
		return types.Event{}, err
	}
	if err := s.sc.Err(); err != nil {
		return types.Event{}, fmt.Errorf("reading events: %w", err)
	}
	// A message cut short by the end is dropped, as EventSource does.
	return types.Event{}, io.EOF
}

func decodeEvent(typ string, id int64, hasID bool, data []byte) (types.Event, error) {
	var e types.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return types.Event{}, fmt.Errorf("reading events: decoding event %d: %w", id, err)
	}
	if e.Type == "" {
		e.Type = typ
	}
	if e.ID == 0 && hasID {
		e.ID = id
	}
	return e, nil
}

// LastEventID returns the ID of the last event the server sent, or the
// position it moved the stream to, or Since: pass it as Since to resume
// where this stream ended. ok is false when there is none yet.
func (s *EventStream) LastEventID() (id int64, ok bool) {
	return s.last, s.hasLast
}

// Close ends the stream and releases its connection.
func (s *EventStream) Close() error {
	err := s.body.Close()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
