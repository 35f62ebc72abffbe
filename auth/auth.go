// Package auth decides who may call swarmjob's API: bearer tokens, each bound
// to a tenant and to scopes, checked against a bootstrap admin token and a
// TokenStore. Tokens are random, shown once when created and stored only as
// their SHA-256; they are compared in constant time and never logged.
//
// It depends on package jobs for its error codes only, and on nothing that
// speaks HTTP: the api package reads the Authorization header with
// ParseBearer and asks an Authenticator for the Principal.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/swarmjob/swarmjob/jobs"
)

// Scope is a permission a token carries.
type Scope string

// Scopes. ScopeAdmin implies the other two and reaches every tenant.
const (
	// ScopeJobsRead: get, list, wait on, read the logs, results and events
	// of the tenant's jobs.
	ScopeJobsRead Scope = "jobs:read"
	// ScopeJobsWrite: create, cancel, delete, suspend, resume and patch the
	// tenant's jobs.
	ScopeJobsWrite Scope = "jobs:write"
	// ScopeAdmin: manage tokens, and act on the jobs of every tenant.
	ScopeAdmin Scope = "admin"
)

// Scopes lists every scope, in the order documentation shows them.
var Scopes = []Scope{ScopeJobsRead, ScopeJobsWrite, ScopeAdmin}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return slices.Contains(Scopes, s) }

// DefaultTenant is the tenant of the bootstrap admin token, and of the jobs
// stored before tenants existed.
const DefaultTenant = "default"

// BootstrapTokenID is the token ID of requests made with the bootstrap admin
// token, which is not in the TokenStore.
const BootstrapTokenID = "bootstrap"

// MaxTenantLen is the longest tenant name.
const MaxTenantLen = 63

