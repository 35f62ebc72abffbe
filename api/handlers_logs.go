package api

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/results"
)

// LiveLogs reads a Swarm service's log stream from the Engine; the moby
// client satisfies it. The API uses it only to relay the output of running
// attempts to GET /v1/jobs/{id}/logs?follow=true, and calls it concurrently
// from request handlers.
type LiveLogs interface {
	ServiceLogs(ctx context.Context, serviceID string, options client.ServiceLogsOptions) (client.ServiceLogsResult, error)
}

var _ LiveLogs = (*client.Client)(nil)

// logOptions are the parsed query of GET /v1/jobs/{id}/logs.
type logOptions struct {
	query      jobs.LogQuery
	timestamps bool
	follow     bool
	// since drops lines stamped before it; zero keeps every line.
	since time.Time
	// tail keeps only the last tail lines of the selection as it is when
	// the request arrives; negative keeps all.
	tail int
}

// parseLogOptions reads ?stream=stdout|stderr|all (default all),
// ?index=N (default all indexes), ?attempt=N (default all attempts),
// ?timestamps=true|false (default false), ?follow=true|false (default
// false), ?since=<RFC 3339 time or duration before now> and ?tail=N|all
// (default all).
func parseLogOptions(id string, q url.Values, now time.Time) (logOptions, error) {
	o := logOptions{query: jobs.LogQuery{JobID: id}, tail: -1}
	switch st := q.Get("stream"); st {
	case "", "all":
		o.query.Stdout, o.query.Stderr = true, true
	case "stdout":
		o.query.Stdout = true
	case "stderr":
		o.query.Stderr = true
	default:
		return logOptions{}, jobs.Errorf(jobs.EINVALID, "stream: must be one of stdout, stderr, all, got %q", st)
	}
	if i := q.Get("index"); i != "" {
		n, err := strconv.Atoi(i)
		if err != nil || n < 0 {
			return logOptions{}, jobs.Errorf(jobs.EINVALID, "index: must be a non-negative integer, got %q", i)
		}
		o.query.Index = &n
	}
	if a := q.Get("attempt"); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return logOptions{}, jobs.Errorf(jobs.EINVALID, "attempt: must be a non-negative integer, got %q", a)
		}
		o.query.Attempt = &n
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"timestamps", &o.timestamps}, {"follow", &o.follow}} {
		if v := q.Get(b.name); v != "" {
			parsed, err := strconv.ParseBool(v)
			if err != nil {
				return logOptions{}, jobs.Errorf(jobs.EINVALID, "%s: must be true or false, got %q", b.name, v)
			}
			*b.dst = parsed
		}
	}
	if v := q.Get("since"); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			o.since = t
		} else if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			o.since = now.Add(-d)
		} else {
			return logOptions{}, jobs.Errorf(jobs.EINVALID, "since: must be an RFC 3339 time such as 2026-11-26T08:00:00Z or a duration before now such as 10m, got %q", v)
		}
	}
	if v := q.Get("tail"); v != "" && v != "all" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return logOptions{}, jobs.Errorf(jobs.EINVALID, "tail: must be a non-negative integer or all, got %q", v)
		}
		o.tail = n
	}
	return o, nil
}

// keeps reports whether the line that s starts is selected: of a selected
// stream, and not stamped before since. A line whose stamp does not parse
// is kept.
func (o *logOptions) keeps(s results.Segment) bool {
	if (s.Stream == jobs.Stderr && !o.query.Stderr) || (s.Stream != jobs.Stderr && !o.query.Stdout) {
		return false
	}
	if o.since.IsZero() {
		return true
	}
	t, err := time.Parse(time.RFC3339Nano, string(s.Stamp))
	return err != nil || !t.Before(o.since)
}

