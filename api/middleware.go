package api

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// statusWriter records the status a handler wrote and whether it wrote
// anything yet. Unwrap lets http.ResponseController reach the connection
// (Flush, SetWriteDeadline).
type statusWriter struct {
	http.ResponseWriter
	status int
	// tokenID and tenant are those of the request's token, for the
	// request log; never the token itself.
	tokenID, tenant string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// asStatusWriter returns w as a *statusWriter, wrapping it only once.
func asStatusWriter(w http.ResponseWriter) *statusWriter {
	if sw, ok := w.(*statusWriter); ok {
		return sw
	}
	return &statusWriter{ResponseWriter: w}
}

// logRequests logs every request once it is done, also when its handler
// aborts it with a panic: at Info as "audit" those that change something
// (any method but GET and HEAD), and those refused for their token (401,
// 403), whatever their outcome; the others at Debug. Each line names the
// token and its tenant, never the token's secret.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := asStatusWriter(w)
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			level, msg := slog.LevelDebug, "http request"
			if audited(r.Method, status) {
				level, msg = slog.LevelInfo, "audit"
			}
			s.log.LogAttrs(r.Context(), level, msg,
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.String("token", sw.tokenID),
				slog.String("tenant", sw.tenant),
				slog.String("remote", r.RemoteAddr))
		}()
		next.ServeHTTP(sw, r)
	})
}

// audited reports whether a request belongs in the audit trail: it asked
// for a change, or its token was refused.
func audited(method string, status int) bool {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return true
	case method == http.MethodGet || method == http.MethodHead:
		return false
	}
	return true
}

// recoverPanics turns a handler panic into a logged error and, if nothing
// was sent yet, a 500 JSON response. http.ErrAbortHandler passes through: it
// is how a handler aborts a response on purpose.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := asStatusWriter(w)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			s.log.LogAttrs(r.Context(), slog.LevelError, "handler panic",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Any("panic", v),
				slog.String("stack", string(debug.Stack())))
			if sw.status != 0 {
				// Part of the response is out; all we can do is cut it.
				panic(http.ErrAbortHandler)
			}
			s.writeJSON(sw, r, http.StatusInternalServerError, types.ErrorResponse{
				Error: types.ErrorBody{Code: types.CodeInternal, Message: "internal error"},
			})
		}()
		next.ServeHTTP(sw, r)
	})
}

// jsonMuxErrors serves mux, replacing the plain-text 404 and 405 answers the
// ServeMux gives for unknown paths and methods with JSON errors. The 405
// keeps the mux's Allow header.
func (s *Server) jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			// A route matched (or a redirect to one): let the mux serve
			// it, which also sets r.Pattern and the path values.
			mux.ServeHTTP(w, r)
			return
		}
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusNotFound:
			s.writeError(w, r, jobs.Errorf(jobs.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
		case http.StatusMethodNotAllowed:
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			s.writeError(w, r, jobs.Errorf(types.CodeMethod, "method %s is not allowed on %s; allowed: %s",
				r.Method, r.URL.Path, allow))
		default:
			// Not an error the mux makes today; pass it on untouched.
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.status)
			if _, err := w.Write(rec.body.Bytes()); err != nil {
				s.log.LogAttrs(r.Context(), slog.LevelDebug, "writing response",
					slog.String("path", r.URL.Path), slog.Any("err", err))
			}
		}
	})
}

// recorder captures the small answers of the mux's own handlers.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}
