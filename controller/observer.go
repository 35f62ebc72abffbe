package controller

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/metrics"
)

// observedAttempt is what Swarm shows of one attempt's service and its task.
type observedAttempt struct {
	JobID     string
	Index     int
	Attempt   int
	ServiceID string
	Service   string
	CreatedAt time.Time
	// Task is nil until Swarm created the service's task.
	Task *observedTask
	// Stop is set once swarmjob stopped the attempt (stopSpec): why, and
	// since StopAt.
	Stop   *stopReason
	StopAt time.Time
}

// observedTask is the current state of an attempt's task. Swarm keeps no
// history, so only the current state is known.
type observedTask struct {
	ID     string
	NodeID string
	// Node is the node's hostname, or its ID when the hostname is unknown.
	Node      string
	State     swarm.TaskState
	Err       string
	Message   string
	ExitCode  *int
	Timestamp time.Time
	CreatedAt time.Time
	// HasContainer tells whether a container (and so logs) exists.
	HasContainer bool
	// NodeLost is set when the task's node has been down for longer than
	// the node-lost grace.
	NodeLost bool
}

// terminal reports whether the task will never change state again.
func (t *observedTask) terminal() bool {
	switch t.State {
	case swarm.TaskStateComplete, swarm.TaskStateFailed, swarm.TaskStateRejected,
		swarm.TaskStateShutdown, swarm.TaskStateOrphaned, swarm.TaskStateRemove:
		return true
	}
	return false
}

// snapshot is one poll of Swarm: every managed service and its task.
type snapshot struct {
	// takenAt is the time before the poll's first call, so that every
	// service created before takenAt is in the snapshot.
	takenAt time.Time
	byJob   map[string][]observedAttempt
}

// observer polls Swarm with a fixed number of Engine calls per tick (one
// ServiceList and one TaskList, both by the managed label), whatever the
// number of jobs, and tells the controller which jobs changed. It polls fast
// while managed services exist and slowly when there are none.
type observer struct {
	engine   Engine
	instance string
	log      *slog.Logger
	fast     time.Duration
	slow     time.Duration
	now      func() time.Time
	onChange func(jobID string)

	kick    chan struct{}
	metrics *metrics.Metrics
	// burstUntil (unix nanos) ends the current burst of fast polls.
	burstUntil atomic.Int64

	mu      sync.RWMutex
	current *snapshot
	sigs    map[string]string
	ready   chan struct{}

	// nodes maps node IDs to what is known of them; only the poll
	// goroutine uses nodes and nodesListed.
	nodes       map[string]nodeInfo
	nodesListed time.Time
	// nodeLostGrace is how long a node may be down before the attempts on
	// it are lost.
	nodeLostGrace time.Duration
}

// nodeRefresh is how often node states are listed while tasks are active.
const nodeRefresh = time.Second

func newObserver(engine Engine, instance string, log *slog.Logger, fast, slow, nodeLostGrace time.Duration, now func() time.Time, onChange func(string)) *observer {
	return &observer{
		engine: engine, instance: instance, log: log, nodeLostGrace: nodeLostGrace, fast: fast, slow: slow, now: now, onChange: onChange,
		kick:  make(chan struct{}, 1),
		sigs:  map[string]string{},
		nodes: map[string]nodeInfo{},
		ready: make(chan struct{}),
	}
}

// Kick asks for a poll now. It never blocks.
func (o *observer) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// burstWindow and burstInterval: after a container of ours dies, the
// manager records the task's end ~100 ms later, so the observer polls at
// burstInterval for burstWindow instead of waiting for the next tick.
const (
	burstWindow   = 400 * time.Millisecond
	burstInterval = 25 * time.Millisecond
)

// Burst polls now and then every burstInterval for burstWindow. It never
// blocks.
func (o *observer) Burst() {
	o.burstUntil.Store(o.now().Add(burstWindow).UnixNano())
	o.Kick()
}

// job returns the latest observation of a job's attempts and the time it was
// taken; ok is false before the first successful poll.
func (o *observer) job(id string) (attempts []observedAttempt, takenAt time.Time, ok bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.current == nil {
		return nil, time.Time{}, false
	}
	return o.current.byJob[id], o.current.takenAt, true
}

