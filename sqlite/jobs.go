package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/swarmjob/swarmjob/jobs"
)

// Page sizes of ListJobs: DefaultListLimit applies when Filter.Limit is not
// positive, and no page holds more than MaxListLimit jobs.
const (
	DefaultListLimit = 100
	MaxListLimit     = 500
)

// jobColumns are the columns scanJob reads, in its order.
const jobColumns = `seq, id, name, tenant, parent_id, depth, created_at, phase, spec, status, cancel_requested, delete_requested`

func notFound(id string) error {
	return jobs.Errorf(jobs.ENOTFOUND, "job %q not found", id)
}

// CreateJob inserts j with its labels and the attempts in j.Status.Attempts,
// and its job.created event, in one transaction. An empty j.Status.Phase is
// stored as Pending; j is not modified. The jobs stored before tenants
// existed read as tenant "default" (auth.DefaultTenant). It returns
// ECONFLICT if a job with j.ID exists (even one being deleted), and
// EINVALID if j.ID is empty or the phase is unknown.
func (db *DB) CreateJob(ctx context.Context, j *jobs.Job) error {
	enc, err := encodeJob(j)
	if err != nil {
		return err
	}
	var stored []jobs.Event
	err = db.write(ctx, func(tx *sql.Tx) error {
		var err error
		stored, err = insertJobAndEvent(ctx, tx, j, enc)
		return err
	})
	if err != nil {
		return err
	}
	db.announce(ctx, stored)
	return nil
}

// insertJobAndEvent inserts j and its job.created event in tx.
func insertJobAndEvent(ctx context.Context, tx *sql.Tx, j *jobs.Job, enc encodedJob) ([]jobs.Event, error) {
	if err := insertJob(ctx, tx, j, enc); err != nil {
		return nil, err
	}
	return insertEvents(ctx, tx, []jobs.Event{{Time: j.CreatedAt, Type: jobs.EventJobCreated, JobID: j.ID,
		Tenant: j.Tenant, Labels: j.Labels, Phase: enc.phase}})
}

// encodedJob holds the documents of a job, encoded before its transaction.
type encodedJob struct {
	phase    jobs.Phase
	spec     string
	status   string
	attempts []string
}

// encodeJob checks and encodes what CreateJob stores of j.
func encodeJob(j *jobs.Job) (encodedJob, error) {
	if j.ID == "" {
		return encodedJob{}, jobs.Errorf(jobs.EINVALID, "id: is required")
	}
	e := encodedJob{phase: j.Status.Phase}
	if e.phase == "" {
		e.phase = jobs.PhasePending
	}
	if !e.phase.Valid() {
		return encodedJob{}, jobs.Errorf(jobs.EINVALID, "status.phase: unknown phase %q", e.phase)
	}
	var err error
	if e.spec, err = encodeSpec(j.Spec); err != nil {
		return encodedJob{}, fmt.Errorf("encoding spec of job %q: %w", j.ID, err)
	}
	if e.status, err = encodeStatus(j.Status); err != nil {
		return encodedJob{}, fmt.Errorf("encoding status of job %q: %w", j.ID, err)
	}
	e.attempts = make([]string, len(j.Status.Attempts))
	for i, a := range j.Status.Attempts {
		if e.attempts[i], err = encodeAttempt(a); err != nil {
			return encodedJob{}, fmt.Errorf("encoding attempt %d/%d of job %q: %w", a.Index, a.Attempt, j.ID, err)
		}
	}
	return e, nil
}

