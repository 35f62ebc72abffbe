package api

import (
	"log/slog"
	"net"
	"net/http"
	"slices"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
)

// anonymousPaths are the only paths served without a token: the probes of
// orchestrators and load balancers, and the API's description. The match is
// exact: any other spelling (a trailing slash, "/v1/../healthz") needs a
// token like every other path, even where the mux would only redirect it.
var anonymousPaths = map[string]bool{
	"/healthz":         true,
	"/readyz":          true,
	"/v1/openapi.json": true,
	"/metrics":         true,
}

// insecurePrincipal is who every request acts for when authentication is
// off (Config.InsecureNoAuth): the bootstrap admin.
var insecurePrincipal = auth.Principal{TokenID: "insecure", Tenant: auth.DefaultTenant, Scopes: []auth.Scope{auth.ScopeAdmin}}

// authenticate puts the Principal of the request's bearer token in its
// context, or answers 401 (with WWW-Authenticate) when the token is missing
// or not valid, before any route is looked up, so that an anonymous client
// learns nothing about routes or jobs. Failures from one address beyond the
// rate limit get 429 instead. anonymousPaths pass without a Principal.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if anonymousPaths[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		if s.noAuth {
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), insecurePrincipal)))
			return
		}
		p, err := s.principal(r)
		if err != nil {
			// Failures are limited per address, so that guessing is
			// slow; a valid token from the same address (a NAT, a shared
			// host) is not held back by someone else's failures.
			if jobs.ErrorCode(err) == jobs.EUNAUTHORIZED {
				if d, ok := s.limits.allow("ip:" + remoteHost(r)); !ok {
					s.rateLimited(w, r, d)
					return
				}
			}
			s.writeError(w, r, err)
			return
		}
		sw := asStatusWriter(w)
		sw.tokenID, sw.tenant = p.TokenID, p.Tenant
		next.ServeHTTP(sw, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

// principal authenticates the request's bearer token.
func (s *Server) principal(r *http.Request) (auth.Principal, error) {
	token, err := auth.ParseBearer(r.Header.Values("Authorization"))
	if err != nil {
		return auth.Principal{}, err
	}
	return s.auth.Authenticate(r.Context(), token)
}

// need wraps the handler of a route that needs one of scopes: a request
// whose token has none of them gets 403, naming the first (the one that
// tokens can be granted; jobs:children is only the server's to give). A request without a Principal
// (which authenticate rules out) gets 401: the check fails closed.
func (s *Server) need(scopes []auth.Scope, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			s.writeError(w, r, jobs.Errorf(jobs.EUNAUTHORIZED, "missing bearer token: send the header Authorization: Bearer <token>"))
			return
		}
		if !slices.ContainsFunc(scopes, p.Has) {
			if p.Parent != "" {
				s.writeError(w, r, jobs.Errorf(jobs.EFORBIDDEN, "a child-job token may only create, read and cancel the children of its job; %s is none of these", r.Pattern))
				return
			}
			s.writeError(w, r, jobs.Errorf(jobs.EFORBIDDEN, "this token lacks the scope %s that %s needs", scopes[0], r.Pattern))
			return
		}
		h(w, r)
	})
}

// requestPrincipal returns the Principal of a request that passed need, and
// a Principal that sees nothing otherwise.
func requestPrincipal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// limit applies the per-token rate limit to authenticated requests (per
// address when authentication is off) and answers 429 with Retry-After
// beyond it. Anonymous paths are not limited: probes must always answer.
func (s *Server) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if ok {
			key := "token:" + p.TokenID
			if s.noAuth {
				key = "ip:" + remoteHost(r)
			}
			if d, ok := s.limits.allow(key); !ok {
				s.rateLimited(w, r, d)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// streams caps the long requests (events, logs, waits) open at once for one
// token: each holds a connection and a goroutine for up to minutes.
func (s *Server) streams(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := "token:" + requestPrincipal(r).TokenID
		if s.noAuth {
			key = "ip:" + remoteHost(r)
		}
		if !s.open.acquire(key) {
			s.writeError(w, r, jobs.Errorf(types.CodeRateLimited, "this token has %d streams open (events, logs, waits), the most allowed; close one first", s.open.max))
			return
		}
		defer s.open.release(key)
		h(w, r)
	}
}

// rateLimited answers 429 with the seconds to wait in Retry-After.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, wait retryAfter) {
	w.Header().Set("Retry-After", wait.String())
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "rate limited",
		slog.String("path", r.URL.Path), slog.String("remote", remoteHost(r)))
	s.writeError(w, r, jobs.Errorf(types.CodeRateLimited, "too many requests; retry in %ss", wait.String()))
}

// remoteHost is the client's address without its port. Forwarding headers
// are not trusted: a proxy in front must do its own limiting.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