// forget drops a service the controller just removed from the latest
// snapshot, so that decisions until the next poll do not see it. A poll
// already in flight may bring it back once; removing it again is harmless.
func (o *observer) forget(jobID, serviceID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.current == nil {
		return
	}
	atts := o.current.byJob[jobID]
	kept := make([]observedAttempt, 0, len(atts))
	for _, a := range atts {
		if a.ServiceID != serviceID {
			kept = append(kept, a)
		}
	}
	if len(kept) == 0 {
		delete(o.current.byJob, jobID)
	} else {
		o.current.byJob[jobID] = kept
	}
}

// stopping marks a service the controller just stopped in the latest
// snapshot, so that decisions until the next poll wait for its task instead
// of stopping it again. A poll already in flight may unmark it once;
// stopping it again is harmless.
func (o *observer) stopping(jobID, serviceID string, why stopReason, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.current == nil {
		return
	}
	atts := slices.Clone(o.current.byJob[jobID])
	for i := range atts {
		if atts[i].ServiceID == serviceID {
			atts[i].Stop, atts[i].StopAt = &why, at
		}
	}
	o.current.byJob[jobID] = atts
}

// jobIDs returns the IDs of all jobs with a managed service in the latest snapshot.
func (o *observer) jobIDs() []string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.current == nil {
		return nil
	}
	ids := make([]string, 0, len(o.current.byJob))
	for id := range o.current.byJob {
		ids = append(ids, id)
	}
	return ids
}

// run polls until ctx ends.
func (o *observer) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-o.kick:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		start := time.Now()
		active, err := o.poll(ctx)
		if ctx.Err() == nil {
			o.metrics.Polled(time.Since(start), err)
		}
		next := o.slow
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			o.log.Warn("polling swarm failed", "err", err, "failures", failures)
			next = min(o.fast*time.Duration(1<<min(failures, 6)), o.slow)
		case active:
			failures = 0
			next = o.fast
		default:
			failures = 0
		}
		if err == nil && o.now().UnixNano() < o.burstUntil.Load() {
			next = min(next, burstInterval)
		}
		timer.Reset(next)
	}
}

// poll takes one snapshot and enqueues the jobs whose observation changed.
// It reports whether any managed service exists.
func (o *observer) poll(ctx context.Context) (bool, error) {
	takenAt := o.now()
	filter := OwnedFilters(o.instance)
	tasks, err := o.engine.TaskList(ctx, client.TaskListOptions{Filters: filter})
	if err != nil {
		return false, fmt.Errorf("listing tasks: %w", err)
	}
	services, err := o.engine.ServiceList(ctx, client.ServiceListOptions{Filters: filter})
	if err != nil {
		return false, fmt.Errorf("listing services: %w", err)
	}
	o.refreshNodes(ctx, tasks.Items, takenAt)
	snap := buildSnapshot(o.instance, takenAt, services.Items, tasks.Items, o.nodes, o.nodeLostGrace)

	sigs := make(map[string]string, len(snap.byJob))
	var changed []string
	o.mu.Lock()
	for id, atts := range snap.byJob {
		sigs[id] = signature(atts)
		if o.sigs[id] != sigs[id] {
			changed = append(changed, id)
		}
	}
	for id := range o.sigs {
		if _, ok := sigs[id]; !ok {
			changed = append(changed, id)
		}
	}
	o.current, o.sigs = snap, sigs
	o.mu.Unlock()
	select {
	case <-o.ready:
	default:
		close(o.ready)
	}
	for _, id := range changed {
		o.onChange(id)
	}
	return len(snap.byJob) > 0, nil
}

