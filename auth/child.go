package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/swarmjob/swarmjob/jobs"
)

// ScopeJobsChildren is the one scope of a child-job token: create jobs that
// are children of the token's job, and get, list, wait on, read the logs
// and results of, and cancel those children. It cannot be granted through
// the token routes; only the server mints such tokens, one per job with
// ChildJobs.
const ScopeJobsChildren Scope = "jobs:children"

// childTokenPrefix starts child-job tokens: "sjc_<job ID>_<mac>", where mac
// is the unpadded base64url HMAC-SHA256 of the job ID under the store's
// child token key.
const childTokenPrefix = "sjc_"

// ChildTokens mints and checks child-job tokens. A token is derived from the
// job's ID and a secret key, so the server can hand the same token to every
// attempt of the job, across restarts, without storing it; it works only
// while its job is neither finished nor cancelled (Authenticator checks the
// job on every request), so it dies with its job. It is safe for concurrent
// use.
type ChildTokens struct {
	key []byte
}

// NewChildTokens returns the ChildTokens of key (at least 32 random bytes,
// kept secret by the server).
func NewChildTokens(key []byte) *ChildTokens {
	return &ChildTokens{key: append([]byte(nil), key...)}
}

func (c *ChildTokens) mac(jobID string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("swarmjob child token\x00" + jobID))
	return m.Sum(nil)
}

// Token returns the child-job token of the job jobID.
func (c *ChildTokens) Token(jobID string) string {
	return childTokenPrefix + jobID + "_" + base64.RawURLEncoding.EncodeToString(c.mac(jobID))
}

// jobOf returns the job ID of a well-formed child-job token whose MAC
// matches (compared in constant time), and false otherwise.
func (c *ChildTokens) jobOf(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, childTokenPrefix)
	if !ok {
		return "", false
	}
	i := strings.IndexByte(rest, '_') // job IDs hold no '_'; MACs may
	if i <= 0 {
		return "", false
	}
	jobID := rest[:i]
	got, err := base64.RawURLEncoding.Strict().DecodeString(rest[i+1:])
	if err != nil || !hmac.Equal(got, c.mac(jobID)) {
		return "", false
	}
	return jobID, true
}

// IsChildToken reports whether token has the form of a child-job token,
// without checking it.
func IsChildToken(token string) bool { return strings.HasPrefix(token, childTokenPrefix) }

// JobGetter reads a job; jobs.Store is one. ENOTFOUND for a job that does
// not exist or is being deleted.
type JobGetter interface {
	GetJob(ctx context.Context, id string) (*jobs.Job, error)
}

// jobHeaderGetter is implemented by stores that can read a job without its
// attempts (sqlite.DB): a child-job token is checked on every request, and
// its job may have thousands of attempts.
type jobHeaderGetter interface {
	JobHeader(ctx context.Context, id string) (*jobs.Job, error)
}

// WithChildTokens makes a accept the child-job tokens of c, checking on
// every request with getter that the token's job still exists and is neither
// finished nor cancelled. It returns a.
func (a *Authenticator) WithChildTokens(c *ChildTokens, getter JobGetter) *Authenticator {
	a.children, a.jobs = c, getter
	return a
}

// authenticateChild is Authenticate for a child-job token.
func (a *Authenticator) authenticateChild(ctx context.Context, token string) (Principal, error) {
	if a.children == nil {
		return Principal{}, errBadToken()
	}
	jobID, ok := a.children.jobOf(token)
	if !ok {
		return Principal{}, errBadToken()
	}
	get := a.jobs.GetJob
	if h, ok := a.jobs.(jobHeaderGetter); ok {
		get = h.JobHeader
	}
	j, err := get(ctx, jobID)
	if jobs.IsNotFound(err) {
		return Principal{}, errBadToken()
	}
	if err != nil {
		return Principal{}, err
	}
	if j.Spec.ChildJobs == nil {
		return Principal{}, errBadToken()
	}
	if j.Status.Phase.Terminal() || j.CancelRequested {
		return Principal{}, jobs.Errorf(jobs.EUNAUTHORIZED, "token expired: job %s, which it belongs to, has finished or was cancelled", jobID)
	}
	return Principal{TokenID: "job:" + jobID, Tenant: j.Tenant, Scopes: []Scope{ScopeJobsChildren}, Parent: jobID}, nil
}