// insertJob inserts j, encoded as enc, with its labels and attempts. A
// child job (ParentID set) is first checked against its parent and counted
// (countChild), and gets its Depth from it.
func insertJob(ctx context.Context, tx *sql.Tx, j *jobs.Job, enc encodedJob) error {
	if j.ParentID != "" {
		depth, err := countChild(ctx, tx, j)
		if err != nil {
			return err
		}
		j.Depth = depth
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO jobs (id, name, tenant, parent_id, depth, created_at, phase, terminal, spec, status, cancel_requested, delete_requested)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		j.ID, j.Name, j.Tenant, j.ParentID, j.Depth, formatTime(j.CreatedAt), string(enc.phase), enc.phase.Terminal(), enc.spec, enc.status,
		j.CancelRequested, j.DeleteRequested)
	if err != nil {
		return fmt.Errorf("inserting job %q: %w", j.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("inserting job %q: %w", j.ID, err)
	}
	if n == 0 {
		return jobs.Errorf(jobs.ECONFLICT, "job %q already exists", j.ID)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("inserting job %q: %w", j.ID, err)
	}
	for k, v := range j.Labels {
		if _, err := tx.ExecContext(ctx, `INSERT INTO job_labels (job_seq, key, value) VALUES (?, ?, ?)`, seq, k, v); err != nil {
			return fmt.Errorf("inserting label %q of job %q: %w", k, j.ID, err)
		}
	}
	for i, a := range j.Status.Attempts {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO attempts (job_seq, idx, attempt, removed, record) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (job_seq, idx, attempt) DO UPDATE SET removed = excluded.removed, record = excluded.record`,
			seq, a.Index, a.Attempt, a.Removed, enc.attempts[i]); err != nil {
			return fmt.Errorf("inserting attempt %d/%d of job %q: %w", a.Index, a.Attempt, j.ID, err)
		}
	}
	return nil
}

// countChild checks that child's parent may create it now and counts it
// against the parent and every ancestor above it; it returns the child's
// depth. The parent must exist and not be deleted (ENOTFOUND), must not be
// finished or cancelled (ECONFLICT), must belong to the child's tenant
// (ENOTFOUND) and must allow the child (jobs.CheckChild, EPOLICY). Each
// ancestor with ChildJobs must have fewer than its MaxChildren descendants
// (EPOLICY): the limit holds for the whole tree below a job, grandchildren
// included, so that children cannot multiply it. The checks and the counts
// are one transaction with the insert, so that racing requests cannot
// exceed a limit together.
func countChild(ctx context.Context, tx *sql.Tx, child *jobs.Job) (int, error) {
	parent, err := lineageOf(ctx, tx, child.ParentID)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && parent.DeleteRequested) {
		return 0, jobs.Errorf(jobs.ENOTFOUND, "parent job %s is gone: it can start no more children", child.ParentID)
	}
	if err != nil {
		return 0, err
	}
	if parent.Tenant != child.Tenant {
		return 0, notFound(child.ParentID)
	}
	if parent.Status.Phase.Terminal() || parent.CancelRequested {
		return 0, jobs.Errorf(jobs.ECONFLICT, "parent job %s is finished or cancelled: it can start no more children", parent.ID)
	}
	if err := jobs.CheckChild(parent.Job, child.Spec); err != nil {
		return 0, err
	}
	// Up the tree: at most jobs.MaxChildDepth+1 jobs, as depth is bounded.
	for a := parent; ; {
		if c := a.Spec.ChildJobs; c != nil {
			if a.children >= c.MaxChildren {
				return 0, jobs.Errorf(jobs.EPOLICY, "childJobs.maxChildren: job %s may have at most %d jobs below it (children, and theirs) and has had %d", a.ID, c.MaxChildren, a.children)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET children = children + 1 WHERE id = ?`, a.ID); err != nil {
				return 0, fmt.Errorf("counting the descendants of job %q: %w", a.ID, err)
			}
		}
		if a.ParentID == "" {
			break
		}
		if a, err = lineageOf(ctx, tx, a.ParentID); errors.Is(err, sql.ErrNoRows) {
			break // an ancestor expired: nothing left to count against
		} else if err != nil {
			return 0, err
		}
	}
	return parent.Depth + 1, nil
}

// lineage is what countChild reads of a job: no labels, no attempts.
type lineage struct {
	*jobs.Job
	// children counts the jobs created below the job (migration 0006).
	children int
}