// buildSnapshot joins services and tasks by service ID. Objects without
// well-formed swarmjob labels are ignored: they are not ours.
func buildSnapshot(instance string, takenAt time.Time, services []swarm.Service, tasks []swarm.Task, nodes map[string]nodeInfo, nodeLostGrace time.Duration) *snapshot {
	// An attempt's task is its service's only one: a restart-none service
	// gets no other, but for the pending one that replaces a task swarmjob
	// stopped (stopSpec), which is told by its constraints (not by its
	// time, which is the leader's clock). Should there be more, the first.
	first := make(map[string]*swarm.Task, len(tasks))
	for i := range tasks {
		t := &tasks[i]
		if isStopReplacement(t) {
			continue
		}
		if cur, ok := first[t.ServiceID]; !ok || t.Meta.CreatedAt.Before(cur.Meta.CreatedAt) ||
			(t.Meta.CreatedAt.Equal(cur.Meta.CreatedAt) && t.Meta.Version.Index < cur.Meta.Version.Index) {
			first[t.ServiceID] = t
		}
	}
	snap := &snapshot{takenAt: takenAt, byJob: map[string][]observedAttempt{}}
	for _, s := range services {
		jobID, index, attempt, ok := AttemptOf(instance, s.Spec.Labels)
		if !ok {
			continue
		}
		oa := observedAttempt{
			JobID: jobID, Index: index, Attempt: attempt,
			ServiceID: s.ID, Service: s.Spec.Name, CreatedAt: s.Meta.CreatedAt,
		}
		if why, at, ok := stopOf(s.Spec.Labels); ok {
			oa.Stop, oa.StopAt = &why, at
		}
		if t, ok := first[s.ID]; ok {
			oa.Task = observeTask(t)
			oa.Task.Node = t.NodeID
			if n, ok := nodes[t.NodeID]; ok {
				if n.hostname != "" {
					oa.Task.Node = n.hostname
				}
				// Swarm reports a task on a down node as running until
				// the node returns; past the grace the attempt is lost.
				oa.Task.NodeLost = !n.downSince.IsZero() && takenAt.Sub(n.downSince) >= nodeLostGrace
			}
		}
		snap.byJob[jobID] = append(snap.byJob[jobID], oa)
	}
	for _, atts := range snap.byJob {
		sort.Slice(atts, func(i, j int) bool {
			if atts[i].Index != atts[j].Index {
				return atts[i].Index < atts[j].Index
			}
			return atts[i].Attempt < atts[j].Attempt
		})
	}
	return snap
}

// isStopReplacement reports whether t is the task that replaces a stopped
// one (stopSpec), which no node can take.
func isStopReplacement(t *swarm.Task) bool {
	return t.Spec.Placement != nil && slices.Contains(t.Spec.Placement.Constraints, stopConstraints[0])
}

func observeTask(t *swarm.Task) *observedTask {
	ot := &observedTask{
		ID: t.ID, NodeID: t.NodeID, State: t.Status.State,
		Err: t.Status.Err, Message: t.Status.Message,
		Timestamp: t.Status.Timestamp, CreatedAt: t.Meta.CreatedAt,
	}
	if cs := t.Status.ContainerStatus; cs != nil {
		ot.HasContainer = cs.ContainerID != ""
		if t.Status.State == swarm.TaskStateComplete || t.Status.State == swarm.TaskStateFailed {
			code := cs.ExitCode
			ot.ExitCode = &code
		}
	}
	return ot
}

// signature summarises what the controller reacts to in a job's observation.
func signature(atts []observedAttempt) string {
	var b strings.Builder
	for _, a := range atts {
		fmt.Fprintf(&b, "%s/", a.ServiceID)
		if a.Task != nil {
			fmt.Fprintf(&b, "%s:%s:%s:%s:%v", a.Task.ID, a.Task.State, a.Task.NodeID, a.Task.Err, a.Task.NodeLost)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// nodeInfo is what the observer knows of a node.
type nodeInfo struct {
	hostname string
	// downSince is when the node was first seen not ready; zero while ready.
	downSince time.Time
}

// refreshNodes lists the nodes when a task runs on a node not seen before,
// and otherwise at most every nodeRefresh while tasks are active: one
// NodeList call, whatever the number of jobs.
func (o *observer) refreshNodes(ctx context.Context, tasks []swarm.Task, now time.Time) {
	due := now.Sub(o.nodesListed) >= nodeRefresh && len(tasks) > 0
	for _, t := range tasks {
		if _, ok := o.nodes[t.NodeID]; t.NodeID != "" && !ok {
			due = true
			break
		}
	}
	if !due {
		return
	}
	res, err := o.engine.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		o.log.Debug("listing nodes failed", "err", err)
		return
	}
	o.nodesListed = now
	seen := make(map[string]bool, len(res.Items))
	for _, n := range res.Items {
		seen[n.ID] = true
		info := o.nodes[n.ID]
		info.hostname = n.Description.Hostname
		switch {
		case n.Status.State == swarm.NodeStateReady:
			info.downSince = time.Time{}
		case info.downSince.IsZero():
			info.downSince = now
		}
		o.nodes[n.ID] = info
	}
	for _, t := range tasks {
		if !seen[t.NodeID] && t.NodeID != "" {
			// A node removed from the swarm is as good as down.
			info := o.nodes[t.NodeID]
			if info.downSince.IsZero() {
				info.downSince = now
			}
			o.nodes[t.NodeID] = info
		}
	}
}
