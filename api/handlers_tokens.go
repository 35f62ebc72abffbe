package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
)

// MaxTokenLifetime is the longest expiresIn of POST /v1/tokens.
const MaxTokenLifetime = 10 * 365 * 24 * time.Hour

// errNoTokenStore answers the token routes of a server without a
// TokenStore.
func errNoTokenStore() error {
	return jobs.Errorf(jobs.EUNAVAIL, "tokens: this server keeps no tokens")
}

// handleCreateToken serves POST /v1/tokens (admin): it makes a token for a
// tenant with the scopes asked for, stores its hash, and answers 201 with
// the token, which is shown this once. The answer must not be cached.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	if s.tokens == nil {
		s.writeError(w, r, errNoTokenStore())
		return
	}
	if err := checkJSONContentType(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req types.CreateTokenRequest
	if err := decodeJSON(http.MaxBytesReader(w, r.Body, s.maxBody), &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := tokenFromRequest(req, s.now().UTC())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, secret, err := auth.Generate()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t.ID, t.Hash = id, auth.Hash(secret)
	if err := s.tokens.CreateToken(r.Context(), t); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "token created",
		slog.String("token", t.ID), slog.String("tenant", t.Tenant), slog.Any("scopes", t.Scopes),
		slog.String("by", requestPrincipal(r).TokenID))
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusCreated, types.CreatedToken{Token: tokenToWire(t, s.now()), Secret: secret})
}

// tokenFromRequest validates a token request and returns the token it asks
// for, created at now, without ID or hash.
func tokenFromRequest(req types.CreateTokenRequest, now time.Time) (auth.Token, error) {
	if err := auth.ValidateTenant(req.Tenant); err != nil {
		return auth.Token{}, err
	}
	if err := jobs.ValidateName(req.Name); err != nil {
		return auth.Token{}, err
	}
	if len(req.Scopes) == 0 {
		return auth.Token{}, jobs.Errorf(jobs.EINVALID, "scopes: at least one of %s, %s, %s is required", auth.ScopeJobsRead, auth.ScopeJobsWrite, auth.ScopeAdmin)
	}
	t := auth.Token{Name: req.Name, Tenant: req.Tenant, CreatedAt: now}
	for i, sc := range req.Scopes {
		scope := auth.Scope(sc)
		if !scope.Valid() {
			return auth.Token{}, jobs.Errorf(jobs.EINVALID, "scopes[%d]: must be %s, %s or %s, got %q", i, auth.ScopeJobsRead, auth.ScopeJobsWrite, auth.ScopeAdmin, truncateMsg(sc))
		}
		if slices.Contains(t.Scopes, scope) {
			return auth.Token{}, jobs.Errorf(jobs.EINVALID, "scopes[%d]: %s is given twice", i, scope)
		}
		t.Scopes = append(t.Scopes, scope)
	}
	if req.ExpiresIn != "" {
		d, err := parseLifetime(req.ExpiresIn)
		if err != nil || d <= 0 || d > MaxTokenLifetime {
			return auth.Token{}, jobs.Errorf(jobs.EINVALID, "expiresIn: must be a positive duration of at most %s such as 720h or 30d, got %q", MaxTokenLifetime, truncateMsg(req.ExpiresIn))
		}
		t.ExpiresAt = now.Add(d)
	}
	return t, nil
}

// handleListTokens serves GET /v1/tokens (admin): every stored token,
// without secrets, oldest first. The bootstrap admin token is not listed.
func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	if s.tokens == nil {
		s.writeError(w, r, errNoTokenStore())
		return
	}
	ts, err := s.tokens.ListTokens(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := types.TokenList{Items: make([]types.Token, 0, len(ts))}
	now := s.now()
	for _, t := range ts {
		out.Items = append(out.Items, tokenToWire(t, now))
	}
	s.writeJSON(w, r, http.StatusOK, out)
}

// handleDeleteToken serves DELETE /v1/tokens/{id} (admin): the token stops
// working at once. 404 for an unknown ID.
func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request) {
	if s.tokens == nil {
		s.writeError(w, r, errNoTokenStore())
		return
	}
	id := r.PathValue("id")
	if !auth.ValidTokenID(id) {
		s.writeError(w, r, jobs.Errorf(jobs.ENOTFOUND, "token %q not found", truncateMsg(id)))
		return
	}
	if err := s.tokens.DeleteToken(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "token deleted",
		slog.String("token", id), slog.String("by", requestPrincipal(r).TokenID))
	w.WriteHeader(http.StatusNoContent)
}

func tokenToWire(t auth.Token, now time.Time) types.Token {
	out := types.Token{
		ID:        t.ID,
		Name:      t.Name,
		Tenant:    t.Tenant,
		Scopes:    make([]string, 0, len(t.Scopes)),
		CreatedAt: t.CreatedAt,
		Expired:   t.Expired(now),
	}
	for _, sc := range t.Scopes {
		out.Scopes = append(out.Scopes, string(sc))
	}
	if !t.ExpiresAt.IsZero() {
		out.ExpiresAt = ptrTo(t.ExpiresAt)
	}
	return out
}

// truncateMsg shortens a value quoted in an error message.
func truncateMsg(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// parseLifetime reads a Go duration, or a whole number of days such as
// "30d", which people write for token lifetimes.
func parseLifetime(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 100000 {
			return 0, fmt.Errorf("bad number of days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