// JobHeader returns the job without its labels and attempts, from one row:
// what checking a child-job token needs on every request. ENOTFOUND if the
// job does not exist or is being deleted.
func (db *DB) JobHeader(ctx context.Context, id string) (*jobs.Job, error) {
	var l lineage
	err := db.read(ctx, func(tx *sql.Tx) error {
		var err error
		l, err = lineageOf(ctx, tx, id)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && l.DeleteRequested) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	return l.Job, nil
}

// lineageOf reads the job id for countChild; sql.ErrNoRows if it does not
// exist.
func lineageOf(ctx context.Context, tx *sql.Tx, id string) (lineage, error) {
	var (
		j                    jobs.Job
		phase, spec          string
		cancelReq, deleteReq bool
		children             int
	)
	err := tx.QueryRowContext(ctx,
		`SELECT id, tenant, parent_id, depth, phase, spec, cancel_requested, delete_requested, children FROM jobs WHERE id = ?`, id).
		Scan(&j.ID, &j.Tenant, &j.ParentID, &j.Depth, &phase, &spec, &cancelReq, &deleteReq, &children)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return lineage{}, err
		}
		return lineage{}, fmt.Errorf("reading job %q: %w", id, err)
	}
	if j.Spec, err = decodeSpec(spec); err != nil {
		return lineage{}, fmt.Errorf("job %q: %w", id, err)
	}
	j.Status.Phase, j.CancelRequested, j.DeleteRequested = jobs.Phase(phase), cancelReq, deleteReq
	return lineage{Job: &j, children: children}, nil
}

// GetJob returns the job with its labels and its attempts ordered by index
// and attempt, read in one snapshot. It returns ENOTFOUND if the job does not
// exist or is being deleted. A job without labels has nil Labels.
func (db *DB) GetJob(ctx context.Context, id string) (*jobs.Job, error) {
	return db.getJob(ctx, id, false)
}

// GetJobForSync is GetJob that also returns a job being deleted.
func (db *DB) GetJobForSync(ctx context.Context, id string) (*jobs.Job, error) {
	return db.getJob(ctx, id, true)
}

func (db *DB) getJob(ctx context.Context, id string, deleting bool) (*jobs.Job, error) {
	var j *jobs.Job
	err := db.read(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = getJob(ctx, tx, id, deleting)
		return err
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// getJob reads the job id and its details with q. A job being deleted is
// ENOTFOUND unless deleting is true.
func getJob(ctx context.Context, q querier, id string, deleting bool) (*jobs.Job, error) {
	row := q.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id)
	seq, j, err := scanJob(row)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && j.DeleteRequested && !deleting) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading job %q: %w", id, err)
	}
	if err := loadDetails(ctx, q, []int64{seq}, []*jobs.Job{j}); err != nil {
		return nil, err
	}
	return j, nil
}

// scanJob scans the jobColumns of one row.
func scanJob(row interface{ Scan(dest ...any) error }) (int64, *jobs.Job, error) {
	var (
		seq                  int64
		j                    jobs.Job
		createdAt, phase     string
		spec, status         string
		cancelReq, deleteReq bool
	)
	if err := row.Scan(&seq, &j.ID, &j.Name, &j.Tenant, &j.ParentID, &j.Depth, &createdAt, &phase, &spec, &status, &cancelReq, &deleteReq); err != nil {
		return 0, nil, err
	}
	var err error
	if j.CreatedAt, err = parseTime(createdAt); err != nil {
		return 0, nil, fmt.Errorf("job %q: %w", j.ID, err)
	}
	if j.Spec, err = decodeSpec(spec); err != nil {
		return 0, nil, fmt.Errorf("job %q: %w", j.ID, err)
	}
	if j.Status, err = decodeStatus(jobs.Phase(phase), status); err != nil {
		return 0, nil, fmt.Errorf("job %q: %w", j.ID, err)
	}
	j.CancelRequested, j.DeleteRequested = cancelReq, deleteReq
	return seq, &j, nil
}

