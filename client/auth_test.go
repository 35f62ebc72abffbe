package client

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
)

// authServer answers like a server that wants a bearer token, over TLS,
// and records the Authorization header of every request.
type authServer struct {
	mu    sync.Mutex
	auths []string
}

func (s *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.auths = append(s.auths, r.Header.Get("Authorization"))
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer good" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="swarmjob"`)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, errorBody(types.CodeUnauthorized, "missing bearer token"))
		return
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/tokens":
		var req types.CreateTokenRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(types.CreatedToken{Token: types.Token{ID: "0123456789abcdef", Tenant: req.Tenant, Scopes: req.Scopes}, Secret: "sjt_x"})
	case "GET /v1/tokens":
		json.NewEncoder(w).Encode(types.TokenList{Items: []types.Token{{ID: "0123456789abcdef", Tenant: "a", Scopes: []string{"jobs:read"}}}})
	case "DELETE /v1/tokens/0123456789abcdef":
		w.WriteHeader(http.StatusNoContent)
	case "GET /v1/events":
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "id: 1\n\n")
	case "GET /v1/jobs/j/logs":
		io.WriteString(w, "out\n")
	default:
		json.NewEncoder(w).Encode(types.JobList{Items: []types.Job{}})
	}
}

func TestToken(t *testing.T) {
	srv := &authServer{}
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	// ts.Client() trusts the server's self-signed certificate, as a
	// client given --ca-cert does.
	c, err := New(ts.URL, WithToken("good"), WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.ListJobs(ctx, ListOptions{}); err != nil {
		t.Fatal(err)
	}
	created, err := c.CreateToken(ctx, types.CreateTokenRequest{Tenant: "a", Scopes: []string{"jobs:read"}, ExpiresIn: "1h"})
	if err != nil || created.Secret != "sjt_x" || created.Tenant != "a" {
		t.Fatalf("CreateToken = %+v, %v", created, err)
	}
	list, err := c.ListTokens(ctx)
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("ListTokens = %+v, %v", list, err)
	}
	if err := c.DeleteToken(ctx, "0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteToken(ctx, ".."); err == nil {
		t.Error("DeleteToken(..) was sent")
	}
	rc, err := c.Logs(ctx, "j", LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	es, err := c.Events(ctx, EventsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	es.Close()
	srv.mu.Lock()
	for i, a := range srv.auths {
		if a != "Bearer good" {
			t.Errorf("request %d: Authorization %q", i, a)
		}
	}
	srv.mu.Unlock()

	// Without a token, or with a bad one: IsUnauthorized.
	for _, opts := range [][]Option{{WithHTTPClient(ts.Client())}, {WithHTTPClient(ts.Client()), WithToken("bad")}} {
		c, err := New(ts.URL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListJobs(ctx, ListOptions{})
		if !IsUnauthorized(err) || IsNotFound(err) {
			t.Errorf("error %v: IsUnauthorized false", err)
		}
		if err != nil && strings.Contains(err.Error(), "bad") {
			t.Errorf("the error quotes the token: %v", err)
		}
	}
	if IsUnauthorized(&Error{StatusCode: 403}) {
		t.Error("403 is unauthorized")
	}

	// A client that does not trust the certificate fails.
	plain, err := New(ts.URL, WithToken("good"), WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ListJobs(ctx, ListOptions{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
}
