package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/swarmjob/swarmjob/jobs"
	"github.com/swarmjob/swarmjob/results"
)

// logOptions are the parsed query of GET /v1/jobs/{id}/logs.
type logOptions struct {
	query      jobs.LogQuery
	timestamps bool
}

// parseLogOptions reads ?stream=stdout|stderr|all (default all),
// ?index=N (default all indexes), ?attempt=N (default all attempts) and
// ?timestamps=true|false (default false).
func parseLogOptions(id string, q url.Values) (logOptions, error) {
	o := logOptions{query: jobs.LogQuery{JobID: id}}
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
	if t := q.Get("timestamps"); t != "" {
		b, err := strconv.ParseBool(t)
		if err != nil {
			return logOptions{}, jobs.Errorf(jobs.EINVALID, "timestamps: must be true or false, got %q", t)
		}
		o.timestamps = b
	}
	return o, nil
}

// handleJobLogs serves GET /v1/jobs/{id}/logs as text/plain, streamed from
// the store chunk by chunk. Errors found before the first byte is sent are
// JSON errors; a failure after that aborts the response, so that the client
// sees a broken transfer rather than logs that merely look short.
func (s *Server) handleJobLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	opts, err := parseLogOptions(id, r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	job, err := s.getJob(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkLogSelection(job, opts.query); err != nil {
		s.writeError(w, r, err)
		return
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	lw := newLogWriter(w, opts.timestamps)
	err = s.store.ReadLogs(r.Context(), opts.query, lw.write)
	switch {
	case err == nil:
		if !lw.out.started {
			w.WriteHeader(http.StatusOK)
		}
	case !lw.out.started:
		s.writeError(w, r, err)
	default:
		if r.Context().Err() == nil {
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "log stream aborted",
				slog.String("job", id), slog.Any("err", err))
		}
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

// logWriter renders chunks to the response and flushes after each, so a
// client sees output while the rest is read. It starts a fresh Renderer for
// every attempt and ends an attempt's unterminated last line, so that one
// attempt's partial line does not swallow the next attempt's first one.
type logWriter struct {
	out     *trackingWriter
	flush   func() error
	stamps  bool
	r       *results.Renderer
	index   int
	attempt int
}

func newLogWriter(w http.ResponseWriter, timestamps bool) *logWriter {
	return &logWriter{
		out:    &trackingWriter{w: w},
		flush:  http.NewResponseController(w).Flush,
		stamps: timestamps,
	}
}

func (l *logWriter) write(c jobs.LogChunk) error {
	if l.r == nil || c.Index != l.index || c.Attempt != l.attempt {
		if l.out.midLine {
			if _, err := l.out.Write([]byte{'\n'}); err != nil {
				return err
			}
		}
		l.r = results.NewRenderer(l.out, l.stamps)
		l.index, l.attempt = c.Index, c.Attempt
	}
	if err := l.r.Write(c); err != nil {
		return err
	}
	if err := l.flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// trackingWriter remembers whether anything was written and whether the
// output ends in the middle of a line.
type trackingWriter struct {
	w       io.Writer
	started bool
	midLine bool
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	t.started = true
	t.midLine = p[len(p)-1] != '\n'
	return t.w.Write(p)
}
