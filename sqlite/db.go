// Package sqlite implements jobs.Store on one SQLite database file, with the
// pure-Go driver modernc.org/sqlite.
//
// The database runs in WAL mode with synchronous=FULL: once a write method
// returns nil, the write is on disk and survives a crash of the process or of
// the machine. The controller relies on that: it removes a Swarm service only
// after the attempt's result was written.
//
// All writes go through a single connection and begin their transactions
// IMMEDIATE, so writers of this process queue in Go instead of failing with
// "database is locked", and a busy_timeout covers other processes and WAL
// checkpoints. Reads use a separate pool of read-only connections; in WAL mode
// they neither wait for writers nor block them.
//
// The schema is created and upgraded by numbered migrations embedded in the
// binary and applied by Open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/swarmjob/swarmjob/jobs"
)

var _ jobs.Store = (*DB)(nil)

// The connection parameters of the two pools, applied by the driver to every
// new connection. busy_timeout (milliseconds) bounds how long a statement
// waits for a lock held by another connection (another process, or a
// checkpoint) before it fails.
const (
	writerParams = "_txlock=immediate" +
		"&_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(1)"
	// query_only makes an accidental write through the reader pool fail
	// instead of competing with the writer for the lock.
	readerParams = "_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=query_only(1)"
)

// DB is a jobs.Store backed by one SQLite database file, returned by Open.
//
// A DB is safe for concurrent use by multiple goroutines. Write methods
// queue for the one writer connection and block until it is free or their
// context ends; read methods use a pool of connections and do not wait for
// writes. Every method returns the *jobs.Error codes its doc names, and
// wrapped internal errors otherwise.
type DB struct {
	// w is the writer pool: one connection, so that the writes of this
	// process are serialised in Go rather than by SQLite's lock.
	w *sql.DB
	// r is the reader pool, read-only connections.
	r *sql.DB
	// onEvents receives the events committed with a change (OnEvents).
	onEvents func(context.Context, []jobs.Event)
}

// Open opens the database file at path, creating it (mode 0600) if it does
// not exist, and brings its schema up to date by applying the embedded
// migrations that are not applied yet. Reopening an up-to-date database
// applies nothing.
//
// Open fails if the file cannot be opened or put in WAL mode, if a migration
// fails (that migration is rolled back), and with an error wrapping
// ErrSchemaTooNew if the database was migrated by a newer swarmjob. The path
// must not contain '?'. The caller must Close the returned DB.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("opening database: path is empty")
	}
	if strings.ContainsRune(path, '?') {
		// The driver takes everything after '?' for its parameters.
		return nil, fmt.Errorf("opening database %q: path must not contain '?'", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening database %q: %w", path, err)
	}
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("opening database %q: %w", path, err)
	}
	migrations, err := loadMigrations(migrationFS)
	if err != nil {
		return nil, fmt.Errorf("loading migrations: %w", err)
	}

	w, err := openWriter(ctx, abs)
	if err != nil {
		return nil, fmt.Errorf("opening database %q: %w", path, err)
	}
	if err := migrate(ctx, w, migrations); err != nil {
		return nil, errors.Join(fmt.Errorf("migrating database %q: %w", path, err), w.Close())
	}

	r, err := sql.Open("sqlite", abs+"?"+readerParams)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("opening database %q: %w", path, err), w.Close())
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("opening database %q for reading: %w", path, err), r.Close(), w.Close())
	}
	return &DB{w: w, r: r}, nil
}

// createPrivate creates the database file with mode 0600 if it does not
// exist: it holds job environments and logs. SQLite gives the -wal and -shm
// files the mode of the database file.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// openWriter opens the single-connection writer pool and checks that the
// database is in WAL mode.
func openWriter(ctx context.Context, path string) (*sql.DB, error) {
	w, err := sql.Open("sqlite", path+"?"+writerParams)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return nil, errors.Join(fmt.Errorf("reading journal mode: %w", err), w.Close())
	}
	if !strings.EqualFold(mode, "wal") {
		// WAL needs shared memory, which some network file systems lack.
		return nil, errors.Join(fmt.Errorf("enabling WAL: journal mode is %q", mode), w.Close())
	}
	return w, nil
}

// Close closes the database. Calls in progress may fail; no method may be
// called after Close.
func (db *DB) Close() error {
	if err := errors.Join(db.r.Close(), db.w.Close()); err != nil {
		return fmt.Errorf("closing database: %w", err)
	}
	return nil
}

// Ping runs a trivial query on a reading connection. It fails if the
// database file cannot be read.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("pinging database: %w", err)
	}
	return nil
}

// querier is what the read helpers need from *sql.DB and *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in an IMMEDIATE transaction on the writer connection and
// commits it if fn returns nil. fn must use only tx: the writer pool has one
// connection, which tx holds.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTx(ctx, db.w, nil, fn)
}

// read runs fn in a read transaction, so that its queries see one snapshot.
func (db *DB) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTx(ctx, db.r, &sql.TxOptions{ReadOnly: true}, fn)
}

func inTx(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		// ErrTxDone: database/sql already rolled back because ctx ended.
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rolling back: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// queryEach runs query and calls fn for each row. It closes the rows and
// returns the first error of the query, of fn, of the iteration or of Close.
func queryEach(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) (err error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryStrings runs query, whose rows hold one text column (job IDs), and
// returns the values in row order.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	var out []string
	err := queryEach(ctx, q, query, args, func(rows *sql.Rows) error {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
