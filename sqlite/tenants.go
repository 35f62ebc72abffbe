package sqlite

import (
	"context"
	"fmt"
)

// ActiveAttempts returns how many attempts of the tenant's jobs are active:
// recorded and not finished.
func (db *DB) ActiveAttempts(ctx context.Context, tenant string) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `
		SELECT count(*) FROM attempts a JOIN jobs j ON a.job_seq = j.seq
		WHERE j.tenant = ? AND a.removed = 0
		  AND json_extract(a.record, '$.state') NOT IN ('succeeded', 'failed', 'stopped')`, tenant).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting active attempts of tenant %q: %w", tenant, err)
	}
	return n, nil
}
