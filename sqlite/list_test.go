package sqlite

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

// sel parses a label selector or fails the test.
func sel(t testing.TB, s string) jobs.Selector {
	t.Helper()
	out, err := jobs.ParseSelector(s)
	if err != nil {
		t.Fatalf("ParseSelector(%q): %v", s, err)
	}
	return out
}

// TestListJobsSelectorAgreesWithMatches checks the SQL of every operator
// against jobs.Selector.Matches, over jobs with and without the labels.
func TestListJobsSelectorAgreesWithMatches(t *testing.T) {
	db := openTest(t)
	labelSets := []map[string]string{
		nil,
		{"team": "a"},
		{"team": "b"},
		{"team": ""},
		{"team": "a", "env": "prod"},
		{"team": "b", "env": "dev"},
		{"env": "prod"},
		{"team": "a=b"},
	}
	var all []*jobs.Job
	for i, ls := range labelSets {
		j := newJob(fmt.Sprintf("j%d", i))
		j.Labels = ls
		create(t, db, j)
		all = append(all, j)
	}
	for _, s := range []string{
		"team=a", "team!=a", "team", "!team", "team=", "team!=", "env=prod,team!=a", "team,!env",
		"team=a=b", "team!=a,team!=b", "!team,!env", "env,team=a", "owner!=x", "owner",
	} {
		t.Run(s, func(t *testing.T) {
			selector := sel(t, s)
			var want []string
			for _, j := range slices.Backward(all) {
				if selector.Matches(j.Labels) {
					want = append(want, j.ID)
				}
			}
			page, err := db.ListJobs(t.Context(), jobs.Filter{Selector: selector})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, ids(page.Jobs), cmpEmptyIsNil); diff != "" {
				t.Errorf("IDs (-Matches +ListJobs):\n%s", diff)
			}
		})
	}
}

// cmpEmptyIsNil makes an empty and a nil []string equal.
var cmpEmptyIsNil = cmp.Transformer("nilIfEmpty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

func TestListJobsNameAndCreationTime(t *testing.T) {
	db := openTest(t)
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	for i, name := range []string{"report-daily", "report-weekly", "Report-x", "backup", "", "rep"} {
		j := newJob(fmt.Sprintf("j%d", i))
		j.Name = name
		// Stored in another zone, and with nanoseconds, to check that the
		// bounds compare instants.
		j.CreatedAt = t0.Add(time.Duration(i) * time.Hour).Add(time.Duration(i)).In(zone)
		create(t, db, j)
	}
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for _, tc := range []struct {
		name   string
		filter jobs.Filter
		want   []string
	}{
		{"name prefix", jobs.Filter{NamePrefix: "report-"}, []string{"j1", "j0"}},
		{"name prefix is case-sensitive", jobs.Filter{NamePrefix: "Report"}, []string{"j2"}},
		{"name prefix equal to a name", jobs.Filter{NamePrefix: "rep"}, []string{"j5", "j1", "j0"}},
		{"name prefix has no wildcards", jobs.Filter{NamePrefix: "rep%"}, []string{}},
		{"name prefix longer than names", jobs.Filter{NamePrefix: "report-daily-and-more"}, []string{}},
		{"created after is inclusive", jobs.Filter{CreatedAfter: at(3).Add(3)}, []string{"j5", "j4", "j3"}},
		{"created after, a nanosecond later", jobs.Filter{CreatedAfter: at(3).Add(4)}, []string{"j5", "j4"}},
		{"created before is exclusive", jobs.Filter{CreatedBefore: at(2).Add(2)}, []string{"j1", "j0"}},
		{"a range", jobs.Filter{CreatedAfter: at(1), CreatedBefore: at(4)}, []string{"j3", "j2", "j1"}},
		{"bounds in another zone", jobs.Filter{CreatedAfter: at(1).In(zone), CreatedBefore: at(4).In(time.FixedZone("Y", -7*3600))}, []string{"j3", "j2", "j1"}},
		{"empty range", jobs.Filter{CreatedAfter: at(4), CreatedBefore: at(4)}, []string{}},
		{"everything together", jobs.Filter{NamePrefix: "report", CreatedAfter: at(1), Order: jobs.OrderAsc}, []string{"j1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := db.ListJobs(t.Context(), tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(page.Jobs)); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListJobsPagingOldestFirst pages oldest first while jobs are created
// between pages: every job is listed once, in creation order, the new ones
// after the old ones.
func TestListJobsPagingOldestFirst(t *testing.T) {
	db := openTest(t)
	var want []string
	for i := range 30 {
		j := newJob(fmt.Sprintf("old-%02d", i))
		create(t, db, j)
		want = append(want, j.ID)
	}
	var (
		got   []string
		added []string
	)
	f := jobs.Filter{Order: jobs.OrderAsc, Limit: 7}
	for pages := 1; ; pages++ {
		page, err := db.ListJobs(t.Context(), f)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		got = append(got, ids(page.Jobs)...)
		if page.NextCursor == "" {
			break
		}
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		if pages <= 3 {
			j := newJob(fmt.Sprintf("new-%d", pages))
			create(t, db, j)
			added = append(added, j.ID)
		}
		f.Cursor = page.NextCursor
	}
	if diff := cmp.Diff(append(want, added...), got); diff != "" {
		t.Errorf("IDs over all pages (-want +got):\n%s", diff)
	}
}

func TestListJobsOrderErrors(t *testing.T) {
	db := openTest(t)
	create(t, db, newJob("a"), newJob("b"), newJob("c"))
	desc, err := db.ListJobs(t.Context(), jobs.Filter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	asc, err := db.ListJobs(t.Context(), jobs.Filter{Limit: 1, Order: jobs.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	if desc.NextCursor == asc.NextCursor {
		t.Fatalf("cursors of both orders are %q", desc.NextCursor)
	}
	for _, tc := range []struct {
		name   string
		filter jobs.Filter
		want   string
	}{
		{"descending cursor, ascending order", jobs.Filter{Order: jobs.OrderAsc, Cursor: desc.NextCursor}, "cursor: was returned for order=desc"},
		{"ascending cursor, default order", jobs.Filter{Cursor: asc.NextCursor}, "cursor: was returned for order=asc"},
		{"unknown order", jobs.Filter{Order: "up"}, `order: must be asc or desc, got "up"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.ListJobs(t.Context(), tc.filter)
			wantCode(t, err, jobs.EINVALID)
			if msg := jobs.ErrorMessage(err); !strings.Contains(msg, tc.want) {
				t.Errorf("message %q, want it to contain %q", msg, tc.want)
			}
		})
	}
}