// tenantRE: lower-case letters, digits, '.' and '-', as DNS labels. No '_',
// so that "<tenant>_" prefixes of volume names cannot overlap.
var tenantRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`)

// ValidateTenant returns EINVALID unless t is a well-formed tenant name.
func ValidateTenant(t string) error {
	if !tenantRE.MatchString(t) {
		return jobs.Errorf(jobs.EINVALID, "tenant: must be 1-%d lower-case letters, digits, '.' and '-', starting and ending with a letter or digit", MaxTenantLen)
	}
	return nil
}

// Principal is who a request acts for: the token's ID, tenant and scopes.
type Principal struct {
	TokenID string
	Tenant  string
	Scopes  []Scope
	// Parent is set for a child-job token: the ID of the job it belongs
	// to. Such a principal sees only that job's children.
	Parent string
}

// Admin reports whether p has the admin scope.
func (p Principal) Admin() bool { return slices.Contains(p.Scopes, ScopeAdmin) }

// Has reports whether p may do what scope s allows: it holds s, or admin.
func (p Principal) Has(s Scope) bool { return p.Admin() || slices.Contains(p.Scopes, s) }

// CanSee reports whether p may see a job of tenant whose parent is parentID
// ("" for a job without one): any job for an admin; a job of its own
// tenant for a tenant's token; for a child-job token, only the children of
// its job.
func (p Principal) CanSee(tenant, parentID string) bool {
	if p.Admin() {
		return true
	}
	if p.Tenant == "" || p.Tenant != tenant {
		return false
	}
	return p.Parent == "" || p.Parent == parentID
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal of ctx, and false when it has none.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Token is a stored token: everything but its secret, of which only the
// SHA-256 is kept.
type Token struct {
	ID     string
	Name   string
	Tenant string
	Scopes []Scope
	// Hash is Hash of the token string.
	Hash      [sha256.Size]byte
	CreatedAt time.Time
	// ExpiresAt is when the token stops working; zero: never.
	ExpiresAt time.Time
}

// Expired reports whether t no longer works at now.
func (t Token) Expired(now time.Time) bool { return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) }

// TokenStore keeps tokens. It is safe for concurrent use. Methods return
// *jobs.Error values with ENOTFOUND or ECONFLICT where those apply, and
// wrapped internal errors otherwise.
type TokenStore interface {
	// CreateToken stores t; ECONFLICT if its ID exists.
	CreateToken(ctx context.Context, t Token) error
	// GetToken returns the token with this ID; ENOTFOUND if none.
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns every token, oldest first.
	ListTokens(ctx context.Context) ([]Token, error)
	// DeleteToken removes the token; ENOTFOUND if none. It stops working
	// at once.
	DeleteToken(ctx context.Context, id string) error
}

// Token strings are tokenPrefix, the token's ID (idLen hex digits), '_' and
// the secret: secretLen random bytes in unpadded base64url. The ID lets the
// store find the token; the whole string is what is hashed.
const (
	tokenPrefix = "sjt_"
	idBytes     = 8
	idLen       = 2 * idBytes
	secretBytes = 32
)

var secretLen = base64.RawURLEncoding.EncodedLen(secretBytes)

// Generate returns a new token string and its ID, from crypto/rand.
func Generate() (id, token string, err error) {
	b := make([]byte, idBytes+secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	id = hex.EncodeToString(b[:idBytes])
	return id, tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(b[idBytes:]), nil
}

// TokenID returns the ID inside a token string made by Generate, and false
// when token does not have that form.
func TokenID(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || len(rest) != idLen+1+secretLen || rest[idLen] != '_' {
		return "", false
	}
	id := rest[:idLen]
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", false
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(rest[idLen+1:]); err != nil {
		return "", false
	}
	return id, true
}

// ValidTokenID reports whether id has the form of the IDs Generate makes.
func ValidTokenID(id string) bool {
	_, err := hex.DecodeString(id)
	return len(id) == idLen && err == nil && strings.ToLower(id) == id
}

// Hash returns the SHA-256 of a token string, which is what is stored.
func Hash(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// maxTokenLen bounds a bearer token; Generate's are 64 characters.
const maxTokenLen = 512

// MinAdminTokenLen is the shortest bootstrap admin token accepted from
// SWARMJOB_ADMIN_TOKEN.
const MinAdminTokenLen = 16

// ValidateAdminToken returns an error unless t is fit to be the bootstrap
// admin token: MinAdminTokenLen to 512 characters that a bearer header can
// carry (letters, digits and -._~+/, then '=' padding).
func ValidateAdminToken(t string) error {
	if len(t) < MinAdminTokenLen || len(t) > maxTokenLen || !isToken68(t) {
		return jobs.Errorf(jobs.EINVALID, "admin token: must be %d to %d characters of letters, digits and -._~+/ (for example: openssl rand -hex 32)", MinAdminTokenLen, maxTokenLen)
	}
	return nil
}

// ParseBearer returns the token of the Authorization header values of a
// request. It returns EUNAUTHORIZED when there is no header, more than one,
// another scheme, or a token that is empty, too long or holds characters a
// bearer token cannot (RFC 6750 b64token). The message never quotes the
// header: it may be a secret.
func ParseBearer(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", jobs.Errorf(jobs.EUNAUTHORIZED, "missing bearer token: send the header Authorization: Bearer <token>")
	case 1:
	default:
		return "", jobs.Errorf(jobs.EUNAUTHORIZED, "Authorization: must be given once, got %d headers", len(values))
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", jobs.Errorf(jobs.EUNAUTHORIZED, "Authorization: must use the Bearer scheme")
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > maxTokenLen || !isToken68(token) {
		return "", jobs.Errorf(jobs.EUNAUTHORIZED, "Authorization: malformed bearer token")
	}
	return token, nil
}

// isToken68 reports whether s is an RFC 7235 token68: 1*( ALPHA / DIGIT /
// "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/':
		default:
			return false
		}
	}
	return true
}

// Authenticator checks bearer tokens. It is safe for concurrent use.
type Authenticator struct {
	store TokenStore
	// admin is the hash of the bootstrap admin token; hasAdmin is false
	// when there is none.
	admin    [sha256.Size]byte
	hasAdmin bool
	now      func() time.Time
	// children and jobs check child-job tokens; nil: none are accepted.
	children *ChildTokens
	jobs     JobGetter
}

// NewAuthenticator returns an Authenticator that accepts adminToken (when
// not empty) as the bootstrap admin token, of tenant DefaultTenant, and the
// unexpired tokens of store. now is its clock (nil: time.Now).
func NewAuthenticator(store TokenStore, adminToken string, now func() time.Time) *Authenticator {
	a := &Authenticator{store: store, now: now}
	if a.now == nil {
		a.now = time.Now
	}
	if adminToken != "" {
		a.admin, a.hasAdmin = Hash(adminToken), true
	}
	return a
}

// errBadToken is the answer for every token that is not valid, whatever the
// reason, so that the answer tells nothing about which tokens exist.
func errBadToken() error {
	return jobs.Errorf(jobs.EUNAUTHORIZED, "invalid token")
}

// Authenticate returns the Principal of token. A child-job token is checked
// by authenticateChild. A token that is unknown,
// malformed or whose hash does not match is EUNAUTHORIZED "invalid token";
// one that matches but expired is EUNAUTHORIZED "token expired". A store
// failure is returned as it is (an internal error). Hashes are compared in
// constant time.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Principal, error) {
	h := Hash(token)
	if a.hasAdmin && subtle.ConstantTimeCompare(h[:], a.admin[:]) == 1 {
		return Principal{TokenID: BootstrapTokenID, Tenant: DefaultTenant, Scopes: []Scope{ScopeAdmin}}, nil
	}
	if IsChildToken(token) {
		return a.authenticateChild(ctx, token)
	}
	id, ok := TokenID(token)
	if !ok || a.store == nil {
		return Principal{}, errBadToken()
	}
	t, err := a.store.GetToken(ctx, id)
	if jobs.IsNotFound(err) {
		return Principal{}, errBadToken()
	}
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare(h[:], t.Hash[:]) != 1 {
		return Principal{}, errBadToken()
	}
	if t.Expired(a.now()) {
		return Principal{}, jobs.Errorf(jobs.EUNAUTHORIZED, "token expired")
	}
	return Principal{TokenID: t.ID, Tenant: t.Tenant, Scopes: slices.Clone(t.Scopes)}, nil
}