// loadDetails fills the labels and attempts of js, whose seqs are seqs, with
// one query per table whatever the number of jobs.
func loadDetails(ctx context.Context, q querier, seqs []int64, js []*jobs.Job) error {
	if len(js) == 0 {
		return nil
	}
	bySeq := make(map[int64]*jobs.Job, len(js))
	for i, seq := range seqs {
		bySeq[seq] = js[i]
	}
	// The seqs are passed as one JSON array, so the query text is the same
	// for any page size.
	set, err := json.Marshal(seqs)
	if err != nil {
		return fmt.Errorf("encoding job set: %w", err)
	}
	err = queryEach(ctx, q, `
		SELECT job_seq, key, value FROM job_labels
		WHERE job_seq IN (SELECT value FROM json_each(?))`,
		[]any{string(set)}, func(rows *sql.Rows) error {
			var (
				seq        int64
				key, value string
			)
			if err := rows.Scan(&seq, &key, &value); err != nil {
				return err
			}
			j := bySeq[seq]
			if j.Labels == nil {
				j.Labels = make(map[string]string)
			}
			j.Labels[key] = value
			return nil
		})
	if err != nil {
		return fmt.Errorf("reading labels: %w", err)
	}
	err = queryEach(ctx, q, `
		SELECT job_seq, idx, attempt, removed, record FROM attempts
		WHERE job_seq IN (SELECT value FROM json_each(?))
		ORDER BY job_seq, idx, attempt`,
		[]any{string(set)}, func(rows *sql.Rows) error {
			var (
				seq            int64
				index, attempt int
				removed        bool
				record         string
			)
			if err := rows.Scan(&seq, &index, &attempt, &removed, &record); err != nil {
				return err
			}
			a, err := decodeAttempt(index, attempt, removed, record)
			if err != nil {
				return err
			}
			j := bySeq[seq]
			j.Status.Attempts = append(j.Status.Attempts, a)
			return nil
		})
	if err != nil {
		return fmt.Errorf("reading attempts: %w", err)
	}
	return nil
}

