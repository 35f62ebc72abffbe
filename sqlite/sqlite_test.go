package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

// openTest opens a new database in a temporary directory and closes it at
// the end of the test.
func openTest(t testing.TB) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "swarmjob.db"))
}

func openAt(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func create(t testing.TB, db *DB, js ...*jobs.Job) {
	t.Helper()
	for _, j := range js {
		if err := db.CreateJob(t.Context(), j); err != nil {
			t.Fatalf("CreateJob(%q): %v", j.ID, err)
		}
	}
}

// wantCode fails the test unless err carries the domain error code (""
// means nil).
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := jobs.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func ptr[T any](v T) *T { return &v }

// zone is a non-UTC zone with a half-hour offset, to catch times that are
// not normalised.
var zone = time.FixedZone("X", 5*3600+1800)

// newJob returns a minimal job.
func newJob(id string) *jobs.Job {
	return &jobs.Job{
		ID:        id,
		CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Spec:      jobs.Spec{Image: "alpine:3"},
		Status:    jobs.Status{Phase: jobs.PhasePending},
	}
}

// fullJob returns a job with every field set, times in a non-UTC zone.
func fullJob(id string) *jobs.Job {
	created := time.Date(2025, 3, 1, 12, 0, 0, 123456789, zone)
	started := created.Add(1500 * time.Millisecond)
	return &jobs.Job{
		ID:        id,
		Name:      "nightly-report",
		Tenant:    "team-a",
		Labels:    map[string]string{"team": "data", "env": "prod"},
		CreatedAt: created,
		Spec: jobs.Spec{
			Image:        "registry.example.com/report:1.2",
			Command:      []string{"/bin/sh", "-c"},
			Args:         []string{"echo hi", ""},
			Env:          map[string]string{"A": "1", "EMPTY": ""},
			WorkingDir:   "/work",
			User:         "1000:1000",
			BackoffLimit: 3,
			// Not whole milliseconds: the store must not round.
			Backoff:               jobs.Backoff{Initial: 1500 * time.Microsecond, Max: 90*time.Second + 1, Multiplier: 1.5, Jitter: 0.25},
			ActiveDeadlineSeconds: 3600,
			Completions:           10,
			Parallelism:           3,
			CompletionMode:        jobs.Indexed,
			BackoffLimitPerIndex:  ptrTo(2),
			MaxFailedIndexes:      ptrTo(4),
			FailurePolicy: &jobs.FailurePolicy{Rules: []jobs.FailureRule{
				{Action: jobs.ActionFailJob, OnExitCodes: &jobs.ExitCodes{Operator: "In", Values: []int{42, 43}}},
				{Action: jobs.ActionIgnore, OnReasons: []string{jobs.AttemptReasonNodeLost}},
			}},
			SuccessPolicy: &jobs.SuccessPolicy{Rules: []jobs.SuccessRule{
				{SucceededIndexes: "0-3,7"}, {SucceededCount: ptrTo(5)},
			}},
			AttemptDeadlineSeconds: 60,
			Suspend:                true,
			MaxLogBytes:            4096,
			Secrets:                []jobs.FileRef{{Name: "team-a_db", Target: "db", UID: "0", GID: "0", Mode: 0o400}, {Name: "x", Target: "/etc/x", UID: "1", GID: "2"}},
			Configs:                []jobs.FileRef{},
			Resources: jobs.Resources{
				Limits:       jobs.ResourceAmounts{CPUs: 1.5, MemoryBytes: 512 << 20},
				Reservations: jobs.ResourceAmounts{CPUs: 0.1, MemoryBytes: 64 << 20},
			},
			Placement: jobs.Placement{Constraints: []string{"node.role==worker"}},
			Networks:  []string{},
			Mounts: []jobs.Mount{
				{Type: jobs.MountBind, Source: "/srv/data", Target: "/data", ReadOnly: true},
				{Type: jobs.MountVolume, Source: "team-a_cache", Target: "/cache"},
				{Type: jobs.MountTmpfs, Target: "/tmp"},
			},
		},
		Status: jobs.Status{
			Phase:            jobs.PhaseRunning,
			Reason:           jobs.ReasonBackoff,
			Message:          "waiting",
			StartedAt:        &started,
			Active:           1,
			Failed:           1,
			CompletedIndexes: "0-2",
			FailedIndexes:    "5",
			Conditions:       []jobs.Condition{{Type: "Suspended", Status: true, Reason: "Suspended", Message: "m", Time: created}},
			Attempts: []jobs.Attempt{
				fullAttempt(0, 0),
				{Index: 0, Attempt: 1, State: jobs.AttemptCreating, CreatedAt: started},
			},
		},
		CancelRequested: true,
	}
}

// fullAttempt returns a finished attempt with every field set.
func fullAttempt(index, attempt int) jobs.Attempt {
	created := time.Date(2025, 3, 1, 12, 0, 1, 1, zone)
	return jobs.Attempt{
		Index:      index,
		Attempt:    attempt,
		Service:    fmt.Sprintf("swarmjob-abc-%d-%d", index, attempt),
		ServiceID:  "svc123",
		Task:       "task456",
		Node:       "node789",
		State:      jobs.AttemptFailed,
		ExitCode:   ptr(0),
		Error:      "task: non-zero exit (1)",
		CreatedAt:  created,
		StartedAt:  ptr(created.Add(time.Nanosecond)),
		FinishedAt: ptr(created.Add(time.Minute)),
		LogBytes:   1 << 20,
		Truncated:  true,
		Removed:    true,
	}
}

// inUTC returns a deep enough copy of j with all its times in UTC and its
// phase defaulted, which is what the store returns for j.
func inUTC(j *jobs.Job) *jobs.Job {
	c := *j
	c.CreatedAt = c.CreatedAt.UTC()
	// Unset batch fields read back with their defaults.
	if c.Spec.Completions == 0 {
		c.Spec.Completions = 1
	}
	if c.Spec.Parallelism == 0 {
		c.Spec.Parallelism = 1
	}
	if c.Spec.CompletionMode == "" {
		c.Spec.CompletionMode = jobs.NonIndexed
	}
	if c.Spec.Backoff.Multiplier == 0 {
		c.Spec.Backoff.Multiplier = jobs.DefaultBackoffMultiplier
	}
	for i := range c.Status.Conditions {
		c.Status.Conditions[i].Time = c.Status.Conditions[i].Time.UTC()
	}
	if c.Status.Phase == "" {
		c.Status.Phase = jobs.PhasePending
	}
	c.Status.StartedAt = utcPtr(c.Status.StartedAt)
	c.Status.FinishedAt = utcPtr(c.Status.FinishedAt)
	c.Status.Attempts = nil
	for _, a := range j.Status.Attempts {
		c.Status.Attempts = append(c.Status.Attempts, attemptInUTC(a))
	}
	return &c
}

func attemptInUTC(a jobs.Attempt) jobs.Attempt {
	a.CreatedAt = a.CreatedAt.UTC()
	a.StartedAt = utcPtr(a.StartedAt)
	a.FinishedAt = utcPtr(a.FinishedAt)
	return a
}

// checkUTC fails unless every time of j is in UTC: cmp compares times with
// Equal, which ignores the location.
func checkUTC(t *testing.T, j *jobs.Job) {
	t.Helper()
	check := func(what string, tm *time.Time) {
		if tm != nil && tm.Location() != time.UTC {
			t.Errorf("%s location = %v, want UTC", what, tm.Location())
		}
	}
	check("CreatedAt", &j.CreatedAt)
	check("Status.StartedAt", j.Status.StartedAt)
	check("Status.FinishedAt", j.Status.FinishedAt)
	for _, a := range j.Status.Attempts {
		check("Attempt.CreatedAt", &a.CreatedAt)
		check("Attempt.StartedAt", a.StartedAt)
		check("Attempt.FinishedAt", a.FinishedAt)
	}
}

func ids(js []*jobs.Job) []string {
	out := make([]string, 0, len(js))
	for _, j := range js {
		out = append(out, j.ID)
	}
	return out
}

// count returns the number of rows of a table.
func count(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.r.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

func TestOpenSettings(t *testing.T) {
	db := openTest(t)
	for _, tc := range []struct {
		pool   string
		pragma string
		want   string
	}{
		{"writer", "journal_mode", "wal"},
		{"writer", "synchronous", "2"}, // FULL
		{"writer", "foreign_keys", "1"},
		{"writer", "busy_timeout", "10000"},
		{"reader", "journal_mode", "wal"},
		{"reader", "query_only", "1"},
		{"reader", "busy_timeout", "10000"},
	} {
		t.Run(tc.pool+"/"+tc.pragma, func(t *testing.T) {
			pool := db.w
			if tc.pool == "reader" {
				pool = db.r
			}
			var got string
			if err := pool.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
		})
	}
}

func TestOpenInvalidPath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, path, want string
	}{
		{"empty", "", "path is empty"},
		{"question mark", filepath.Join(dir, "a?b.db"), "must not contain '?'"},
		{"missing directory", filepath.Join(dir, "missing", "swarmjob.db"), "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(t.Context(), tc.path)
			if err == nil {
				t.Cleanup(func() {
					if err := db.Close(); err != nil {
						t.Error(err)
					}
				})
				t.Fatalf("Open(%q) succeeded", tc.path)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q) = %v, want an error containing %q", tc.path, err, tc.want)
			}
		})
	}
}

func TestReopenKeepsDataAndAppliesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarmjob.db")
	known, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	j := fullJob("job-1")
	k := jobs.AttemptKey{JobID: j.ID}

	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	create(t, db, j)
	if err := db.AppendLog(t.Context(), k, 0, jobs.Stdout, []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	for i := range 2 {
		db := openAt(t, path)
		got, err := db.GetJob(t.Context(), j.ID)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if diff := cmp.Diff(inUTC(j), got); diff != "" {
			t.Errorf("reopen %d: job (-want +got):\n%s", i, diff)
		}
		var logs []jobs.LogChunk
		if err := db.ReadLogs(t.Context(), jobs.LogQuery{JobID: j.ID}, func(c jobs.LogChunk) error {
			logs = append(logs, c)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		wantLogs := []jobs.LogChunk{{Stream: jobs.Stdout, Data: []byte("hello\n")}}
		if diff := cmp.Diff(wantLogs, logs); diff != "" {
			t.Errorf("reopen %d: logs (-want +got):\n%s", i, diff)
		}
		if n := count(t, db, "schema_migrations"); n != len(known) {
			t.Errorf("reopen %d: %d migrations recorded, want %d", i, n, len(known))
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarmjob.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	known, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	newer := len(known) + 1
	if _, err := db.w.ExecContext(t.Context(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', '')`, newer); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(t.Context(), path)
	if err == nil {
		if cerr := db.Close(); cerr != nil {
			t.Error(cerr)
		}
		t.Fatal("Open succeeded on a database with a newer schema")
	}
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open error = %v, want ErrSchemaTooNew", err)
	}
	want := fmt.Sprintf("schema version %d, this binary knows versions up to %d", newer, len(known))
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Open error = %q, want it to contain %q", err, want)
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for _, tc := range []struct {
		name     string
		fsys     fstest.MapFS
		versions []int
		wantErr  string
	}{
		{"none", fstest.MapFS{}, []int{}, ""},
		{
			"sorted by number, not by name",
			fstest.MapFS{
				"migrations/10_j.sql":   file("j"),
				"migrations/0002_b.sql": file("b"),
				"migrations/1_a.sql":    file("a"),
				"migrations/3_c.sql":    file("c"),
				"migrations/4_d.sql":    file("d"),
				"migrations/5_e.sql":    file("e"),
				"migrations/6_f.sql":    file("f"),
				"migrations/7_g.sql":    file("g"),
				"migrations/8_h.sql":    file("h"),
				"migrations/9_i.sql":    file("i"),
				"migrations/README.md":  file("ignored"),
			},
			[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "",
		},
		{"gap", fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/0003_c.sql": file("")}, nil, `"0003_c.sql": expected version 2`},
		{"duplicate", fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/0001_b.sql": file("")}, nil, "expected version 2"},
		{"no number", fstest.MapFS{"migrations/init.sql": file("")}, nil, "name must be NNNN_description.sql"},
		{"zero", fstest.MapFS{"migrations/0000_init.sql": file("")}, nil, "name must be NNNN_description.sql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.fsys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadMigrations error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			versions := []int{}
			for _, m := range ms {
				versions = append(versions, m.version)
			}
			if diff := cmp.Diff(tc.versions, versions); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	m1 := migration{1, "0001_a.sql", "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"}
	m2 := migration{2, "0002_b.sql", "INSERT INTO a VALUES (2); CREATE TABLE b (y INTEGER);"}
	bad := migration{2, "0002_bad.sql", "CREATE TABLE b (y INTEGER); INSERT INTO nope VALUES (1);"}
	for _, tc := range []struct {
		name     string
		runs     [][]migration
		wantErr  string
		versions []int
		rowsOfA  int  // rows in a: each applied migration inserts one
		tableB   bool // whether table b exists
	}{
		{"all at once", [][]migration{{m1, m2}}, "", []int{1, 2}, 2, true},
		{"one then both", [][]migration{{m1}, {m1, m2}}, "", []int{1, 2}, 2, true},
		{"idempotent", [][]migration{{m1, m2}, {m1, m2}, {m1, m2}}, "", []int{1, 2}, 2, true},
		{"failure rolls back", [][]migration{{m1, bad}}, `applying migration "0002_bad.sql"`, []int{1}, 1, false},
		{"newer database", [][]migration{{m1, m2}, {m1}}, "schema version 2, this binary knows versions up to 1", []int{1, 2}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := openWriter(t.Context(), filepath.Join(t.TempDir(), "m.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := w.Close(); err != nil {
					t.Error(err)
				}
			})
			for i, ms := range tc.runs {
				err = migrate(t.Context(), w, ms)
				if i < len(tc.runs)-1 && err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
			}
			if tc.wantErr == "" && err != nil {
				t.Fatalf("migrate: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("migrate error = %v, want one containing %q", err, tc.wantErr)
			}

			versions := []int{}
			if err := queryEach(t.Context(), w, "SELECT version FROM schema_migrations ORDER BY version", nil, func(rows *sql.Rows) error {
				var v int
				if err := rows.Scan(&v); err != nil {
					return err
				}
				versions = append(versions, v)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.versions, versions); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
			var rows, b int
			if err := w.QueryRowContext(t.Context(), "SELECT count(*) FROM a").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != tc.rowsOfA {
				t.Errorf("table a has %d rows, want %d", rows, tc.rowsOfA)
			}
			if err := w.QueryRowContext(t.Context(), "SELECT count(*) FROM sqlite_schema WHERE name = 'b'").Scan(&b); err != nil {
				t.Fatal(err)
			}
			if (b == 1) != tc.tableB {
				t.Errorf("table b exists = %v, want %v", b == 1, tc.tableB)
			}
		})
	}
}

func TestCreateAndGetJob(t *testing.T) {
	noPhase := newJob("no-phase")
	noPhase.Status.Phase = ""
	terminal := newJob("terminal")
	terminal.Status = jobs.Status{Phase: jobs.PhaseSucceeded, Reason: jobs.ReasonCompleted, Succeeded: 1,
		StartedAt: ptr(time.Unix(0, 1).In(zone)), FinishedAt: ptr(time.Unix(2, 3).In(zone))}
	zeroTimes := &jobs.Job{ID: "zero-times", Status: jobs.Status{Attempts: []jobs.Attempt{{}}}}

	for _, tc := range []struct {
		name string
		job  *jobs.Job
	}{
		{"minimal", newJob("minimal")},
		{"every field", fullJob("full")},
		{"phase defaults to Pending", noPhase},
		{"terminal with times", terminal},
		{"zero times", zeroTimes},
		{"empty slices stay empty", &jobs.Job{ID: "empty", Labels: map[string]string{}, Spec: jobs.Spec{
			Command: []string{}, Args: []string{}, Env: map[string]string{}, Networks: []string{},
			Placement: jobs.Placement{Constraints: []string{}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			before := *tc.job
			create(t, db, tc.job)
			if diff := cmp.Diff(&before, tc.job); diff != "" {
				t.Errorf("CreateJob modified its argument (-before +after):\n%s", diff)
			}
			want := inUTC(tc.job)
			if len(want.Labels) == 0 {
				want.Labels = nil // documented: no labels read back as nil
			}
			for _, get := range []func(context.Context, string) (*jobs.Job, error){db.GetJob, db.GetJobForSync} {
				got, err := get(t.Context(), tc.job.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("job (-want +got):\n%s", diff)
				}
				checkUTC(t, got)
			}
		})
	}
}

func TestCreateJobErrors(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("taken"))
	deleting := newJob("deleting")
	deleting.DeleteRequested = true
	create(t, db, deleting)
	badPhase := newJob("bad-phase")
	badPhase.Status.Phase = "Sleeping"

	for _, tc := range []struct {
		name     string
		job      *jobs.Job
		code     string
		wantText string
	}{
		{"duplicate id", newJob("taken"), jobs.ECONFLICT, `job "taken" already exists`},
		{"duplicate of a job being deleted", newJob("deleting"), jobs.ECONFLICT, `job "deleting" already exists`},
		{"empty id", newJob(""), jobs.EINVALID, "id: is required"},
		{"unknown phase", badPhase, jobs.EINVALID, `status.phase: unknown phase "Sleeping"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.CreateJob(t.Context(), tc.job)
			wantCode(t, err, tc.code)
			if got := jobs.ErrorMessage(err); got != tc.wantText {
				t.Errorf("message = %q, want %q", got, tc.wantText)
			}
		})
	}
	if n := count(t, db, "jobs"); n != 2 {
		t.Errorf("%d jobs stored, want 2", n)
	}
}

func TestGetJobNotFound(t *testing.T) {
	db := openTest(t)
	deleting := newJob("deleting")
	deleting.DeleteRequested = true
	create(t, db, deleting)

	for _, tc := range []struct {
		name    string
		id      string
		forSync bool
		found   bool
	}{
		{"missing", "missing", false, false},
		{"missing for sync", "missing", true, false},
		{"being deleted", "deleting", false, false},
		{"being deleted for sync", "deleting", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			get := db.GetJob
			if tc.forSync {
				get = db.GetJobForSync
			}
			j, err := get(t.Context(), tc.id)
			if tc.found {
				if err != nil || j.ID != tc.id || !j.DeleteRequested {
					t.Fatalf("got %+v, %v; want job %q being deleted", j, err, tc.id)
				}
				return
			}
			wantCode(t, err, jobs.ENOTFOUND)
			if want := fmt.Sprintf("job %q not found", tc.id); jobs.ErrorMessage(err) != want {
				t.Errorf("message = %q, want %q", jobs.ErrorMessage(err), want)
			}
		})
	}
}

func TestListJobsFilters(t *testing.T) {
	db := openTest(t)
	mk := func(id string, phase jobs.Phase, labels map[string]string) *jobs.Job {
		j := newJob(id)
		j.Status.Phase = phase
		j.Labels = labels
		return j
	}
	deleting := mk("deleting", jobs.PhasePending, map[string]string{"team": "a"})
	deleting.DeleteRequested = true
	create(t, db,
		mk("j1", jobs.PhasePending, map[string]string{"team": "a", "env": "prod"}),
		mk("j2", jobs.PhaseRunning, map[string]string{"team": "a", "env": "dev"}),
		mk("j3", jobs.PhaseSucceeded, map[string]string{"team": "b", "env": "prod"}),
		mk("j4", jobs.PhaseFailed, nil),
		mk("j5", jobs.PhasePending, map[string]string{"team": "b"}),
		deleting,
	)
	for _, tc := range []struct {
		name   string
		filter jobs.Filter
		want   []string
	}{
		{"all, newest first, not the deleted one", jobs.Filter{}, []string{"j5", "j4", "j3", "j2", "j1"}},
		{"phase", jobs.Filter{Phase: jobs.PhasePending}, []string{"j5", "j1"}},
		{"phase without matches", jobs.Filter{Phase: jobs.PhaseCancelled}, []string{}},
		{"one label", jobs.Filter{Selector: sel(t, "team=a")}, []string{"j2", "j1"}},
		{"all labels must match", jobs.Filter{Selector: sel(t, "team=a,env=prod")}, []string{"j1"}},
		{"label value differs", jobs.Filter{Selector: sel(t, "team=c")}, []string{}},
		{"label key missing", jobs.Filter{Selector: sel(t, "owner=a")}, []string{}},
		{"empty label value is not a wildcard", jobs.Filter{Selector: sel(t, "team=")}, []string{}},
		{"phase and label", jobs.Filter{Phase: jobs.PhasePending, Selector: sel(t, "team=b")}, []string{"j5"}},
		{"empty selector", jobs.Filter{Selector: jobs.Selector{}}, []string{"j5", "j4", "j3", "j2", "j1"}},
		{"not equal includes jobs without the label", jobs.Filter{Selector: sel(t, "team!=a")}, []string{"j5", "j4", "j3"}},
		{"exists", jobs.Filter{Selector: sel(t, "env")}, []string{"j3", "j2", "j1"}},
		{"does not exist", jobs.Filter{Selector: sel(t, "!env")}, []string{"j5", "j4"}},
		{"equal and not equal", jobs.Filter{Selector: sel(t, "env=prod,team!=a")}, []string{"j3"}},
		{"oldest first", jobs.Filter{Order: jobs.OrderAsc}, []string{"j1", "j2", "j3", "j4", "j5"}},
		{"oldest first with a filter", jobs.Filter{Order: jobs.OrderAsc, Selector: sel(t, "team=b")}, []string{"j3", "j5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := db.ListJobs(t.Context(), tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(page.Jobs)); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
			if page.NextCursor != "" {
				t.Errorf("NextCursor = %q on the only page", page.NextCursor)
			}
		})
	}

	t.Run("unknown phase", func(t *testing.T) {
		_, err := db.ListJobs(t.Context(), jobs.Filter{Phase: "Sleeping"})
		wantCode(t, err, jobs.EINVALID)
		if !strings.HasPrefix(jobs.ErrorMessage(err), "phase:") {
			t.Errorf("message %q does not name phase", jobs.ErrorMessage(err))
		}
	})
}

func TestListJobsReturnsDetails(t *testing.T) {
	db := openTest(t)
	full := fullJob("full")
	create(t, db, newJob("bare"), full, newJob("other"))
	extra := attemptInUTC(fullAttempt(1, 0))
	if err := db.PutAttempt(t.Context(), "other", extra); err != nil {
		t.Fatal(err)
	}
	page, err := db.ListJobs(t.Context(), jobs.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	other := inUTC(newJob("other"))
	other.Status.Attempts = []jobs.Attempt{extra}
	want := []*jobs.Job{other, inUTC(full), inUTC(newJob("bare"))}
	if diff := cmp.Diff(want, page.Jobs); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
}

func TestListJobsLimit(t *testing.T) {
	db := openTest(t)
	const n = MaxListLimit + 20
	// One transaction for all: creating them one by one would cost n fsyncs.
	err := db.write(t.Context(), func(tx *sql.Tx) error {
		for i := range n {
			if _, err := tx.ExecContext(t.Context(), `
				INSERT INTO jobs (id, name, created_at, phase, terminal, spec, status, cancel_requested, delete_requested)
				VALUES (?, '', ?, 'Pending', 0, '{}', '{}', 0, 0)`, fmt.Sprintf("job-%04d", i), formatTime(time.Time{})); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit, want int
	}{
		{0, DefaultListLimit},
		{-1, DefaultListLimit},
		{1, 1},
		{37, 37},
		{MaxListLimit, MaxListLimit},
		{MaxListLimit + 1, MaxListLimit},
		{1 << 30, MaxListLimit},
	} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			page, err := db.ListJobs(t.Context(), jobs.Filter{Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Jobs) != tc.want {
				t.Errorf("%d jobs, want %d", len(page.Jobs), tc.want)
			}
			if page.NextCursor == "" {
				t.Error("NextCursor is empty, but more jobs exist")
			}
			if got, want := page.Jobs[0].ID, fmt.Sprintf("job-%04d", n-1); got != want {
				t.Errorf("first job = %q, want the newest, %q", got, want)
			}
		})
	}
}

func TestListJobsPaging(t *testing.T) {
	const total = 250
	for _, tc := range []struct {
		name      string
		filter    jobs.Filter
		wantPages int
	}{
		{"default limit", jobs.Filter{}, 3},
		{"page size 30", jobs.Filter{Limit: 30}, 9},
		{"page size divides the total", jobs.Filter{Limit: 50}, 5},
		{"page size 1", jobs.Filter{Limit: 1}, total},
		{"label filter, page size 7", jobs.Filter{Limit: 7, Selector: sel(t, "parity=even")}, 18},
		{"phase filter, page size 40", jobs.Filter{Limit: 40, Phase: jobs.PhaseRunning}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			var want []string
			for i := range total {
				j := newJob(fmt.Sprintf("job-%03d", i))
				j.Labels = map[string]string{"parity": []string{"even", "odd"}[i%2]}
				if i%2 == 0 {
					j.Status.Phase = jobs.PhaseRunning
				}
				create(t, db, j)
				if i%2 == 0 || (tc.filter.Selector == nil && tc.filter.Phase == "") {
					want = append([]string{j.ID}, want...)
				}
			}

			var got []string
			f := tc.filter
			for pages := 1; ; pages++ {
				page, err := db.ListJobs(t.Context(), f)
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				limit := f.Limit
				if limit == 0 {
					limit = DefaultListLimit
				}
				if len(page.Jobs) > limit {
					t.Fatalf("page %d has %d jobs, limit %d", pages, len(page.Jobs), limit)
				}
				got = append(got, ids(page.Jobs)...)
				if page.NextCursor == "" {
					if pages != tc.wantPages {
						t.Errorf("%d pages, want %d", pages, tc.wantPages)
					}
					break
				}
				if pages > total {
					t.Fatal("paging does not end")
				}
				// Jobs created between pages, matching every filter, must
				// not shift the pages that follow.
				for k := range 2 {
					j := newJob(fmt.Sprintf("new-%d-%d", pages, k))
					j.Labels = map[string]string{"parity": "even"}
					j.Status.Phase = jobs.PhaseRunning
					create(t, db, j)
				}
				f.Cursor = page.NextCursor
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("IDs over all pages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListJobsInvalidCursor(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("j"))
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, cursor string
	}{
		{"not base64", "!!!"},
		{"padded", "MQ=="},
		{"not a number", b64("abc")},
		{"zero", b64("0")},
		{"negative", b64("-1")},
		{"leading zero", b64("01")},
		{"plus sign", b64("+1")},
		{"overflow", b64("99999999999999999999")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.ListJobs(t.Context(), jobs.Filter{Cursor: tc.cursor})
			wantCode(t, err, jobs.EINVALID)
			if !strings.HasPrefix(jobs.ErrorMessage(err), "cursor:") {
				t.Errorf("message %q does not name cursor", jobs.ErrorMessage(err))
			}
		})
	}
}

func TestUpdateStatus(t *testing.T) {
	finished := time.Date(2025, 3, 1, 13, 0, 0, 999, zone)
	for _, tc := range []struct {
		name   string
		status jobs.Status
	}{
		{"to running", jobs.Status{Phase: jobs.PhaseRunning, Active: 2}},
		{"to terminal with every field", jobs.Status{Phase: jobs.PhaseFailed, Reason: jobs.ReasonBackoffLimitExceeded,
			Message: "3 attempts failed", StartedAt: ptr(finished.Add(-time.Hour)), FinishedAt: &finished, Failed: 3}},
		{"attempts in the status are ignored", jobs.Status{Phase: jobs.PhaseRunning,
			Attempts: []jobs.Attempt{{Index: 9, Attempt: 9, State: jobs.AttemptSucceeded}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			j := fullJob("j")
			create(t, db, j)
			if err := db.UpdateStatus(t.Context(), j.ID, tc.status); err != nil {
				t.Fatal(err)
			}
			got, err := db.GetJob(t.Context(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			// Only the status changes, except its attempts; the flags stay.
			attempts := j.Status.Attempts
			j.Status = tc.status
			j.Status.Attempts = attempts
			if diff := cmp.Diff(inUTC(j), got); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
			checkUTC(t, got)
		})
	}

	t.Run("errors", func(t *testing.T) {
		db := openTest(t)
		deleting := newJob("deleting")
		deleting.DeleteRequested = true
		create(t, db, deleting)
		for _, tc := range []struct {
			name, id string
			status   jobs.Status
			code     string
		}{
			{"missing job", "missing", jobs.Status{Phase: jobs.PhaseRunning}, jobs.ENOTFOUND},
			{"job being deleted is updated", "deleting", jobs.Status{Phase: jobs.PhaseCancelled}, ""},
			{"empty phase", "deleting", jobs.Status{}, jobs.EINVALID},
			{"unknown phase", "deleting", jobs.Status{Phase: "Sleeping"}, jobs.EINVALID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, db.UpdateStatus(t.Context(), tc.id, tc.status), tc.code)
			})
		}
	})
}

func TestRequestCancel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		deleting  bool // the job is already being deleted
		missing   bool
		del       bool
		code      string
		wantGet   bool // GetJob still finds the job
		wantFlags [2]bool
	}{
		{name: "cancel", del: false, wantGet: true, wantFlags: [2]bool{true, false}},
		{name: "delete", del: true, wantFlags: [2]bool{true, true}},
		{name: "cancel a job being deleted", deleting: true, del: false, code: jobs.ENOTFOUND, wantFlags: [2]bool{false, true}},
		{name: "delete a job being deleted", deleting: true, del: true, code: jobs.ENOTFOUND, wantFlags: [2]bool{false, true}},
		{name: "missing job", missing: true, code: jobs.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			j := fullJob("j")
			j.CancelRequested, j.DeleteRequested = false, tc.deleting
			if !tc.missing {
				create(t, db, j)
			}
			got, err := db.RequestCancel(t.Context(), j.ID, tc.del)
			wantCode(t, err, tc.code)
			if tc.code == "" {
				want := inUTC(j)
				want.CancelRequested, want.DeleteRequested = tc.wantFlags[0], tc.wantFlags[1]
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("returned job (-want +got):\n%s", diff)
				}
			}
			if tc.missing {
				return
			}

			_, err = db.GetJob(t.Context(), j.ID)
			page, lerr := db.ListJobs(t.Context(), jobs.Filter{})
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tc.wantGet {
				wantCode(t, err, "")
				if len(page.Jobs) != 1 {
					t.Errorf("ListJobs returned %d jobs, want 1", len(page.Jobs))
				}
			} else {
				wantCode(t, err, jobs.ENOTFOUND)
				if len(page.Jobs) != 0 {
					t.Errorf("ListJobs returned %v, want none", ids(page.Jobs))
				}
			}
			synced, err := db.GetJobForSync(t.Context(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := [2]bool{synced.CancelRequested, synced.DeleteRequested}; got != tc.wantFlags {
				t.Errorf("flags (cancel, delete) = %v, want %v", got, tc.wantFlags)
			}
		})
	}

	t.Run("cancel then delete", func(t *testing.T) {
		db := openTest(t)
		create(t, db, newJob("j"))
		for _, del := range []bool{false, false, true} {
			if _, err := db.RequestCancel(t.Context(), "j", del); err != nil {
				t.Fatalf("RequestCancel(del=%v): %v", del, err)
			}
		}
		_, err := db.RequestCancel(t.Context(), "j", false)
		wantCode(t, err, jobs.ENOTFOUND)
	})
}

func TestDeleteJob(t *testing.T) {
	db := openTest(t)
	create(t, db, fullJob("gone"), fullJob("kept"))
	for _, id := range []string{"gone", "kept"} {
		for i := range 3 {
			if err := db.AppendLog(t.Context(), jobs.AttemptKey{JobID: id}, i, jobs.Stdout, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 2 {
		if err := db.DeleteJob(t.Context(), "gone"); err != nil {
			t.Fatalf("DeleteJob #%d: %v", i+1, err)
		}
	}
	if err := db.DeleteJob(t.Context(), "never-existed"); err != nil {
		t.Fatalf("DeleteJob of a missing job: %v", err)
	}
	_, err := db.GetJobForSync(t.Context(), "gone")
	wantCode(t, err, jobs.ENOTFOUND)
	for _, tc := range []struct {
		table string
		want  int // rows of "kept"
	}{{"jobs", 1}, {"job_labels", 2}, {"attempts", 2}, {"logs", 3}} {
		if n := count(t, db, tc.table); n != tc.want {
			t.Errorf("%s has %d rows, want %d", tc.table, n, tc.want)
		}
	}
	if _, err := db.GetJob(t.Context(), "kept"); err != nil {
		t.Errorf("GetJob(kept): %v", err)
	}
}

func TestUnfinishedJobIDs(t *testing.T) {
	db := openTest(t)
	mk := func(id string, phase jobs.Phase, deleting bool, removed ...bool) {
		j := newJob(id)
		j.Status.Phase = phase
		j.DeleteRequested = deleting
		for i, r := range removed {
			j.Status.Attempts = append(j.Status.Attempts, jobs.Attempt{Attempt: i, State: jobs.AttemptFailed, Removed: r})
		}
		create(t, db, j)
	}
	mk("pending", jobs.PhasePending, false)
	mk("running", jobs.PhaseRunning, false, true, false)
	mk("succeeded-clean", jobs.PhaseSucceeded, false, true, true)
	mk("succeeded-service-left", jobs.PhaseSucceeded, false, true, false)
	mk("failed-no-attempts", jobs.PhaseFailed, false)
	mk("cancelled-deleting", jobs.PhaseCancelled, true, true)
	mk("cancelled-clean", jobs.PhaseCancelled, false, true)

	got, err := db.UnfinishedJobIDs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pending", "running", "succeeded-service-left", "cancelled-deleting"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}

	// Finishing the work removes the jobs from the list.
	steps := []func() error{
		func() error { return db.UpdateStatus(t.Context(), "pending", jobs.Status{Phase: jobs.PhaseCancelled}) },
		func() error { return db.UpdateStatus(t.Context(), "running", jobs.Status{Phase: jobs.PhaseFailed}) },
		func() error {
			return db.PutAttempt(t.Context(), "running", jobs.Attempt{Attempt: 1, State: jobs.AttemptFailed, Removed: true})
		},
		func() error {
			return db.PutAttempt(t.Context(), "succeeded-service-left", jobs.Attempt{Attempt: 1, State: jobs.AttemptFailed, Removed: true})
		},
		func() error { return db.DeleteJob(t.Context(), "cancelled-deleting") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	got, err = db.UnfinishedJobIDs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("unfinished after the work is done: %v", got)
	}
}

func TestPutAttempt(t *testing.T) {
	for _, tc := range []struct {
		name string
		puts []jobs.Attempt
		want []jobs.Attempt
	}{
		{"zero attempt", []jobs.Attempt{{}}, []jobs.Attempt{{}}},
		{"every field", []jobs.Attempt{fullAttempt(0, 0)}, []jobs.Attempt{fullAttempt(0, 0)}},
		{"exit code zero is not nil", []jobs.Attempt{{State: jobs.AttemptSucceeded, ExitCode: ptr(0)}},
			[]jobs.Attempt{{State: jobs.AttemptSucceeded, ExitCode: ptr(0)}}},
		{"negative exit code", []jobs.Attempt{{ExitCode: ptr(-1)}}, []jobs.Attempt{{ExitCode: ptr(-1)}}},
		{"replace clears fields", []jobs.Attempt{fullAttempt(0, 0), {State: jobs.AttemptCreating}},
			[]jobs.Attempt{{State: jobs.AttemptCreating}}},
		{"replace sets fields", []jobs.Attempt{{State: jobs.AttemptCreating}, fullAttempt(0, 0)},
			[]jobs.Attempt{fullAttempt(0, 0)}},
		{"ordered by index then attempt", []jobs.Attempt{
			{Index: 1, Attempt: 0}, {Index: 0, Attempt: 2}, {Index: 10, Attempt: 0}, {Index: 0, Attempt: 0}, {Index: 1, Attempt: 1}, {Index: 2, Attempt: 0},
		}, []jobs.Attempt{
			{Index: 0, Attempt: 0}, {Index: 0, Attempt: 2}, {Index: 1, Attempt: 0}, {Index: 1, Attempt: 1}, {Index: 2, Attempt: 0}, {Index: 10, Attempt: 0},
		}},
		{"times keep nanoseconds across zones", []jobs.Attempt{{
			CreatedAt:  time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("W", -8*3600)),
			StartedAt:  ptr(time.Date(2000, 1, 1, 0, 0, 0, 1, zone)),
			FinishedAt: ptr(time.Unix(0, 0)),
		}}, []jobs.Attempt{{
			CreatedAt:  time.Date(2000, 1, 1, 7, 59, 59, 999999999, time.UTC),
			StartedAt:  ptr(time.Date(1999, 12, 31, 18, 30, 0, 1, time.UTC)),
			FinishedAt: ptr(time.Unix(0, 0).UTC()),
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			create(t, db, newJob("j"))
			for _, a := range tc.puts {
				if err := db.PutAttempt(t.Context(), "j", a); err != nil {
					t.Fatal(err)
				}
			}
			got, err := db.GetJob(t.Context(), "j")
			if err != nil {
				t.Fatal(err)
			}
			want := make([]jobs.Attempt, len(tc.want))
			for i, a := range tc.want {
				want[i] = attemptInUTC(a)
			}
			if diff := cmp.Diff(want, got.Status.Attempts); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			checkUTC(t, got)
		})
	}

	t.Run("missing job", func(t *testing.T) {
		db := openTest(t)
		wantCode(t, db.PutAttempt(t.Context(), "missing", jobs.Attempt{}), jobs.ENOTFOUND)
	})
}

// readAll returns the chunks ReadLogs passes for q.
func readAll(t *testing.T, db *DB, q jobs.LogQuery) []jobs.LogChunk {
	t.Helper()
	var got []jobs.LogChunk
	if err := db.ReadLogs(t.Context(), q, func(c jobs.LogChunk) error {
		got = append(got, c)
		return nil
	}); err != nil {
		t.Fatalf("ReadLogs(%+v): %v", q, err)
	}
	return got
}

func TestReadLogs(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("j"), newJob("other"))
	type chunk struct {
		index, attempt, seq int
		stream              jobs.Stream
	}
	// Appended out of order, to show that reads order by (index, attempt,
	// seq) and not by insertion.
	appends := []chunk{
		{1, 0, 0, jobs.Stdout},
		{0, 1, 1, jobs.Stderr},
		{0, 0, 2, jobs.Stdout},
		{0, 0, 0, jobs.Stdout},
		{0, 1, 0, jobs.Stdout},
		{0, 0, 1, jobs.Stderr},
		{1, 1, 0, jobs.Stderr},
		{0, 0, 10, jobs.Stderr},
	}
	data := func(c chunk) []byte {
		return fmt.Appendf(nil, "2025-03-01T12:00:00Z %d/%d #%d %s\n", c.index, c.attempt, c.seq, c.stream)
	}
	for _, c := range appends {
		if err := db.AppendLog(t.Context(), jobs.AttemptKey{JobID: "j", Index: c.index, Attempt: c.attempt}, c.seq, c.stream, data(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AppendLog(t.Context(), jobs.AttemptKey{JobID: "other"}, 0, jobs.Stdout, []byte("other job\n")); err != nil {
		t.Fatal(err)
	}
	want := func(cs ...chunk) []jobs.LogChunk {
		var out []jobs.LogChunk
		for _, c := range cs {
			out = append(out, jobs.LogChunk{Index: c.index, Attempt: c.attempt, Stream: c.stream, Data: data(c)})
		}
		return out
	}

	for _, tc := range []struct {
		name string
		q    jobs.LogQuery
		want []jobs.LogChunk
	}{
		{"everything", jobs.LogQuery{JobID: "j"}, want(
			chunk{0, 0, 0, jobs.Stdout}, chunk{0, 0, 1, jobs.Stderr}, chunk{0, 0, 2, jobs.Stdout}, chunk{0, 0, 10, jobs.Stderr},
			chunk{0, 1, 0, jobs.Stdout}, chunk{0, 1, 1, jobs.Stderr},
			chunk{1, 0, 0, jobs.Stdout}, chunk{1, 1, 0, jobs.Stderr})},
		{"both streams named", jobs.LogQuery{JobID: "j", Stdout: true, Stderr: true}, want(
			chunk{0, 0, 0, jobs.Stdout}, chunk{0, 0, 1, jobs.Stderr}, chunk{0, 0, 2, jobs.Stdout}, chunk{0, 0, 10, jobs.Stderr},
			chunk{0, 1, 0, jobs.Stdout}, chunk{0, 1, 1, jobs.Stderr},
			chunk{1, 0, 0, jobs.Stdout}, chunk{1, 1, 0, jobs.Stderr})},
		{"stdout", jobs.LogQuery{JobID: "j", Stdout: true}, want(
			chunk{0, 0, 0, jobs.Stdout}, chunk{0, 0, 2, jobs.Stdout}, chunk{0, 1, 0, jobs.Stdout}, chunk{1, 0, 0, jobs.Stdout})},
		{"stderr", jobs.LogQuery{JobID: "j", Stderr: true}, want(
			chunk{0, 0, 1, jobs.Stderr}, chunk{0, 0, 10, jobs.Stderr}, chunk{0, 1, 1, jobs.Stderr}, chunk{1, 1, 0, jobs.Stderr})},
		{"attempt 0 of every index", jobs.LogQuery{JobID: "j", Attempt: ptr(0)}, want(
			chunk{0, 0, 0, jobs.Stdout}, chunk{0, 0, 1, jobs.Stderr}, chunk{0, 0, 2, jobs.Stdout}, chunk{0, 0, 10, jobs.Stderr},
			chunk{1, 0, 0, jobs.Stdout})},
		{"attempt 1, stderr", jobs.LogQuery{JobID: "j", Attempt: ptr(1), Stderr: true}, want(
			chunk{0, 1, 1, jobs.Stderr}, chunk{1, 1, 0, jobs.Stderr})},
		{"attempt without logs", jobs.LogQuery{JobID: "j", Attempt: ptr(7)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, readAll(t, db, tc.q)); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadLogsInBatches(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("j"))
	k := jobs.AttemptKey{JobID: "j"}
	const n = 3*logBatch + 5
	var want []jobs.LogChunk
	for seq := range n {
		stream := jobs.Stream(1 + seq%2)
		d := bytes.Repeat([]byte{byte(seq)}, seq)
		if err := db.AppendLog(t.Context(), k, seq, stream, d); err != nil {
			t.Fatal(err)
		}
		if seq == 0 {
			d = nil // the driver reads an empty blob as nil
		}
		want = append(want, jobs.LogChunk{Stream: stream, Data: d})
	}
	got := readAll(t, db, jobs.LogQuery{JobID: "j"})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}

	// fn may write to the store: ReadLogs holds no connection while fn
	// runs. A chunk appended after the last one read is returned too.
	var seen int
	err := db.ReadLogs(t.Context(), jobs.LogQuery{JobID: "j"}, func(jobs.LogChunk) error {
		seen++
		if seen == 1 {
			return db.AppendLog(t.Context(), k, n, jobs.Stdout, []byte("late\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != n+1 {
		t.Errorf("fn called %d times, want %d", seen, n+1)
	}
}

func TestReadLogsStopsAtError(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("j"))
	for seq := range 2 * logBatch {
		if err := db.AppendLog(t.Context(), jobs.AttemptKey{JobID: "j"}, seq, jobs.Stdout, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	errStop := errors.New("client went away")
	for _, stopAt := range []int{1, logBatch, logBatch + 1} {
		t.Run(fmt.Sprint(stopAt), func(t *testing.T) {
			calls := 0
			err := db.ReadLogs(t.Context(), jobs.LogQuery{JobID: "j"}, func(jobs.LogChunk) error {
				calls++
				if calls == stopAt {
					return errStop
				}
				return nil
			})
			if !errors.Is(err, errStop) {
				t.Errorf("ReadLogs = %v, want fn's error unchanged", err)
			}
			if calls != stopAt {
				t.Errorf("fn called %d times, want %d", calls, stopAt)
			}
		})
	}
}

func TestLogErrors(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("j"))
	deleting := newJob("deleting")
	deleting.DeleteRequested = true
	create(t, db, deleting)
	k := jobs.AttemptKey{JobID: "j", Index: 1, Attempt: 2}
	if err := db.AppendLog(t.Context(), k, 0, jobs.Stdout, []byte("a")); err != nil {
		t.Fatal(err)
	}
	noop := func(jobs.LogChunk) error { return nil }
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"append to missing job", db.AppendLog(t.Context(), jobs.AttemptKey{JobID: "missing"}, 0, jobs.Stdout, nil), jobs.ENOTFOUND},
		{"append existing seq", db.AppendLog(t.Context(), k, 0, jobs.Stderr, []byte("b")), jobs.ECONFLICT},
		{"append same seq to another attempt", db.AppendLog(t.Context(), jobs.AttemptKey{JobID: "j"}, 0, jobs.Stdout, nil), ""},
		{"append to job being deleted", db.AppendLog(t.Context(), jobs.AttemptKey{JobID: "deleting"}, 0, jobs.Stdout, nil), ""},
		{"unknown stream", db.AppendLog(t.Context(), k, 1, jobs.Stream(3), nil), jobs.EINVALID},
		{"stream zero", db.AppendLog(t.Context(), k, 1, 0, nil), jobs.EINVALID},
		{"read missing job", db.ReadLogs(t.Context(), jobs.LogQuery{JobID: "missing"}, noop), jobs.ENOTFOUND},
		{"read job being deleted", db.ReadLogs(t.Context(), jobs.LogQuery{JobID: "deleting"}, noop), jobs.ENOTFOUND},
		{"delete logs of missing job", db.DeleteLogs(t.Context(), jobs.AttemptKey{JobID: "missing"}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.err, tc.code) })
	}
	if got := readAll(t, db, jobs.LogQuery{JobID: "j", Attempt: ptr(2)}); len(got) != 1 || string(got[0].Data) != "a" {
		t.Errorf("after a conflicting append, attempt 2 holds %+v, want the first chunk only", got)
	}
}

func TestDeleteLogs(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("j"), newJob("other"))
	keys := []jobs.AttemptKey{{JobID: "j"}, {JobID: "j", Attempt: 1}, {JobID: "j", Index: 1}, {JobID: "other"}}
	for _, k := range keys {
		for seq := range 3 {
			if err := db.AppendLog(t.Context(), k, seq, jobs.Stdout, []byte(k.JobID)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.DeleteLogs(t.Context(), jobs.AttemptKey{JobID: "j"}); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, db, jobs.LogQuery{JobID: "j"})
	var where []jobs.AttemptKey
	for _, c := range got {
		where = append(where, jobs.AttemptKey{JobID: "j", Index: c.Index, Attempt: c.Attempt})
	}
	want := []jobs.AttemptKey{keys[1], keys[1], keys[1], keys[2], keys[2], keys[2]}
	if diff := cmp.Diff(want, where); diff != "" {
		t.Errorf("remaining chunks of j (-want +got):\n%s", diff)
	}
	if n := len(readAll(t, db, jobs.LogQuery{JobID: "other"})); n != 3 {
		t.Errorf("other job has %d chunks, want 3", n)
	}
	// The capture starts over at seq 0.
	if err := db.AppendLog(t.Context(), jobs.AttemptKey{JobID: "j"}, 0, jobs.Stdout, []byte("again")); err != nil {
		t.Errorf("AppendLog after DeleteLogs: %v", err)
	}
}

// TestConcurrentUse runs writers and readers of every kind at once. Run it
// with -race; any error, "database is locked" among them, fails it.
func TestConcurrentUse(t *testing.T) {
	db := openTest(t)
	const (
		jobCount = 4
		rounds   = 40
	)
	for i := range jobCount {
		create(t, db, newJob(fmt.Sprintf("job-%d", i)))
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1024)

	var wg sync.WaitGroup
	worker := func(name string, fn func(i int) error) {
		wg.Go(func() {
			for i := range rounds {
				if err := fn(i); err != nil {
					t.Errorf("%s round %d: %v", name, i, err)
					return
				}
			}
		})
	}
	for w := range jobCount {
		id := fmt.Sprintf("job-%d", w)
		worker("AppendLog "+id, func(i int) error {
			return db.AppendLog(t.Context(), jobs.AttemptKey{JobID: id}, i, jobs.Stream(1+i%2), chunk)
		})
		worker("PutAttempt "+id, func(i int) error {
			return db.PutAttempt(t.Context(), id, jobs.Attempt{Attempt: i % 5, State: jobs.AttemptCreating, LogBytes: int64(i)})
		})
		worker("ReadLogs "+id, func(int) error {
			return db.ReadLogs(t.Context(), jobs.LogQuery{JobID: id}, func(c jobs.LogChunk) error {
				if !bytes.Equal(c.Data, chunk) {
					return errors.New("chunk data differs")
				}
				return nil
			})
		})
		worker("UpdateStatus "+id, func(i int) error {
			return db.UpdateStatus(t.Context(), id, jobs.Status{Phase: jobs.PhaseRunning, Active: i})
		})
	}
	worker("ListJobs", func(int) error {
		page, err := db.ListJobs(t.Context(), jobs.Filter{Limit: 3})
		if err == nil && len(page.Jobs) == 0 {
			err = errors.New("no jobs listed")
		}
		return err
	})
	worker("GetJob", func(i int) error {
		_, err := db.GetJob(t.Context(), fmt.Sprintf("job-%d", i%jobCount))
		return err
	})
	worker("UnfinishedJobIDs", func(int) error {
		_, err := db.UnfinishedJobIDs(t.Context())
		return err
	})
	worker("CreateJob and RequestCancel", func(i int) error {
		id := fmt.Sprintf("extra-%d", i)
		if err := db.CreateJob(t.Context(), fullJob(id)); err != nil {
			return err
		}
		_, err := db.RequestCancel(t.Context(), id, i%2 == 0)
		return err
	})
	worker("CreateJob, AppendLog and DeleteJob", func(i int) error {
		id := fmt.Sprintf("gone-%d", i)
		if err := db.CreateJob(t.Context(), fullJob(id)); err != nil {
			return err
		}
		if err := db.AppendLog(t.Context(), jobs.AttemptKey{JobID: id}, 0, jobs.Stdout, chunk); err != nil {
			return err
		}
		return db.DeleteJob(t.Context(), id)
	})
	worker("Ping", func(int) error { return db.Ping(t.Context()) })
	wg.Wait()

	for i := range jobCount {
		if n := len(readAll(t, db, jobs.LogQuery{JobID: fmt.Sprintf("job-%d", i)})); n != rounds {
			t.Errorf("job-%d has %d chunks, want %d", i, n, rounds)
		}
	}
}

func BenchmarkAppendLog(b *testing.B) {
	db := openTest(b)
	create(b, db, newJob("j"))
	chunk := bytes.Repeat([]byte("2025-03-01T12:00:00Z some output line\n"), (64<<10)/38)
	k := jobs.AttemptKey{JobID: "j"}
	b.SetBytes(int64(len(chunk)))
	seq := 0
	for b.Loop() {
		if err := db.AppendLog(b.Context(), k, seq, jobs.Stdout, chunk); err != nil {
			b.Fatal(err)
		}
		seq++
	}
}

// FuzzDecodeCursor checks that any client-supplied cursor is either refused
// with EINVALID or is exactly the encoding of a positive seq.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{"", "MQ", "MQ==", "MTAw", "LTE", "!!", "YTE", encodeCursor(1<<62, jobs.OrderDesc), encodeCursor(1<<62, jobs.OrderAsc)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		for _, order := range []jobs.Order{jobs.OrderDesc, jobs.OrderAsc} {
			seq, err := decodeCursor(cursor, order)
			if err != nil {
				if jobs.ErrorCode(err) != jobs.EINVALID {
					t.Fatalf("decodeCursor(%q, %s) error %v is not EINVALID", cursor, order, err)
				}
				continue
			}
			if seq < 1 || encodeCursor(seq, order) != cursor {
				t.Fatalf("decodeCursor(%q, %s) = %d, which encodes as %q", cursor, order, seq, encodeCursor(seq, order))
			}
		}
	})
}

func ptrTo[T any](v T) *T { return &v }

func TestPatchSpec(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("p1"))
	three, yes := 3, true
	got, err := db.PatchSpec(t.Context(), "p1", jobs.SpecPatch{Parallelism: &three})
	if err != nil || got.Spec.Parallelism != 3 || got.Spec.Suspend {
		t.Fatalf("patch parallelism: %+v, %v", got, err)
	}
	got, err = db.PatchSpec(t.Context(), "p1", jobs.SpecPatch{Suspend: &yes})
	if err != nil || got.Spec.Parallelism != 3 || !got.Spec.Suspend {
		t.Fatalf("patch suspend: %+v, %v", got, err)
	}
	reread, err := db.GetJob(t.Context(), "p1")
	if err != nil || reread.Spec.Parallelism != 3 || !reread.Spec.Suspend || reread.Spec.Image != "alpine:3" {
		t.Fatalf("reread: %+v, %v", reread, err)
	}
	if _, err := db.PatchSpec(t.Context(), "nope", jobs.SpecPatch{Parallelism: &three}); !jobs.IsNotFound(err) {
		t.Errorf("unknown job: err = %v, want not found", err)
	}
	if err := db.UpdateStatus(t.Context(), "p1", jobs.Status{Phase: jobs.PhaseSucceeded}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PatchSpec(t.Context(), "p1", jobs.SpecPatch{Parallelism: &three}); jobs.ErrorCode(err) != jobs.ECONFLICT {
		t.Errorf("finished job: err = %v, want conflict", err)
	}
	if _, err := db.RequestCancel(t.Context(), "p1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PatchSpec(t.Context(), "p1", jobs.SpecPatch{Parallelism: &three}); !jobs.IsNotFound(err) {
		t.Errorf("job being deleted: err = %v, want not found", err)
	}
}

func TestReadLogsByIndex(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("li"))
	for idx := range 3 {
		for att := range 2 {
			k := jobs.AttemptKey{JobID: "li", Index: idx, Attempt: att}
			if err := db.AppendLog(t.Context(), k, 0, jobs.Stdout, []byte(fmt.Sprintf("%d/%d\n", idx, att))); err != nil {
				t.Fatal(err)
			}
		}
	}
	read := func(q jobs.LogQuery) string {
		var b strings.Builder
		if err := db.ReadLogs(t.Context(), q, func(c jobs.LogChunk) error { b.Write(c.Data); return nil }); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	one, zero := 1, 0
	if got := read(jobs.LogQuery{JobID: "li", Index: &one}); got != "1/0\n1/1\n" {
		t.Errorf("index 1 = %q", got)
	}
	if got := read(jobs.LogQuery{JobID: "li", Index: &one, Attempt: &zero}); got != "1/0\n" {
		t.Errorf("index 1 attempt 0 = %q", got)
	}
	if got := read(jobs.LogQuery{JobID: "li", Attempt: &one}); got != "0/1\n1/1\n2/1\n" {
		t.Errorf("attempt 1 of every index = %q", got)
	}
}

func TestInstanceIDIsStable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarmjob.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	first, err := db.InstanceID(t.Context())
	if err != nil || first == "" {
		t.Fatalf("InstanceID = %q, %v", first, err)
	}
	again, _ := db.InstanceID(t.Context())
	db.Close()
	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reopened, _ := db.InstanceID(t.Context())
	if again != first || reopened != first {
		t.Errorf("instance IDs %q, %q, %q; want one stable ID", first, again, reopened)
	}
}

func TestOpenRefusesForeignAndCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.db")
	if err := os.WriteFile(corrupt, bytes.Repeat([]byte("not a database "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), corrupt); err == nil || !strings.Contains(err.Error(), "not a database") {
		t.Errorf("corrupt file: err = %v, want a clear error", err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	raw, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := Open(t.Context(), foreign); !errors.Is(err, ErrForeignDatabase) {
		t.Errorf("foreign database: err = %v, want ErrForeignDatabase", err)
	}
	raw, _ = sql.Open("sqlite", foreign)
	defer raw.Close()
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'jobs'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("foreign database was modified: jobs tables %d, %v", n, err)
	}
}

func TestExpiredJobs(t *testing.T) {
	db := openTest(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	finished := func(id string, ago time.Duration, ttl *int64, phase jobs.Phase, liveService bool) {
		t.Helper()
		j := newJob(id)
		j.Spec.TTLSecondsAfterFinished = ttl
		create(t, db, j)
		fin := base.Add(-ago)
		if err := db.UpdateStatus(t.Context(), id, jobs.Status{Phase: phase, FinishedAt: &fin}); err != nil {
			t.Fatal(err)
		}
		if err := db.PutAttempt(t.Context(), id, jobs.Attempt{State: jobs.AttemptSucceeded, Removed: !liveService, CreatedAt: fin}); err != nil {
			t.Fatal(err)
		}
	}
	ttl60, ttl0 := int64(60), int64(0)
	finished("old", 48*time.Hour, nil, jobs.PhaseSucceeded, false)
	finished("ttl-passed", 2*time.Minute, &ttl60, jobs.PhaseFailed, false)
	finished("ttl-pending", 30*time.Second, &ttl60, jobs.PhaseSucceeded, false)
	finished("ttl-zero", time.Second, &ttl0, jobs.PhaseSucceeded, false)
	finished("old-but-service-live", 48*time.Hour, nil, jobs.PhaseSucceeded, true)
	finished("recent", time.Minute, nil, jobs.PhaseSucceeded, false)
	create(t, db, newJob("running")) // Pending: never expires

	tests := []struct {
		name   string
		maxAge time.Duration
		keep   int
		want   []string
	}{
		{"ttl only", 0, 0, []string{"ttl-passed", "ttl-zero"}},
		{"age", 24 * time.Hour, 0, []string{"old", "ttl-passed", "ttl-zero"}},
		{"count keeps the newest finished", 0, 2, []string{"old", "ttl-passed", "ttl-pending", "ttl-zero"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.ExpiredJobs(t.Context(), base, tt.maxAge, tt.keep, 100)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("expired (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActiveAttemptsPerTenant(t *testing.T) {
	db := openTest(t)
	for _, tc := range []struct{ id, tenant string }{{"a1", "a"}, {"a2", "a"}, {"b1", "b"}} {
		j := newJob(tc.id)
		j.Tenant = tc.tenant
		create(t, db, j)
	}
	put := func(id string, attempt int, st jobs.AttemptState) {
		t.Helper()
		if err := db.PutAttempt(t.Context(), id, jobs.Attempt{Attempt: attempt, State: st}); err != nil {
			t.Fatal(err)
		}
	}
	put("a1", 0, "running")
	put("a1", 1, jobs.AttemptCreating)
	put("a1", 2, jobs.AttemptFailed)
	put("a2", 0, "pending")
	put("b1", 0, "running")
	for tenant, want := range map[string]int{"a": 3, "b": 1, "c": 0} {
		if got, err := db.ActiveAttempts(t.Context(), tenant); err != nil || got != want {
			t.Errorf("tenant %s: %d, %v; want %d", tenant, got, err, want)
		}
	}
}
