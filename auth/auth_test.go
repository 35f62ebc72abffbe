package auth

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

// memTokens is an in-memory TokenStore.
type memTokens struct {
	mu  sync.Mutex
	m   map[string]Token
	err error
}

func (s *memTokens) CreateToken(_ context.Context, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]Token{}
	}
	s.m[t.ID] = t
	return nil
}

func (s *memTokens) GetToken(_ context.Context, id string) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return Token{}, s.err
	}
	t, ok := s.m[id]
	if !ok {
		return Token{}, jobs.Errorf(jobs.ENOTFOUND, "no token %s", id)
	}
	return t, nil
}

func (s *memTokens) ListTokens(context.Context) ([]Token, error) { return nil, nil }
func (s *memTokens) DeleteToken(context.Context, string) error   { return nil }

func TestGenerateAndTokenID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, token, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if seen[token] {
			t.Fatal("Generate repeated a token")
		}
		seen[token] = true
		got, ok := TokenID(token)
		if !ok || got != id || !ValidTokenID(id) {
			t.Fatalf("TokenID(%q) = %q, %v; want %q", token, got, ok, id)
		}
		if len(token) != 64 || ParseBearerOK("Bearer "+token) != token {
			t.Fatalf("token %q is not a 64-character bearer token", token)
		}
	}
	for _, bad := range []string{
		"", "sjt_", "sjt_0123456789abcdef", "xyz_0123456789abcdef_" + strings.Repeat("A", 43),
		"sjt_0123456789ABCDEF_" + strings.Repeat("A", 43), // upper-case ID
		"sjt_0123456789abcdeg_" + strings.Repeat("A", 43), // not hex
		"sjt_0123456789abcdef-" + strings.Repeat("A", 43), // no separator
		"sjt_0123456789abcdef_" + strings.Repeat("A", 42), // short secret
		"sjt_0123456789abcdef_" + strings.Repeat("A", 42) + "=",
	} {
		if id, ok := TokenID(bad); ok {
			t.Errorf("TokenID(%q) = %q, true", bad, id)
		}
	}
}

// ParseBearerOK is ParseBearer of one header, "" on error.
func ParseBearerOK(h string) string {
	tok, err := ParseBearer([]string{h})
	if err != nil {
		return ""
	}
	return tok
}

