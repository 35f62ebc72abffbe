package sqlite

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

// childOf returns a new job of tenant "t" whose parent is parent.
func childOf(id, parent string) *jobs.Job {
	j := newJob(id)
	j.Tenant, j.ParentID = "t", parent
	return j
}

func TestChildJobsAreCheckedAndCounted(t *testing.T) {
	db := openTest(t)
	root := newJob("root")
	root.Tenant = "t"
	root.Spec.ChildJobs = &jobs.ChildJobs{MaxDepth: 2, MaxChildren: 3}
	plain := newJob("plain")
	plain.Tenant = "t"
	create(t, db, root, plain)

	c1 := childOf("c1", "root")
	c1.Spec.ChildJobs = &jobs.ChildJobs{MaxDepth: 1, MaxChildren: 5}
	create(t, db, c1, childOf("c2", "root"))
	if got, _ := db.GetJob(t.Context(), "c1"); got.ParentID != "root" || got.Depth != 1 {
		t.Errorf("c1: parent %q depth %d, want root 1", got.ParentID, got.Depth)
	}
	create(t, db, childOf("g1", "c1"))
	if got, _ := db.GetJob(t.Context(), "g1"); got.Depth != 2 {
		t.Errorf("g1: depth %d, want 2", got.Depth)
	}

	deep := childOf("deep", "c1")
	deep.Spec.ChildJobs = &jobs.ChildJobs{MaxDepth: 1, MaxChildren: 1}
	other := childOf("other", "root")
	other.Tenant = "u"
	for name, c := range map[string]struct {
		job  *jobs.Job
		code string
	}{
		"over maxChildren": {childOf("c3", "root"), jobs.EPOLICY},
		// c1 allows 5, but root's 3 hold for its whole tree.
		"over the root's maxChildren, below c1": {childOf("g2", "c1"), jobs.EPOLICY},
		"deeper than root allows":               {deep, jobs.EPOLICY},
		"parent without children":               {childOf("p1", "plain"), jobs.EPOLICY},
		"unknown parent":                        {childOf("x", "nope"), jobs.ENOTFOUND},
		"parent of another tenant":              {other, jobs.ENOTFOUND},
	} {
		t.Run(name, func(t *testing.T) {
			wantCode(t, db.CreateJob(t.Context(), c.job), c.code)
			if _, err := db.GetJob(t.Context(), c.job.ID); !jobs.IsNotFound(err) {
				t.Errorf("refused job was stored: %v", err)
			}
		})
	}

	page, err := db.ListJobs(t.Context(), jobs.Filter{ParentID: "root", Order: jobs.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"c1", "c2"}, ids(page.Jobs)); diff != "" {
		t.Errorf("children of root (-want +got):\n%s", diff)
	}
	for id, want := range map[string]int{"root": 3, "c1": 1, "c2": 0} {
		var n int
		if err := db.r.QueryRowContext(t.Context(), `SELECT children FROM jobs WHERE id = ?`, id).Scan(&n); err != nil || n != want {
			t.Errorf("%s counts %d jobs below it (%v), want %d", id, n, err, want)
		}
	}
	desc, err := db.DescendantIDs(t.Context(), "root")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"c1", "c2", "g1"}, desc); diff != "" {
		t.Errorf("descendants of root (-want +got):\n%s", diff)
	}
}

func TestRequestCancelCascadesToDescendants(t *testing.T) {
	for _, del := range []bool{false, true} {
		db := openTest(t)
		root := newJob("root")
		root.Tenant = "t"
		root.Spec.ChildJobs = &jobs.ChildJobs{MaxDepth: 2, MaxChildren: 5}
		create(t, db, root)
		c1 := childOf("c1", "root")
		c1.Spec.ChildJobs = &jobs.ChildJobs{MaxDepth: 1, MaxChildren: 5}
		create(t, db, c1, childOf("g1", "c1"))
		bystander := newJob("bystander")
		create(t, db, bystander)

		if _, err := db.RequestCancel(t.Context(), "root", del); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"root", "c1", "g1"} {
			j, err := db.GetJobForSync(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !j.CancelRequested || j.DeleteRequested != del {
				t.Errorf("del=%v: %s cancel %v delete %v", del, id, j.CancelRequested, j.DeleteRequested)
			}
		}
		if j, _ := db.GetJobForSync(t.Context(), "bystander"); j.CancelRequested || j.DeleteRequested {
			t.Errorf("del=%v: an unrelated job was cancelled", del)
		}
		// A cancelled parent starts no more children.
		if !del {
			wantCode(t, db.CreateJob(t.Context(), childOf("late", "root")), jobs.ECONFLICT)
		}
	}
}

func TestChildTokenKeyIsKept(t *testing.T) {
	path := t.TempDir() + "/swarmjob.db"
	db := openAt(t, path)
	k1, err := db.ChildTokenKey(t.Context())
	if err != nil || len(k1) != 32 {
		t.Fatalf("key %d bytes, %v", len(k1), err)
	}
	db.Close()
	db = openAt(t, path)
	k2, err := db.ChildTokenKey(t.Context())
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("key changed across reopen: %v", err)
	}
}

func TestJobHeader(t *testing.T) {
	db := openTest(t)
	root := newJob("root")
	root.Tenant = "t"
	root.Spec.ChildJobs = &jobs.ChildJobs{MaxDepth: 1, MaxChildren: 2}
	root.Status.Attempts = []jobs.Attempt{{Index: 0, Attempt: 0, State: "running"}}
	create(t, db, root)
	h, err := db.JobHeader(t.Context(), "root")
	if err != nil {
		t.Fatal(err)
	}
	if h.Tenant != "t" || h.Spec.ChildJobs == nil || h.Spec.ChildJobs.MaxChildren != 2 || h.Status.Phase != jobs.PhasePending || len(h.Status.Attempts) != 0 {
		t.Errorf("header = %+v", h)
	}
	if _, err := db.RequestCancel(t.Context(), "root", true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.JobHeader(t.Context(), "root"); !jobs.IsNotFound(err) {
		t.Errorf("header of a job being deleted: %v, want not found", err)
	}
	if _, err := db.JobHeader(t.Context(), "nope"); !jobs.IsNotFound(err) {
		t.Errorf("header of an unknown job: %v, want not found", err)
	}
}

func TestListJobsByIDPrefix(t *testing.T) {
	db := openTest(t)
	for _, id := range []string{"4bf3-a", "4bf3-b", "4bf4", "4bf", "5"} {
		create(t, db, newJob(id))
	}
	for prefix, want := range map[string][]string{
		"4bf3": {"4bf3-a", "4bf3-b"}, "4bf3-b": {"4bf3-b"}, "4bf": {"4bf", "4bf3-a", "4bf3-b", "4bf4"}, "6": {}, "4bf3-bb": {},
	} {
		page, err := db.ListJobs(t.Context(), jobs.Filter{IDPrefix: prefix, Order: jobs.OrderAsc})
		if err != nil {
			t.Fatal(err)
		}
		got := ids(page.Jobs)
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("prefix %q (-want +got):\n%s", prefix, diff)
		}
	}
	for p, want := range map[string]string{"ab": "ac", "a\xff": "b", "\xff": ""} {
		if got, _ := prefixUpperBound(p); got != want {
			t.Errorf("prefixUpperBound(%q) = %q, want %q", p, got, want)
		}
	}
}
