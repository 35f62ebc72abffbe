package api

import (
	_ "embed"
	"log/slog"
	"net/http"
)

// openAPISpec is the OpenAPI 3.1 description of the API, served at
// GET /v1/openapi.json. openapi.json is the canonical copy; docs/openapi.json
// is kept identical by go generate (TestOpenAPIDocsCopy checks it), and
// TestOpenAPIRoutes that it describes every route of routes.
//
//go:generate cp openapi.json ../docs/openapi.json
//go:embed openapi.json
var openAPISpec []byte

// handleOpenAPI serves GET /v1/openapi.json: the description of the API,
// as it was built into the binary.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(openAPISpec); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "writing response",
			slog.String("path", r.URL.Path), slog.Any("err", err))
	}
}
