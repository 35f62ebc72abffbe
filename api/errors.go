package api

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// httpStatus is the one mapping from error codes to HTTP statuses. Codes are
// those of package jobs, plus the three that only HTTP has (wrong media
// type, wrong method, rate limited). Unknown codes are internal errors.
func httpStatus(code string) int {
	switch code {
	case jobs.EINVALID:
		return http.StatusBadRequest
	case jobs.ENOTFOUND:
		return http.StatusNotFound
	case jobs.ECONFLICT:
		return http.StatusConflict
	case jobs.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case jobs.EUNAVAIL:
		return http.StatusServiceUnavailable
	case jobs.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case jobs.EFORBIDDEN, jobs.EPOLICY:
		return http.StatusForbidden
	case types.CodeRateLimited:
		return http.StatusTooManyRequests
	case types.CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case types.CodeMethod:
		return http.StatusMethodNotAllowed
	default:
		return http.StatusInternalServerError
	}
}

// writeError writes err as a types.ErrorResponse with the status of its
// code. Internal errors are logged, and the client only reads "internal
// error"; their details may hold paths or SQL.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := jobs.ErrorCode(err)
	status := httpStatus(code)
	msg := jobs.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		code, msg = types.CodeInternal, "internal error"
		level := slog.LevelError
		if r.Context().Err() != nil {
			// The client went away; the store error is only its echo.
			level = slog.LevelDebug
		}
		s.log.LogAttrs(r.Context(), level, "request failed",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Any("err", err))
	}
	if status == http.StatusUnauthorized {
		// RFC 6750: every 401 says which scheme to use; a token that was
		// sent and refused is an invalid_token.
		challenge := `Bearer realm="swarmjob"`
		if r.Header.Get("Authorization") != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	s.writeJSON(w, r, status, types.ErrorResponse{Error: types.ErrorBody{Code: code, Message: msg}})
}

// writeJSON writes v as a JSON response with the given status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here: the wire types always encode.
		s.log.LogAttrs(r.Context(), slog.LevelError, "encoding response",
			slog.String("path", r.URL.Path), slog.Any("err", err))
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "writing response",
			slog.String("path", r.URL.Path), slog.Any("err", err))
	}
}

// jobNotFound is the error of every route naming a job that does not exist
// or is being deleted.
func jobNotFound(id string) error {
	return jobs.Errorf(jobs.ENOTFOUND, "job %q not found", id)
}