// handleJobLogs serves GET /v1/jobs/{id}/logs as text/plain.
//
// Without follow it streams the stored output of the attempts recorded
// finished, chunk by chunk from the store. With follow it also relays
// running attempts from the Engine and keeps going, attempt after attempt,
// until the job is terminal (see follow). Errors found before the first
// byte is sent are JSON errors; a failure after that aborts the response,
// so that the client sees a broken transfer rather than logs that merely
// look short. A followed response has its header sent at once, so a
// follower learns early that the request was accepted.
func (s *Server) handleJobLogs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	opts, err := parseLogOptions(id, r.URL.Query(), s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A HEAD answer has no body to follow.
	opts.follow = opts.follow && r.Method != http.MethodHead
	job, err := s.getJob(ctx, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkLogSelection(job, opts.query); err != nil {
		s.writeError(w, r, err)
		return
	}
	ls := &logStream{s: s, id: id, opts: opts, out: newLogOutput(w)}
	if opts.tail >= 0 {
		if ls.skip, err = ls.tailSkips(ctx, job); err != nil {
			s.writeError(w, r, err)
			return
		}
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if opts.follow {
		w.WriteHeader(http.StatusOK)
		if err = ls.out.flush(); err == nil {
			err = ls.follow(ctx)
		}
	} else {
		err = ls.writeStored(ctx, job)
	}
	switch {
	case err == nil:
		if !ls.out.started && !opts.follow {
			w.WriteHeader(http.StatusOK)
		}
	case !ls.out.started && !opts.follow:
		s.writeError(w, r, err)
	default:
		level := slog.LevelWarn
		if ctx.Err() != nil || jobs.IsNotFound(err) {
			// The client left, the server is stopping, or the job was
			// deleted: nothing is wrong with the server.
			level = slog.LevelDebug
		}
		s.log.LogAttrs(ctx, level, "log stream aborted", slog.String("job", id), slog.Any("err", err))
		panic(http.ErrAbortHandler)
	}
}

// checkLogSelection returns ENOTFOUND when q names an index the job cannot
// have (Indexed: not below completions; NonIndexed: other than 0) or an
// attempt it never recorded (of that index, when q names one). An index
// that has no attempt yet is not an error: it has no output yet.
func checkLogSelection(j *jobs.Job, q jobs.LogQuery) error {
	if i := q.Index; i != nil {
		switch {
		case j.Spec.CompletionMode == jobs.Indexed && *i >= j.Spec.Completions:
			return jobs.Errorf(jobs.ENOTFOUND, "job %q has no index %d: its indexes are 0 to %d", j.ID, *i, j.Spec.Completions-1)
		case j.Spec.CompletionMode != jobs.Indexed && *i != 0:
			return jobs.Errorf(jobs.ENOTFOUND, "job %q has no index %d: a NonIndexed job runs every attempt as index 0", j.ID, *i)
		}
	}
	if n := q.Attempt; n != nil && !hasAttempt(j, q.Index, *n) {
		if q.Index != nil {
			return jobs.Errorf(jobs.ENOTFOUND, "job %q has no attempt %d of index %d", j.ID, *n, *q.Index)
		}
		return jobs.Errorf(jobs.ENOTFOUND, "job %q has no attempt %d", j.ID, *n)
	}
	return nil
}

// hasAttempt reports whether the job recorded an attempt with number n, of
// index *index when index is not nil.
func hasAttempt(j *jobs.Job, index *int, n int) bool {
	for _, a := range j.Status.Attempts {
		if a.Attempt == n && (index == nil || a.Index == *index) {
			return true
		}
	}
	return false
}

// selectedAttempts returns the job's attempts that q selects, ordered by
// index, then attempt number: the order in which logs are served.
func selectedAttempts(j *jobs.Job, q jobs.LogQuery) []jobs.Attempt {
	var out []jobs.Attempt
	for _, a := range j.Status.Attempts {
		if (q.Index == nil || a.Index == *q.Index) && (q.Attempt == nil || a.Attempt == *q.Attempt) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y jobs.Attempt) int {
		return cmp.Or(cmp.Compare(x.Index, y.Index), cmp.Compare(x.Attempt, y.Attempt))
	})
	return out
}

// logWriteWindow is how long one write of a log response may block before
// the connection is cut; the deadline moves forward as writes succeed, so a
// long follow is not cut, but a client that stops reading is.
const logWriteWindow = time.Minute

// logOutput is the body of a logs response. It remembers whether anything
// was written and whether the output ends inside a line, and keeps the
// connection's write deadline ahead of every write.
type logOutput struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	midLine bool
	// deadline is the write deadline last set; zero before the first.
	deadline time.Time
}

