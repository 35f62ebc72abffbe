package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
)

func TestListJobsByTenant(t *testing.T) {
	db := openTest(t)
	for _, j := range []struct{ id, tenant string }{{"a1", "a"}, {"b1", "b"}, {"a2", "a"}, {"ab", "a-b"}} {
		job := newJob(j.id)
		job.Tenant = j.tenant
		create(t, db, job)
	}
	for tenant, want := range map[string][]string{"a": {"a2", "a1"}, "b": {"b1"}, "a-b": {"ab"}, "c": {}, "": {"ab", "a2", "b1", "a1"}} {
		page, err := db.ListJobs(t.Context(), jobs.Filter{Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, ids(page.Jobs)); diff != "" {
			t.Errorf("tenant %q (-want +got):\n%s", tenant, diff)
		}
	}
	j, err := db.GetJob(t.Context(), "b1")
	if err != nil || j.Tenant != "b" {
		t.Errorf("GetJob: tenant %q, %v", j.Tenant, err)
	}
}

// Jobs and events stored before tenants existed belong to the default
// tenant.
func TestMigrationGivesOldRowsTheDefaultTenant(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarmjob.db")
	known, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// The schema as of migration 4, with one job and one event in it.
	if err := migrate(t.Context(), raw, known[:4]); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO jobs (id, name, created_at, phase, terminal, spec, status, cancel_requested, delete_requested)
			VALUES ('old', '', '2025-01-01T00:00:00.000000000Z', 'Pending', 0, '{"image":"busybox"}', '{}', 0, 0)`,
		`INSERT INTO events (time, type, job_id, record) VALUES ('2025-01-01T00:00:00.000000000Z', 'job.created', 'old', '{}')`,
	} {
		if _, err := raw.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	db := openAt(t, path)
	j, err := db.GetJob(t.Context(), "old")
	if err != nil || j.Tenant != auth.DefaultTenant {
		t.Errorf("old job: tenant %q, %v", j.Tenant, err)
	}
	es := readEvents(t, db, 0, 10)
	if len(es) != 1 || es[0].Tenant != auth.DefaultTenant {
		t.Errorf("old events: %+v", es)
	}
}

func TestEventTenant(t *testing.T) {
	db := openTest(t)
	job := newJob("j")
	job.Tenant = "a"
	create(t, db, job)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	got := appendEvents(t, db,
		// Given: kept.
		jobs.Event{Time: now, Type: jobs.EventJobCreated, JobID: "j", Tenant: "a"},
		// Not given: the job's.
		jobs.Event{Time: now, Type: jobs.EventPhaseChanged, JobID: "j"},
		// A job nobody knows: none.
		jobs.Event{Time: now, Type: jobs.EventPhaseChanged, JobID: "ghost"},
	)
	if err := db.DeleteJob(t.Context(), "j"); err != nil {
		t.Fatal(err)
	}
	// Recorded after the delete: from the job's earlier events.
	got = append(got, appendEvents(t, db, jobs.Event{Time: now, Type: jobs.EventJobDeleted, JobID: "j"})...)
	want := []string{"a", "a", "", "a"}
	var tenants []string
	for _, e := range got {
		tenants = append(tenants, e.Tenant)
	}
	if diff := cmp.Diff(want, tenants); diff != "" {
		t.Errorf("appended tenants (-want +got):\n%s", diff)
	}
	tenants = nil
	for _, e := range readEvents(t, db, 0, 10) {
		tenants = append(tenants, e.Tenant)
	}
	// First, the job.created that CreateJob stored with the job.
	if diff := cmp.Diff(append([]string{"a"}, want...), tenants); diff != "" {
		t.Errorf("read tenants (-want +got):\n%s", diff)
	}
}

func TestTokens(t *testing.T) {
	db := openTest(t)
	created := time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	a := auth.Token{ID: "0000000000000001", Name: "ci", Tenant: "a", Scopes: []auth.Scope{auth.ScopeJobsRead, auth.ScopeJobsWrite},
		Hash: auth.Hash("secret-a"), CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
	b := auth.Token{ID: "0000000000000002", Tenant: "b", Scopes: []auth.Scope{auth.ScopeAdmin}, Hash: auth.Hash("secret-b"), CreatedAt: created.Add(time.Second)}
	for _, tok := range []auth.Token{a, b} {
		if err := db.CreateToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, db.CreateToken(t.Context(), a), jobs.ECONFLICT)
	wantCode(t, db.CreateToken(t.Context(), auth.Token{}), jobs.EINVALID)

	utc := func(tok auth.Token) auth.Token {
		tok.CreatedAt = tok.CreatedAt.UTC()
		if !tok.ExpiresAt.IsZero() {
			tok.ExpiresAt = tok.ExpiresAt.UTC()
		}
		return tok
	}
	got, err := db.GetToken(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(utc(a), got); diff != "" {
		t.Errorf("GetToken (-want +got):\n%s", diff)
	}
	_, err = db.GetToken(t.Context(), "nope")
	wantCode(t, err, jobs.ENOTFOUND)
	list, err := db.ListTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]auth.Token{utc(a), utc(b)}, list); diff != "" {
		t.Errorf("ListTokens (-want +got):\n%s", diff)
	}
	if err := db.DeleteToken(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteToken(t.Context(), a.ID), jobs.ENOTFOUND)
	_, err = db.GetToken(t.Context(), a.ID)
	wantCode(t, err, jobs.ENOTFOUND)

	// The secret is nowhere in the database.
	var n int
	if err := db.r.QueryRowContext(t.Context(), `SELECT count(*) FROM tokens WHERE instr(CAST(hash AS TEXT), 'secret') > 0 OR instr(name, 'secret') > 0`).Scan(&n); err != nil || n != 0 {
		t.Errorf("secret found in %d rows (%v)", n, err)
	}
}