// ListJobs returns one page of the jobs matching f that are not being
// deleted, in f.Order by creation (newest first by default), with their
// labels and attempts, read in one snapshot. f.Limit defaults to
// DefaultListLimit and is capped at MaxListLimit. NextCursor is "" on the
// last page. Paging is keyset-based: jobs created while a client pages
// through the list never shift its pages; newest first, they appear only on
// a new first page; oldest first, on the last pages.
//
// It returns EINVALID, naming the field, for an unknown f.Phase or f.Order,
// or an f.Cursor that is not a NextCursor of this store for f.Order.
func (db *DB) ListJobs(ctx context.Context, f jobs.Filter) (jobs.Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	order := f.Order
	if order == "" {
		order = jobs.OrderDesc
	}
	if order != jobs.OrderDesc && order != jobs.OrderAsc {
		return jobs.Page{}, jobs.Errorf(jobs.EINVALID, "order: must be asc or desc, got %q", order)
	}

	// The query text is built from constant fragments only; every value
	// is an argument.
	where := []string{"delete_requested = 0"}
	var args []any
	if f.Tenant != "" {
		where = append(where, "tenant = ?")
		args = append(args, f.Tenant)
	}
	if f.ParentID != "" {
		where = append(where, "parent_id = ?")
		args = append(args, f.ParentID)
	}
	if p := f.IDPrefix; p != "" {
		// A range on the unique index of id (BINARY collation), and the
		// prefix itself for the bound a range cannot say.
		where = append(where, "id >= ? AND substr(id, 1, ?) = ?")
		args = append(args, p, len(p), p)
		if upper, ok := prefixUpperBound(p); ok {
			where = append(where, "id < ?")
			args = append(args, upper)
		}
	}
	if f.Phase != "" {
		if !f.Phase.Valid() {
			return jobs.Page{}, jobs.Errorf(jobs.EINVALID, "phase: unknown phase %q", f.Phase)
		}
		where = append(where, "phase = ?")
		args = append(args, string(f.Phase))
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor, order)
		if err != nil {
			return jobs.Page{}, err
		}
		if order == jobs.OrderAsc {
			where = append(where, "seq > ?")
		} else {
			where = append(where, "seq < ?")
		}
		args = append(args, after)
	}
	if f.NamePrefix != "" {
		// instr rather than LIKE, which is case-insensitive and has
		// wildcards to escape.
		where = append(where, "instr(name, ?) = 1")
		args = append(args, f.NamePrefix)
	}
	if !f.CreatedAfter.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, formatTime(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, formatTime(f.CreatedBefore))
	}
	for _, r := range f.Selector {
		switch r.Op {
		case jobs.SelectEquals:
			where = append(where, "seq IN (SELECT job_seq FROM job_labels WHERE key = ? AND value = ?)")
			args = append(args, r.Key, r.Value)
		case jobs.SelectNotEquals:
			where = append(where, "seq NOT IN (SELECT job_seq FROM job_labels WHERE key = ? AND value = ?)")
			args = append(args, r.Key, r.Value)
		case jobs.SelectExists:
			where = append(where, "seq IN (SELECT job_seq FROM job_labels WHERE key = ?)")
			args = append(args, r.Key)
		case jobs.SelectNotExists:
			where = append(where, "seq NOT IN (SELECT job_seq FROM job_labels WHERE key = ?)")
			args = append(args, r.Key)
		default:
			return jobs.Page{}, jobs.Errorf(jobs.EINVALID, "label: unknown operator %q", r.Op)
		}
	}
	// One more than the page tells whether there is a next page.
	args = append(args, limit+1)
	dir := "DESC"
	if order == jobs.OrderAsc {
		dir = "ASC"
	}
	query := `SELECT ` + jobColumns + ` FROM jobs WHERE ` + strings.Join(where, " AND ") + ` ORDER BY seq ` + dir + ` LIMIT ?`

	var (
		page jobs.Page
		seqs []int64
	)
	err := db.read(ctx, func(tx *sql.Tx) error {
		err := queryEach(ctx, tx, query, args, func(rows *sql.Rows) error {
			seq, j, err := scanJob(rows)
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
			page.Jobs = append(page.Jobs, j)
			return nil
		})
		if err != nil {
			return fmt.Errorf("listing jobs: %w", err)
		}
		if len(page.Jobs) > limit {
			page.Jobs, seqs = page.Jobs[:limit], seqs[:limit]
			page.NextCursor = encodeCursor(seqs[limit-1], order)
		}
		return loadDetails(ctx, tx, seqs, page.Jobs)
	})
	if err != nil {
		return jobs.Page{}, err
	}
	return page, nil
}

// ascCursorPrefix marks the cursors of oldest-first pages, so that a cursor
// is not followed in the other order by mistake. Newest-first cursors have
// no prefix, as before the order existed.
const ascCursorPrefix = "a"

