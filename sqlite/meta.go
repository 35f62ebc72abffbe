package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// InstanceID returns the ID of the swarmjob instance that owns this store,
// creating it on first use. It never changes afterwards.
func (db *DB) InstanceID(ctx context.Context) (string, error) {
	var id string
	err := db.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance_id'`).Scan(&id)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		id = uuid.NewString()
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('instance_id', ?)`, id)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("reading instance ID: %w", err)
	}
	return id, nil
}

// ChildTokenKey returns the secret key that signs the child-job tokens of
// this store's jobs (package auth, ChildTokens), creating it (32 bytes from
// crypto/rand) on first use. It never changes afterwards: tokens already
// handed to running jobs stay valid across restarts.
func (db *DB) ChildTokenKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := db.write(ctx, func(tx *sql.Tx) error {
		var text string
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'child_token_key'`).Scan(&text)
		if err == nil {
			key, err = base64.StdEncoding.DecodeString(text)
			if err == nil && len(key) != childKeyBytes {
				err = fmt.Errorf("%d bytes, want %d", len(key), childKeyBytes)
			}
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		key = make([]byte, childKeyBytes)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('child_token_key', ?)`, base64.StdEncoding.EncodeToString(key))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the child token key: %w", err)
	}
	return key, nil
}

const childKeyBytes = 32

// PolicyDocument returns the policy set through the API (package policy,
// Keeper) and when it was set; ok is false when none was ever set.
func (db *DB) PolicyDocument(ctx context.Context) (doc []byte, setAt time.Time, ok bool, err error) {
	var text, at sql.NullString
	err = db.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT
			(SELECT value FROM meta WHERE key = 'policy'),
			(SELECT value FROM meta WHERE key = 'policy_set_at')`).Scan(&text, &at)
	})
	switch {
	case err != nil:
	case text.Valid && at.Valid:
		doc, ok = []byte(text.String), true
		setAt, err = parseTime(at.String)
	case text.Valid || at.Valid:
		// Both are written together: one alone is a damaged store, which
		// must not read as "no policy" (the looser defaults).
		err = errors.New("the stored policy is incomplete")
	}
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("reading the policy: %w", err)
	}
	return doc, setAt, ok, nil
}

// SetPolicyDocument stores the policy set through the API, replacing any
// earlier one, with when it was set.
func (db *DB) SetPolicyDocument(ctx context.Context, doc []byte, setAt time.Time) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('policy', ?), ('policy_set_at', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, string(doc), formatTime(setAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("storing the policy: %w", err)
	}
	return nil
}
