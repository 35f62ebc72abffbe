package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes a consistent copy of the store at path to the new file dest
// (mode 0600: it holds job environments, logs and the child token key),
// while a server may be using the store: SQLite's VACUUM INTO copies one
// read snapshot, so the copy is a state the store really had, with every
// committed write up to some instant and none after. The store is never
// migrated or otherwise changed. Backup refuses a
// file that is not a swarmjob store and a dest that exists.
//
// To restore, stop the server, replace <data-dir>/swarmjob.db with the copy
// and remove swarmjob.db-wal and swarmjob.db-shm next to it. The copy keeps
// the store's instance ID, so the restored server owns the same services:
// never run the original and the restored store at once.
func Backup(ctx context.Context, path, dest string) error {
	for _, p := range []string{path, dest} {
		if p == "" || strings.ContainsRune(p, '?') {
			return fmt.Errorf("backup: path %q must be non-empty and without '?'", p)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	out, err := filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// Created first, empty and private, so that the copy is never readable
	// by others, and an existing file is never overwritten.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	keep := false
	defer func() {
		if !keep {
			os.Remove(out)
		}
	}()

	// Not read-only: VACUUM INTO needs a connection that may write, though
	// it writes only to dest. Nothing here changes the store.
	db, err := sql.Open("sqlite", abs+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup: opening %s: %w", path, err)
	}
	defer db.Close()
	var instance string
	if err := db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance_id'`).Scan(&instance); err != nil {
		if errors.Is(err, sql.ErrNoRows) || strings.Contains(err.Error(), "no such table") {
			return fmt.Errorf("backup: %s is not a swarmjob store", path)
		}
		return fmt.Errorf("backup: reading %s: %w", path, err)
	}
	// VACUUM INTO wants the file absent or empty; it is empty.
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		return fmt.Errorf("backup: copying %s to %s: %w", path, dest, err)
	}
	if err := os.Chmod(out, 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	keep = true
	return nil
}
