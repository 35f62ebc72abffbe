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

// scopedKey is the idempotency key of a request with key as the
// Idempotency-Key header, for job: keys are per tenant, so the same key of
// two tenants names two jobs and one tenant's key neither conflicts with nor
// returns another's job (tenant names hold no '/'); a child-job token's keys
// are its own (':' is in no tenant name, so these never meet a tenant's).
func scopedKey(job *jobs.Job, key string, req createJob) (jobs.IdempotencyKey, error) {
	hash, err := requestHash(req)
	if err != nil {
		return jobs.IdempotencyKey{}, err
	}
	scoped := job.Tenant + "/" + key
	if job.ParentID != "" {
		scoped = job.Tenant + ":" + job.ParentID + "/" + key
	}
	return jobs.IdempotencyKey{Key: scoped, RequestHash: hash, NotBefore: job.CreatedAt.Add(-jobs.IdempotencyKeyTTL)}, nil
}

// replayed returns the job that an earlier request with the same key and
// body created, before the request is checked again: a replay answers with
// that job even when the policy, or the Swarm's secrets, changed since. It
// returns nil when the key is new (or there is none).
func (s *Server) replayed(ctx context.Context, job *jobs.Job, key string, req createJob) (*jobs.Job, error) {
	if key == "" {
		return nil, nil
	}
	k, err := scopedKey(job, key, req)
	if err != nil {
		return nil, err
	}
	existing, err := s.idem.IdempotentJob(ctx, k)
	return s.checkReplay(job, key, k, existing, err)
}

// storeJob stores job. With an idempotency key, it may instead return the
// job the key created before, when req is the request the key was used with;
// it returns nil when it stored job.
func (s *Server) storeJob(ctx context.Context, job *jobs.Job, key string, req createJob) (*jobs.Job, error) {
	if key == "" {
		return nil, s.store.CreateJob(ctx, job)
	}
	k, err := scopedKey(job, key, req)
	if err != nil {
		return nil, err
	}
	existing, _, err := s.idem.CreateJobIdempotent(ctx, job, k)
	return s.checkReplay(job, key, k, existing, err)
}

// checkReplay vets what the store answered for the scoped key k: another
// tenant's (or parent's) job is never handed out, and a conflict names the
// key as the client knows it, without the scope.
func (s *Server) checkReplay(job *jobs.Job, key string, k jobs.IdempotencyKey, existing *jobs.Job, err error) (*jobs.Job, error) {
	if err == nil && existing != nil && (existing.Tenant != job.Tenant || existing.ParentID != job.ParentID) {
		// Unreachable with scoped keys.
		return nil, jobs.IdempotencyConflict(key)
	}
	if jobs.ErrorMessage(err) == jobs.ErrorMessage(jobs.IdempotencyConflict(k.Key)) {
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