// encodeCursor returns the cursor of the page after the job with seq, in
// order.
// prefixUpperBound returns the least string above every string that starts
// with p, false when there is none (p is all 0xFF bytes).
func prefixUpperBound(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

func encodeCursor(seq int64, order jobs.Order) string {
	s := strconv.FormatInt(seq, 10)
	if order == jobs.OrderAsc {
		s = ascCursorPrefix + s
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// decodeCursor returns the seq encoded by encodeCursor for order, or
// EINVALID. Only the exact strings encodeCursor returns are accepted.
func decodeCursor(cursor string, order jobs.Order) (int64, error) {
	invalid := jobs.Errorf(jobs.EINVALID, "cursor: is not a cursor returned by a previous page")
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, invalid
	}
	text, asc := strings.CutPrefix(string(b), ascCursorPrefix)
	if asc != (order == jobs.OrderAsc) {
		other := jobs.OrderDesc
		if asc {
			other = jobs.OrderAsc
		}
		return 0, jobs.Errorf(jobs.EINVALID, "cursor: was returned for order=%s; keep the order of the first page", other)
	}
	seq, err := strconv.ParseInt(text, 10, 64)
	if err != nil || seq < 1 || encodeCursor(seq, order) != cursor {
		return 0, invalid
	}
	return seq, nil
}

// UpdateStatus replaces the status fields and the phase of job id. It leaves
// the attempts (s.Attempts is ignored; see PutAttempt) and the cancel and
// delete flags alone. It returns ENOTFOUND if the job does not exist (a job
// being deleted is updated) and EINVALID for an unknown phase.
func (db *DB) UpdateStatus(ctx context.Context, id string, s jobs.Status, events ...jobs.Event) error {
	if !s.Phase.Valid() {
		return jobs.Errorf(jobs.EINVALID, "status.phase: unknown phase %q", s.Phase)
	}
	status, err := encodeStatus(s)
	if err != nil {
		return fmt.Errorf("encoding status of job %q: %w", id, err)
	}
	return db.writeWithEvents(ctx, events, func(w execer) error {
		res, err := w.ExecContext(ctx, `UPDATE jobs SET phase = ?, terminal = ?, status = ? WHERE id = ?`,
			string(s.Phase), s.Phase.Terminal(), status, id)
		if err != nil {
			return fmt.Errorf("updating status of job %q: %w", id, err)
		}
		return oneRow(res, id)
	})
}

// execer is what a change needs of a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// writeWithEvents runs change, and stores events in the same transaction
// after it; once committed, the events are announced (OnEvents). Without
// events, change runs alone on the writer: one statement needs no
// transaction of its own.
func (db *DB) writeWithEvents(ctx context.Context, events []jobs.Event, change func(execer) error) error {
	if len(events) == 0 {
		return change(db.w)
	}
	var stored []jobs.Event
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := change(tx); err != nil {
			return err
		}
		var err error
		stored, err = insertEvents(ctx, tx, events)
		return err
	})
	if err != nil {
		return err
	}
	db.announce(ctx, stored)
	return nil
}

// oneRow returns ENOTFOUND for job id unless res changed a row.
func oneRow(res sql.Result, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("writing job %q: %w", id, err)
	}
	if n == 0 {
		return notFound(id)
	}
	return nil
}

