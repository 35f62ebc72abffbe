package api

import (
	"context"
	"net/http"

	"github.com/swarmjob/swarmjob/jobs"
)

// healthResponse is the body of /healthz and /readyz when all is well.
type healthResponse struct {
	Status string `json:"status"`
}

// handleHealthz serves GET /healthz: the process is up and serving.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, healthResponse{Status: "ok"})
}

// handleReadyz serves GET /readyz: 200 when Config.Ready reports the store
// and engine usable, 503 with its error otherwise.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		s.writeError(w, r, jobs.Errorf(jobs.EUNAVAIL, "not ready: %s", readyMessage(err)))
		return
	}
	s.writeJSON(w, r, http.StatusOK, healthResponse{Status: "ready"})
}

// readyMessage is the text of a readiness error: the message of a domain
// error, or the error's own text, which readiness checks write for
// operators.
func readyMessage(err error) string {
	if jobs.ErrorCode(err) != jobs.EINTERNAL {
		return jobs.ErrorMessage(err)
	}
	return err.Error()
}