func TestParseBearer(t *testing.T) {
	tests := []struct {
		values []string
		want   string
		msg    string
	}{
		{[]string{"Bearer abc.DEF-123_~+/=="}, "abc.DEF-123_~+/==", ""},
		{[]string{"bearer abc"}, "abc", ""},
		{[]string{"BEARER   abc"}, "abc", ""},
		{nil, "", "missing bearer token"},
		{[]string{"Bearer a", "Bearer b"}, "", "must be given once"},
		{[]string{"Basic dXNlcjpwYXNz"}, "", "must use the Bearer scheme"},
		{[]string{"Bearer"}, "", "must use the Bearer scheme"},
		{[]string{"Bearer "}, "", "malformed bearer token"},
		{[]string{"Bearer a b"}, "", "malformed bearer token"},
		{[]string{"Bearer a\x00b"}, "", "malformed bearer token"},
		{[]string{"Bearer ===="}, "", "malformed bearer token"},
		{[]string{"Bearer a=b"}, "", "malformed bearer token"},
		{[]string{"Bearer tök"}, "", "malformed bearer token"},
		{[]string{"Bearer " + strings.Repeat("a", 513)}, "", "malformed bearer token"},
		{[]string{"Bearer\tabc"}, "", "must use the Bearer scheme"},
	}
	for _, tt := range tests {
		got, err := ParseBearer(tt.values)
		if tt.msg == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseBearer(%q) = %q, %v; want %q", tt.values, got, err, tt.want)
			}
			continue
		}
		if jobs.ErrorCode(err) != jobs.EUNAUTHORIZED || !strings.Contains(jobs.ErrorMessage(err), tt.msg) {
			t.Errorf("ParseBearer(%q) error = %v, want unauthorized %q", tt.values, err, tt.msg)
		}
		if err != nil && len(tt.values) == 1 && len(tt.values[0]) > 8 && strings.Contains(err.Error(), tt.values[0][7:]) {
			t.Errorf("the error quotes the header: %v", err)
		}
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  sjt_0123456789abcdef_" + strings.Repeat("A", 43), "Basic x", "Bearer ", "", "Bearer a=b=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := ParseBearer([]string{h})
		if err != nil {
			if jobs.ErrorCode(err) != jobs.EUNAUTHORIZED {
				t.Fatalf("error code %q", jobs.ErrorCode(err))
			}
			return
		}
		if tok == "" || len(tok) > maxTokenLen || !isToken68(tok) || !strings.HasSuffix(h, tok) {
			t.Fatalf("ParseBearer(%q) = %q", h, tok)
		}
		// A token it accepts goes through the rest of authentication
		// without panicking.
		if id, ok := TokenID(tok); ok && !ValidTokenID(id) {
			t.Fatalf("TokenID(%q) = %q, not a valid ID", tok, id)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := &memTokens{}
	add := func(tenant string, expires time.Time, scopes ...Scope) string {
		id, tok, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreateToken(t.Context(), Token{ID: id, Tenant: tenant, Scopes: scopes, Hash: Hash(tok), ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	reader := add("a", time.Time{}, ScopeJobsRead)
	expired := add("a", now, ScopeJobsRead)
	later := add("b", now.Add(time.Second), ScopeJobsRead, ScopeJobsWrite)
	// Same ID as reader, another secret.
	id, _ := TokenID(reader)
	forged := tokenPrefix + id + "_" + strings.Repeat("A", secretLen)

	a := NewAuthenticator(store, "the-bootstrap-admin-token", func() time.Time { return now })
	tests := []struct {
		name  string
		token string
		want  Principal
		msg   string
	}{
		{"bootstrap", "the-bootstrap-admin-token", Principal{TokenID: BootstrapTokenID, Tenant: DefaultTenant, Scopes: []Scope{ScopeAdmin}}, ""},
		{"stored", reader, Principal{TokenID: id, Tenant: "a", Scopes: []Scope{ScopeJobsRead}}, ""},
		{"not yet expired", later, Principal{Tenant: "b", Scopes: []Scope{ScopeJobsRead, ScopeJobsWrite}}, ""},
		{"expired", expired, Principal{}, "token expired"},
		{"forged secret", forged, Principal{}, "invalid token"},
		{"unknown", "sjt_00000000000000ff_" + strings.Repeat("A", secretLen), Principal{}, "invalid token"},
		{"another form", "the-bootstrap-admin-tokeN", Principal{}, "invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(t.Context(), tt.token)
			if tt.msg != "" {
				if jobs.ErrorCode(err) != jobs.EUNAUTHORIZED || jobs.ErrorMessage(err) != tt.msg {
					t.Errorf("error = %v, want unauthorized %q", err, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.TokenID == "" {
				tt.want.TokenID = p.TokenID
			}
			if diff := cmp.Diff(tt.want, p); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}

	// Without a bootstrap token, nothing but stored tokens passes; a store
	// failure is not an authentication failure.
	b := NewAuthenticator(store, "", nil)
	if _, err := b.Authenticate(t.Context(), ""); jobs.ErrorCode(err) != jobs.EUNAUTHORIZED {
		t.Errorf("empty token: %v", err)
	}
	store.err = errors.New("disk I/O error")
	if _, err := b.Authenticate(t.Context(), reader); jobs.ErrorCode(err) != jobs.EINTERNAL {
		t.Errorf("store failure: %v, want an internal error", err)
	}
}

func TestPrincipal(t *testing.T) {
	admin := Principal{Tenant: "x", Scopes: []Scope{ScopeAdmin}}
	reader := Principal{Tenant: "a", Scopes: []Scope{ScopeJobsRead}}
	none := Principal{}
	child := Principal{Tenant: "a", Scopes: []Scope{ScopeJobsChildren}, Parent: "p1"}
	for _, c := range []struct {
		p              Principal
		scope          Scope
		tenant, parent string
		has            bool
		sees           bool
	}{
		{admin, ScopeJobsWrite, "a", "", true, true},
		{admin, ScopeJobsWrite, "a", "p1", true, true},
		{reader, ScopeJobsRead, "a", "", true, true},
		{reader, ScopeJobsRead, "a", "p1", true, true},
		{reader, ScopeJobsWrite, "b", "", false, false},
		{reader, ScopeAdmin, "", "", false, false},
		{none, ScopeJobsRead, "", "", false, false},
		{child, ScopeJobsChildren, "a", "p1", true, true},
		{child, ScopeJobsRead, "a", "", false, false},
		{child, ScopeJobsWrite, "a", "p2", false, false},
		{child, ScopeJobsChildren, "b", "p1", true, false},
	} {
		if got := c.p.Has(c.scope); got != c.has {
			t.Errorf("%+v.Has(%s) = %v", c.p, c.scope, got)
		}
		if got := c.p.CanSee(c.tenant, c.parent); got != c.sees {
			t.Errorf("%+v.CanSee(%q, %q) = %v", c.p, c.tenant, c.parent, got)
		}
	}
	ctx := WithPrincipal(t.Context(), reader)
	if got, ok := FromContext(ctx); !ok || got.Tenant != "a" {
		t.Errorf("FromContext = %+v, %v", got, ok)
	}
	if _, ok := FromContext(t.Context()); ok {
		t.Error("a bare context has a principal")
	}
}

func TestValidateTenantAndAdminToken(t *testing.T) {
	for _, ok := range []string{"a", "team-a", "a.b", "0", strings.Repeat("a", 63)} {
		if err := ValidateTenant(ok); err != nil {
			t.Errorf("ValidateTenant(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "A", "a_b", "a/b", "-a", "a-", strings.Repeat("a", 64), "ä", "a b", "a\x00"} {
		if err := ValidateTenant(bad); jobs.ErrorCode(err) != jobs.EINVALID {
			t.Errorf("ValidateTenant(%q) = %v", bad, err)
		}
	}
	if err := ValidateAdminToken("short"); err == nil {
		t.Error("a short admin token is accepted")
	}
	if err := ValidateAdminToken("has a space in it, long enough"); err == nil {
		t.Error("an admin token with spaces is accepted")
	}
	if err := ValidateAdminToken("0123456789abcdef0123"); err != nil {
		t.Error(err)
	}
}

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, AdminTokenFile)
	tok, created, err := LoadOrCreateTokenFile(path)
	if err != nil || !created {
		t.Fatalf("first start: %v, created %v", err, created)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %#o, want 0600", st.Mode().Perm())
	}
	if err := ValidateAdminToken(tok); err != nil {
		t.Errorf("generated token: %v", err)
	}
	again, created, err := LoadOrCreateTokenFile(path)
	if err != nil || created || again != tok {
		t.Errorf("second start: %v, created %v, same token %v", err, created, again == tok)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTokenFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable file: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("x y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTokenFile(bad); err == nil || strings.Contains(err.Error(), "x y") {
		t.Errorf("a file without a token: %v", err)
	}
	if _, err := ReadTokenFile(filepath.Join(dir, "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}

	// Concurrent first starts agree on one token.
	race := filepath.Join(t.TempDir(), AdminTokenFile)
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			tok, _, err := LoadOrCreateTokenFile(race)
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		})
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] {
			t.Fatalf("racing starts disagree: %q", got)
		}
	}
}

// fakeJobs is a JobGetter over a map.
type fakeJobs map[string]*jobs.Job

func (f fakeJobs) GetJob(_ context.Context, id string) (*jobs.Job, error) {
	if j, ok := f[id]; ok {
		return j, nil
	}
	return nil, jobs.Errorf(jobs.ENOTFOUND, "job %q not found", id)
}

func TestChildTokens(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	ct := NewChildTokens(key)
	withChildren := jobs.Spec{ChildJobs: &jobs.ChildJobs{MaxDepth: 1, MaxChildren: 2}}
	store := fakeJobs{
		"run":  {ID: "run", Tenant: "a", Spec: withChildren, Status: jobs.Status{Phase: jobs.PhaseRunning}},
		"done": {ID: "done", Tenant: "a", Spec: withChildren, Status: jobs.Status{Phase: jobs.PhaseSucceeded}},
		"cxl":  {ID: "cxl", Tenant: "a", Spec: withChildren, Status: jobs.Status{Phase: jobs.PhaseRunning}, CancelRequested: true},
		"flat": {ID: "flat", Tenant: "a", Status: jobs.Status{Phase: jobs.PhaseRunning}},
	}
	a := NewAuthenticator(nil, "", nil).WithChildTokens(ct, store)

	p, err := a.Authenticate(t.Context(), ct.Token("run"))
	if err != nil {
		t.Fatal(err)
	}
	want := Principal{TokenID: "job:run", Tenant: "a", Scopes: []Scope{ScopeJobsChildren}, Parent: "run"}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	if _, err := ParseBearer([]string{"Bearer " + ct.Token("run")}); err != nil {
		t.Errorf("a child token is not a valid bearer token: %v", err)
	}

	forged := NewChildTokens(bytes.Repeat([]byte{8}, 32)).Token("run")
	tok := ct.Token("run")
	for name, c := range map[string]struct {
		token, msg string
	}{
		"finished job":          {ct.Token("done"), "token expired"},
		"cancelled job":         {ct.Token("cxl"), "token expired"},
		"job without childJobs": {ct.Token("flat"), "invalid token"},
		"unknown job":           {ct.Token("gone"), "invalid token"},
		"other key":             {forged, "invalid token"},
		"truncated mac":         {tok[:len(tok)-1], "invalid token"},
		"mac of another job":    {"sjc_done" + tok[len("sjc_run"):], "invalid token"},
		"no mac":                {"sjc_run", "invalid token"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Authenticate(t.Context(), c.token)
			if jobs.ErrorCode(err) != jobs.EUNAUTHORIZED || !strings.Contains(jobs.ErrorMessage(err), c.msg) {
				t.Errorf("got %v, want unauthorized %q", err, c.msg)
			}
		})
	}
	// Without WithChildTokens, child tokens are refused.
	if _, err := NewAuthenticator(nil, "", nil).Authenticate(t.Context(), tok); jobs.ErrorCode(err) != jobs.EUNAUTHORIZED {
		t.Errorf("child token accepted by an authenticator without child tokens: %v", err)
	}
}
