package jobs

// Limits of Spec.ChildJobs. A policy may lower them per tenant.
const (
	// MaxChildDepth is the most generations a job may have below it.
	MaxChildDepth = 10
	// MaxChildrenPerJob is the most children one job may create.
	MaxChildrenPerJob = 10000
	// DefaultChildDepth is ChildJobs.MaxDepth when the spec leaves it 0:
	// children, no grandchildren.
	DefaultChildDepth = 1
	// DefaultMaxChildren is ChildJobs.MaxChildren when the spec leaves it 0.
	DefaultMaxChildren = 10
)

// Env variables that a job with ChildJobs gets, besides the ones every
// attempt gets: the API's URL and the job's child-job token. The names are
// those the swarmjob CLI reads, so that an image holding the CLI needs no
// configuration.
const (
	EnvURL   = "SWARMJOB_URL"
	EnvToken = "SWARMJOB_TOKEN"
)

// defaults fills the zero limits of c.
func (c *ChildJobs) defaults() {
	if c.MaxDepth == 0 {
		c.MaxDepth = DefaultChildDepth
	}
	if c.MaxChildren == 0 {
		c.MaxChildren = DefaultMaxChildren
	}
}

// validate checks the limits after defaults.
func (c *ChildJobs) validate() error {
	if c == nil {
		return nil
	}
	if c.MaxDepth < 1 || c.MaxDepth > MaxChildDepth {
		return Errorf(EINVALID, "childJobs.maxDepth: must be between 1 and %d, got %d", MaxChildDepth, c.MaxDepth)
	}
	if c.MaxChildren < 1 || c.MaxChildren > MaxChildrenPerJob {
		return Errorf(EINVALID, "childJobs.maxChildren: must be between 1 and %d, got %d", MaxChildrenPerJob, c.MaxChildren)
	}
	return nil
}

// CheckChild returns an EPOLICY error unless a job with spec child may be a
// child of parent: parent must allow children (ChildJobs set), and child may
// only allow children of its own within what parent allows below it, so
// that no chain of jobs grows deeper than its root's MaxDepth. It does not
// count children: the store does, in the transaction that creates the child.
func CheckChild(parent *Job, child Spec) error {
	pc := parent.Spec.ChildJobs
	if pc == nil {
		return Errorf(EPOLICY, "childJobs: job %s may not create child jobs", parent.ID)
	}
	if child.ChildJobs != nil && child.ChildJobs.MaxDepth > pc.MaxDepth-1 {
		if pc.MaxDepth == 1 {
			return Errorf(EPOLICY, "childJobs: job %s has childJobs.maxDepth 1: its children may not create children of their own", parent.ID)
		}
		return Errorf(EPOLICY, "childJobs.maxDepth: must be at most %d, one less than the parent's %d", pc.MaxDepth-1, pc.MaxDepth)
	}
	return nil
}