// RequestCancel sets CancelRequested, and DeleteRequested too when del is
// true, on the job and its descendants, and returns the job as it is after
// the change, all in one transaction. It returns ENOTFOUND if the job does
// not exist or is already being deleted. Requesting a cancel again is not an
// error; a descendant already being deleted stays so.
func (db *DB) RequestCancel(ctx context.Context, id string, del bool) (*jobs.Job, error) {
	var j *jobs.Job
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			WITH RECURSIVE tree(id) AS (
				SELECT id FROM jobs WHERE parent_id = ?1 AND ?1 != ''
				UNION
				SELECT jobs.id FROM jobs JOIN tree ON jobs.parent_id = tree.id
			)
			UPDATE jobs SET cancel_requested = 1, delete_requested = (delete_requested OR ?2)
			WHERE id IN tree`, id, del); err != nil {
			return fmt.Errorf("requesting cancel of the descendants of job %q: %w", id, err)
		}
		res, err := tx.ExecContext(ctx,
			`UPDATE jobs SET cancel_requested = 1, delete_requested = ? WHERE id = ? AND delete_requested = 0`, del, id)
		if err != nil {
			return fmt.Errorf("requesting cancel of job %q: %w", id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("requesting cancel of job %q: %w", id, err)
		}
		if n == 0 {
			return notFound(id)
		}
		j, err = getJob(ctx, tx, id, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// PatchSpec applies p to the stored spec in one write transaction;
// ECONFLICT if the job is terminal.
func (db *DB) PatchSpec(ctx context.Context, id string, p jobs.SpecPatch) (*jobs.Job, error) {
	var j *jobs.Job
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if j, err = getJob(ctx, tx, id, false); err != nil {
			return err
		}
		if j.Status.Phase.Terminal() {
			return jobs.Errorf(jobs.ECONFLICT, "job %q is %s: a finished job cannot be changed", id, j.Status.Phase)
		}
		if p.Parallelism != nil {
			j.Spec.Parallelism = *p.Parallelism
		}
		if p.Suspend != nil {
			j.Spec.Suspend = *p.Suspend
		}
		text, err := encodeSpec(j.Spec)
		if err != nil {
			return fmt.Errorf("encoding spec of job %q: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET spec = ? WHERE id = ?`, text, id); err != nil {
			return fmt.Errorf("patching job %q: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// DescendantIDs returns the IDs of the job's children, their children and
// so on, jobs being deleted included, in creation order.
func (db *DB) DescendantIDs(ctx context.Context, id string) ([]string, error) {
	const query = `
		WITH RECURSIVE tree(seq, id) AS (
			SELECT seq, id FROM jobs WHERE parent_id = ?1 AND ?1 != ''
			UNION
			SELECT jobs.seq, jobs.id FROM jobs JOIN tree ON jobs.parent_id = tree.id
		)
		SELECT id FROM tree ORDER BY seq`
	ids, err := queryStrings(ctx, db.r, query, id)
	if err != nil {
		return nil, fmt.Errorf("listing the descendants of job %q: %w", id, err)
	}
	return ids, nil
}

// DeleteJob removes the job with its labels, attempts and logs in one
// transaction, with events (such as job.deleted) that are stored only when
// the job existed; their tenant is the job's when they name none. Deleting
// a job that does not exist is not an error.
func (db *DB) DeleteJob(ctx context.Context, id string, events ...jobs.Event) error {
	var stored []jobs.Event
	err := db.write(ctx, func(tx *sql.Tx) error {
		// The events first, while the job's row gives them its tenant; a
		// job that is not there rolls them back.
		var err error
		if stored, err = insertEvents(ctx, tx, events); err != nil {
			return err
		}
		// ON DELETE CASCADE removes the rows of the other tables.
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("deleting job %q: %w", id, err)
		}
		return oneRow(res, id)
	})
	switch {
	case jobs.ErrorCode(err) == jobs.ENOTFOUND:
		return nil
	case err != nil:
		return err
	}
	db.announce(ctx, stored)
	return nil
}

// UnfinishedJobIDs returns, oldest first, the IDs of the jobs whose phase is
// not terminal, that are being deleted, or that have an attempt whose
// service is not recorded as removed.
func (db *DB) UnfinishedJobIDs(ctx context.Context) ([]string, error) {
	// Each branch of the UNION is answered by a partial index.
	const query = `
		SELECT id FROM jobs WHERE seq IN (
			SELECT seq FROM jobs WHERE terminal = 0 OR delete_requested = 1
			UNION
			SELECT job_seq FROM attempts WHERE removed = 0
		)
		ORDER BY seq`
	ids, err := queryStrings(ctx, db.r, query)
	if err != nil {
		return nil, fmt.Errorf("listing unfinished jobs: %w", err)
	}
	return ids, nil
}

// PutAttempt inserts the attempt (jobID, a.Index, a.Attempt) or replaces all
// its fields. Times are stored in UTC with nanoseconds. It returns ENOTFOUND
// if the job does not exist; a job being deleted still takes attempts.
func (db *DB) PutAttempt(ctx context.Context, jobID string, a jobs.Attempt, events ...jobs.Event) error {
	record, err := encodeAttempt(a)
	if err != nil {
		return fmt.Errorf("encoding attempt %d/%d of job %q: %w", a.Index, a.Attempt, jobID, err)
	}
	return db.writeWithEvents(ctx, events, func(w execer) error {
		// The SELECT needs its WHERE for SQLite to parse ON CONFLICT as an
		// upsert clause.
		res, err := w.ExecContext(ctx, `
			INSERT INTO attempts (job_seq, idx, attempt, removed, record)
			SELECT seq, ?, ?, ?, ? FROM jobs WHERE id = ?
			ON CONFLICT (job_seq, idx, attempt) DO UPDATE SET removed = excluded.removed, record = excluded.record`,
			a.Index, a.Attempt, a.Removed, record, jobID)
		if err != nil {
			return fmt.Errorf("writing attempt %d/%d of job %q: %w", a.Index, a.Attempt, jobID, err)
		}
		return oneRow(res, jobID)
	})
}
