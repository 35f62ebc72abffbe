package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
)

var _ auth.TokenStore = (*DB)(nil)

const tokenColumns = `id, name, tenant, scopes, hash, created_at, expires_at`

func tokenNotFound(id string) error {
	return jobs.Errorf(jobs.ENOTFOUND, "token %q not found", id)
}

// CreateToken stores t; ECONFLICT if a token with its ID exists, EINVALID
// if it has no ID.
func (db *DB) CreateToken(ctx context.Context, t auth.Token) error {
	if t.ID == "" {
		return jobs.Errorf(jobs.EINVALID, "id: is required")
	}
	scopes, err := json.Marshal(t.Scopes)
	if err != nil {
		return fmt.Errorf("encoding scopes of token %q: %w", t.ID, err)
	}
	var expires any
	if !t.ExpiresAt.IsZero() {
		expires = formatTime(t.ExpiresAt)
	}
	res, err := db.w.ExecContext(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		t.ID, t.Name, t.Tenant, string(scopes), t.Hash[:], formatTime(t.CreatedAt), expires)
	if err != nil {
		return fmt.Errorf("storing token %q: %w", t.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("storing token %q: %w", t.ID, err)
	}
	if n == 0 {
		return jobs.Errorf(jobs.ECONFLICT, "token %q already exists", t.ID)
	}
	return nil
}

// GetToken returns the token with this ID; ENOTFOUND if none.
func (db *DB) GetToken(ctx context.Context, id string) (auth.Token, error) {
	t, err := scanToken(db.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Token{}, tokenNotFound(id)
	}
	if err != nil {
		return auth.Token{}, fmt.Errorf("reading token %q: %w", id, err)
	}
	return t, nil
}

// ListTokens returns every token, oldest first.
func (db *DB) ListTokens(ctx context.Context) ([]auth.Token, error) {
	var out []auth.Token
	err := queryEach(ctx, db.r, `SELECT `+tokenColumns+` FROM tokens ORDER BY created_at, id`, nil, func(rows *sql.Rows) error {
		t, err := scanToken(rows)
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return out, nil
}

// DeleteToken removes the token; ENOTFOUND if none.
func (db *DB) DeleteToken(ctx context.Context, id string) error {
	res, err := db.w.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("deleting token %q: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("deleting token %q: %w", id, err)
	}
	if n == 0 {
		return tokenNotFound(id)
	}
	return nil
}

func scanToken(row interface{ Scan(dest ...any) error }) (auth.Token, error) {
	var (
		t                 auth.Token
		scopes, createdAt string
		hash              []byte
		expires           sql.NullString
	)
	if err := row.Scan(&t.ID, &t.Name, &t.Tenant, &scopes, &hash, &createdAt, &expires); err != nil {
		return auth.Token{}, err
	}
	if len(hash) != len(t.Hash) {
		return auth.Token{}, fmt.Errorf("token %q: hash of %d bytes", t.ID, len(hash))
	}
	copy(t.Hash[:], hash)
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return auth.Token{}, fmt.Errorf("token %q: decoding scopes: %w", t.ID, err)
	}
	var err error
	if t.CreatedAt, err = parseTime(createdAt); err != nil {
		return auth.Token{}, fmt.Errorf("token %q: %w", t.ID, err)
	}
	if expires.Valid {
		if t.ExpiresAt, err = parseTime(expires.String); err != nil {
			return auth.Token{}, fmt.Errorf("token %q: %w", t.ID, err)
		}
	}
	return t, nil
}
