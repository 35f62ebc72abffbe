package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
