package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/swarmjob/swarmjob/jobs"
)

// writeSlack is how much longer than the wait itself the answer may take to
// be written.
const writeSlack = 10 * time.Second

// handleWaitJob serves GET /v1/jobs/{id}/wait?timeout=30s. It answers 200
// with the job as soon as the job is terminal, or with the job as it is when
// the timeout passes; HeaderTerminal tells which. A job deleted meanwhile is
// a 404.
//
// It does not poll: it reads the job again only when the Hub says the job
// changed, and it subscribes before each read, so that a change between the
// read and the wait still wakes it.
func (s *Server) handleWaitJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	timeout := DefaultWaitTimeout
	if t := r.URL.Query().Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d < 0 {
			s.writeError(w, r, jobs.Errorf(jobs.EINVALID, "timeout: must be a non-negative duration such as 30s or 2m, got %q", t))
			return
		}
		timeout = d
	}
	timeout = min(timeout, s.maxWait)

	// The wait may outlast the http.Server's WriteTimeout; move the
	// deadline where the connection allows it.
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(timeout + writeSlack)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "extending write deadline",
			slog.String("job", id), slog.Any("err", err))
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	expired := false
	for {
		changed := s.hub.Changed(id)
		job, err := s.getJob(r.Context(), id)
		if err != nil {
			if jobs.IsNotFound(err) {
				s.releaseHub(id)
			}
			s.writeError(w, r, err)
			return
		}
		terminal := job.Status.Phase.Terminal()
		if terminal {
			s.releaseHub(id)
		}
		if terminal || expired {
			w.Header().Set(HeaderTerminal, strconv.FormatBool(terminal))
			s.writeJSON(w, r, http.StatusOK, jobToWire(job))
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			// Read once more: the answer is the job as it is now.
			expired = true
		case <-r.Context().Done():
			// The client is gone (nobody reads an answer), or the server is
			// shutting down: then the client gets a clear "retry".
			if errors.Is(context.Cause(r.Context()), ErrShuttingDown) {
				s.writeError(w, r, jobs.Errorf(jobs.EUNAVAIL, "server is shutting down; retry the wait"))
			}
			return
		}
	}
}

// releaseHub drops the Hub entry that Changed(id) made for a job that will
// not change any more: it is terminal, deleted or was never there. Without
// this, every wait on such a job would leave an entry behind until a Notify
// that never comes. The wake-up it gives other waiters is harmless: a waiter
// re-reads the job on every wake-up, and finds it terminal or gone too.
func (s *Server) releaseHub(id string) { s.hub.Notify(id) }
