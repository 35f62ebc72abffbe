package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrSchemaTooNew is wrapped by the error Open returns for a database whose
// schema was migrated by a newer version of swarmjob than the running one.
// Such a database is left untouched.
var ErrSchemaTooNew = errors.New("database schema is newer than this swarmjob supports")

// migrationFS holds the schema migrations, named NNNN_description.sql. Each
// is applied once, in version order, in its own transaction. Applied
// migrations must never be edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads migrations/*.sql from fsys and returns them in version
// order. Versions must be 1, 2, 3, … without gaps or duplicates.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	paths, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	ms := make([]migration, 0, len(paths))
	for _, p := range paths {
		name := path.Base(p)
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version < 1 {
			return nil, fmt.Errorf("migration %q: name must be NNNN_description.sql with NNNN >= 1", name)
		}
		text, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("reading migration %q: %w", name, err)
		}
		ms = append(ms, migration{version: version, name: name, sql: string(text)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %q: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// ErrForeignDatabase is returned by Open for an SQLite database that has
// tables but was not created by swarmjob.
var ErrForeignDatabase = errors.New("not a swarmjob database: it has tables but no swarmjob schema; refusing to modify it")

// migrate applies to w the migrations that the database has not recorded in
// schema_migrations yet, each in its own IMMEDIATE transaction together with
// its record, so that a failed migration leaves no trace and a concurrent
// opener of the same file does not apply it twice.
func migrate(ctx context.Context, w *sql.DB, ms []migration) error {
	// A database with tables but no migration record is someone else's:
	// refuse it rather than add swarmjob's tables to it.
	var foreign int
	err := w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations')`).Scan(&foreign)
	if err != nil {
		return fmt.Errorf("inspecting database: %w", err)
	}
	if foreign > 0 {
		return ErrForeignDatabase
	}
	const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	) STRICT`
	if _, err := w.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	known := len(ms)
	current, err := schemaVersion(ctx, w, known)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		err := inTx(ctx, w, nil, func(tx *sql.Tx) error {
			// Another process may have migrated since current was read;
			// this read is under the write lock.
			v, err := schemaVersion(ctx, tx, known)
			if err != nil || v >= m.version {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, formatTime(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("applying migration %q: %w", m.name, err)
		}
	}
	return nil
}

// schemaVersion returns the highest applied migration version, 0 for a new
// database, and an error wrapping ErrSchemaTooNew if it exceeds known.
func schemaVersion(ctx context.Context, q querier, known int) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	if v > known {
		return 0, fmt.Errorf("%w: the database is at schema version %d, this binary knows versions up to %d; run a newer swarmjob", ErrSchemaTooNew, v, known)
	}
	return v, nil
}
