package jobs

import (
	"context"
	"time"
)

// IdempotencyKeyTTL is how long an idempotency key keeps returning the job it
// created. Older keys are forgotten: the same key then creates a new job.
const IdempotencyKeyTTL = 24 * time.Hour

// MaxIdempotencyKeyLen is the longest idempotency key accepted.
const MaxIdempotencyKeyLen = 255

// IdempotencyKey ties the submission of a job to a key chosen by the client,
// so that a retried submission returns the job the first one created instead
// of creating another.
type IdempotencyKey struct {
	Key string
	// RequestHash identifies the request the key was first used with; the
	// same key with another hash is a conflict.
	RequestHash string
	// NotBefore is the expiry: a stored key created before it is
	// forgotten and replaced.
	NotBefore time.Time
}

// IdempotentStore is the store of idempotent job submission. It is apart from
// Store because only the API needs it.
type IdempotentStore interface {
	// CreateJobIdempotent creates j, as Store.CreateJob does, unless key
	// k.Key was stored at or after k.NotBefore. In one transaction with the
	// job it stores the key, its request hash and a snapshot of j.
	//
	// When the key is known with the same RequestHash, it creates nothing
	// and returns created false with the job the key created: as it is now,
	// or as it was created when it no longer exists (deleted or collected).
	// When the key is known with another hash, it returns the ECONFLICT
	// error of IdempotencyConflict. When it creates j, it returns nil and
	// created true. Concurrent calls with one key create one job.
	CreateJobIdempotent(ctx context.Context, j *Job, k IdempotencyKey) (existing *Job, created bool, err error)
	// IdempotentJob returns the job key k.Key created, as
	// CreateJobIdempotent would, without creating anything: nil when the
	// key is unknown or expired, the ECONFLICT error of
	// IdempotencyConflict when it was used with another RequestHash. It
	// lets a replay be answered before the request is checked again.
	IdempotentJob(ctx context.Context, k IdempotencyKey) (*Job, error)
	// PruneIdempotencyKeys forgets the keys stored before the given time
	// and returns how many it deleted.
	PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error)
}

// IdempotencyConflict is the error of reusing an idempotency key for a
// different request.
func IdempotencyConflict(key string) error {
	return Errorf(ECONFLICT, "Idempotency-Key: %q was already used for a different request; use a new key for a new job", truncate(key))
}
