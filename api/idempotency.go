package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// idempotencyKey returns the Idempotency-Key of a request, "" when it has
// none, or EINVALID when the key is malformed or the store cannot keep keys.
// A key is 1 to jobs.MaxIdempotencyKeyLen printable ASCII characters, given
// once.
func (s *Server) idempotencyKey(h http.Header) (string, error) {
	vals := h.Values(types.HeaderIdempotencyKey)
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", jobs.Errorf(jobs.EINVALID, "%s: must be given once, got %d values", types.HeaderIdempotencyKey, len(vals))
	}
	key := vals[0]
	if key == "" || len(key) > jobs.MaxIdempotencyKeyLen || !printableASCII(key) {
		return "", jobs.Errorf(jobs.EINVALID, "%s: must be 1 to %d printable ASCII characters", types.HeaderIdempotencyKey, jobs.MaxIdempotencyKeyLen)
	}
	if s.idem == nil {
		return "", jobs.Errorf(jobs.EINVALID, "%s: this server's store does not keep idempotency keys", types.HeaderIdempotencyKey)
	}
	return key, nil
}

// storeJob stores job. With an idempotency key, it may instead return the
// job the key created before, when req is the request the key was used with;
// it returns nil when it stored job.
func (s *Server) storeJob(ctx context.Context, job *jobs.Job, key string, req createJob) (*jobs.Job, error) {
	if key == "" {
		return nil, s.store.CreateJob(ctx, job)
	}
	hash, err := requestHash(req)
	if err != nil {
		return nil, err
	}
	// Keys are per tenant: the same key of two tenants names two jobs, and
	// one tenant's key neither conflicts with nor returns another's job.
	// Tenant names hold no '/'.
	scoped := job.Tenant + "/" + key
	if job.ParentID != "" {
		// A child-job token's keys are its own: ':' is in no tenant
		// name, so these never meet a tenant's.
		scoped = job.Tenant + ":" + job.ParentID + "/" + key
	}
	existing, _, err := s.idem.CreateJobIdempotent(ctx, job, jobs.IdempotencyKey{
		Key:         scoped,
		RequestHash: hash,
		NotBefore:   job.CreatedAt.Add(-jobs.IdempotencyKeyTTL),
	})
	if err == nil && existing != nil && (existing.Tenant != job.Tenant || existing.ParentID != job.ParentID) {
		// Unreachable with per-tenant keys; never hand out another
		// tenant's job.
		return nil, jobs.IdempotencyConflict(key)
	}
	if jobs.ErrorMessage(err) == jobs.ErrorMessage(jobs.IdempotencyConflict(scoped)) {
		// The client knows its key without the tenant.
		return nil, jobs.IdempotencyConflict(key)
	}
	return existing, err
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestHash identifies a job request for its idempotency key: the SHA-256,
// in hex, of its canonical JSON, which is the request after conversion and
// defaults, encoded as the API encodes a job's name, labels and spec (fields
// in a fixed order, map keys sorted). Two requests that differ only in
// formatting, key order or defaults given explicitly have the same hash.
func requestHash(req createJob) (string, error) {
	canonical := types.CreateJobRequest{Name: req.Name, Labels: req.Labels, JobSpec: specToWire(req.Spec)}
	b, err := json.Marshal(canonical)
	if err != nil {
		return "", fmt.Errorf("encoding canonical request: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