func newLogOutput(w http.ResponseWriter) *logOutput {
	return &logOutput{w: w, rc: http.NewResponseController(w)}
}

func (o *logOutput) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if err := o.extendDeadline(); err != nil {
		return err
	}
	o.started = true
	o.midLine = p[len(p)-1] != '\n'
	_, err := o.w.Write(p)
	return err
}

// flush sends what was written; a writer that cannot flush is not an error.
func (o *logOutput) flush() error {
	if err := o.extendDeadline(); err != nil {
		return err
	}
	if err := o.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// extendDeadline moves the write deadline to logWriteWindow from now once
// half of the window has passed, so that a write never runs against a
// deadline set long ago.
func (o *logOutput) extendDeadline() error {
	now := time.Now()
	if !o.deadline.IsZero() && o.deadline.Sub(now) > logWriteWindow/2 {
		return nil
	}
	o.deadline = now.Add(logWriteWindow)
	if err := o.rc.SetWriteDeadline(o.deadline); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// attemptWriter writes the output of one attempt: it picks the lines that
// the options select (stream, since, tail), renders them, and ends the
// previous attempt's unterminated last line before its first byte, so that
// one attempt's partial line does not swallow the next attempt's first one.
type attemptWriter struct {
	out  *logOutput
	opts *logOptions
	// skip is how many selected lines to drop from the start (tail).
	skip int64
	// keep tells, per stream, whether the current line is written.
	keep  [3]bool
	wrote bool
	buf   []byte
}

// segment writes s when its line is kept. A line's fate is decided at its
// first segment.
func (a *attemptWriter) segment(s results.Segment) error {
	st := jobs.Stdout
	if s.Stream == jobs.Stderr {
		st = jobs.Stderr
	}
	if s.Start {
		a.keep[st] = a.opts.keeps(s)
		if a.keep[st] && a.skip > 0 {
			a.skip--
			a.keep[st] = false
		}
	}
	if !a.keep[st] {
		return nil
	}
	a.buf = a.buf[:0]
	if !a.wrote {
		a.wrote = true
		if a.out.midLine {
			a.buf = append(a.buf, '\n')
		}
	}
	a.buf = results.AppendSegment(a.buf, s, a.opts.timestamps)
	return a.out.write(a.buf)
}

// attemptKey names an attempt within a job.
type attemptKey struct{ index, attempt int }

func keyOf(a jobs.Attempt) attemptKey { return attemptKey{a.Index, a.Attempt} }

// logStream writes one response of GET /v1/jobs/{id}/logs.
type logStream struct {
	s    *Server
	id   string
	opts logOptions
	out  *logOutput
	// skip holds, per attempt, how many selected lines tail drops from its
	// start; nil without tail.
	skip map[attemptKey]int64
}

func (l *logStream) newAttemptWriter(a jobs.Attempt) *attemptWriter {
	return &attemptWriter{out: l.out, opts: &l.opts, skip: l.skip[keyOf(a)]}
}

// writeStored writes the stored output of the selected attempts that are
// recorded finished, in order. An attempt not finished has no output yet:
// the controller stores it only when the attempt ends.
func (l *logStream) writeStored(ctx context.Context, job *jobs.Job) error {
	for _, a := range selectedAttempts(job, l.opts.query) {
		if !a.Finished() {
			continue
		}
		if err := l.writeAttemptStored(ctx, a, l.newAttemptWriter(a), nil); err != nil {
			return err
		}
	}
	return nil
}

// writeAttemptStored writes the stored output of attempt a through aw,
// flushing after each stored chunk. When seen is not nil, the part of the
// output it covers (relayed live already) is left out.
func (l *logStream) writeAttemptStored(ctx context.Context, a jobs.Attempt, aw *attemptWriter, seen *results.Position) error {
	q := l.opts.query
	q.Index, q.Attempt = &a.Index, &a.Attempt
	var sp results.Splitter
	write := func(s results.Segment) error {
		if seen != nil {
			rest, ok := seen.Trim(s)
			if !ok {
				return nil
			}
			s = rest
		}
		return aw.segment(s)
	}
	return l.s.store.ReadLogs(ctx, q, func(c jobs.LogChunk) error {
		if err := sp.Split(c, write); err != nil {
			return err
		}
		return l.out.flush()
	})
}

// tailSkips counts the selected lines that exist when the request arrives
// — stored ones of finished attempts and, when following, those the Engine
// holds for running attempts — and returns, per attempt, how many lines
// from its start must be dropped so that only the last opts.tail remain.
// Attempts that start later are not counted: all of their output is new.
func (l *logStream) tailSkips(ctx context.Context, job *jobs.Job) (map[attemptKey]int64, error) {
	type count struct {
		key attemptKey
		n   int64
	}
	var counts []count
	var total int64
	for _, a := range selectedAttempts(job, l.opts.query) {
		var n int64
		var err error
		switch {
		case a.Finished():
			n, err = l.countStored(ctx, a)
		case l.opts.follow && l.s.live != nil && a.ServiceID != "":
			n = l.countLive(ctx, a)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		counts = append(counts, count{keyOf(a), n})
		total += n
	}
	skip := make(map[attemptKey]int64)
	drop := total - int64(l.opts.tail)
	for _, c := range counts {
		if drop <= 0 {
			break
		}
		skip[c.key] = min(drop, c.n)
		drop -= skip[c.key]
	}
	return skip, nil
}

// countStored counts the selected lines stored for attempt a.
func (l *logStream) countStored(ctx context.Context, a jobs.Attempt) (int64, error) {
	q := l.opts.query
	q.Index, q.Attempt = &a.Index, &a.Attempt
	var sp results.Splitter
	var n int64
	count := func(s results.Segment) error {
		if s.Start && l.opts.keeps(s) {
			n++
		}
		return nil
	}
	err := l.s.store.ReadLogs(ctx, q, func(c jobs.LogChunk) error { return sp.Split(c, count) })
	return n, err
}

// liveCountTimeout bounds reading a running attempt's log to count its lines.
const liveCountTimeout = 30 * time.Second

// countLive counts the selected lines the Engine holds for running attempt
// a. It is best effort: when the log cannot be read (the service is being
// removed, the node is down), it counts what it read, and the rest of the
// attempt's output counts as new.
func (l *logStream) countLive(ctx context.Context, a jobs.Attempt) int64 {
	ctx, cancel := context.WithTimeout(ctx, liveCountTimeout)
	defer cancel()
	rc, err := l.s.live.ServiceLogs(ctx, a.ServiceID, l.engineLogOptions(false))
	if err != nil {
		l.s.log.LogAttrs(ctx, slog.LevelDebug, "counting live log lines",
			slog.String("job", l.id), slog.String("service", a.ServiceID), slog.Any("err", err))
		return 0
	}
	defer rc.Close()
	er := results.NewEngineReader(rc)
	var n int64
	for {
		s, err := er.Next()
		if err != nil {
			return n
		}
		if s.Start && l.opts.keeps(s) {
			n++
		}
	}
}

// engineLogOptions asks the Engine for the selected streams, from the first
// line, with timestamps: the same lines Capture stores.
func (l *logStream) engineLogOptions(follow bool) client.ServiceLogsOptions {
	return client.ServiceLogsOptions{
		ShowStdout: l.opts.query.Stdout,
		ShowStderr: l.opts.query.Stderr,
		Timestamps: true,
		Follow:     follow,
	}
}
