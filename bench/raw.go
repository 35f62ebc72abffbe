package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Labels of the raw baseline's services. They are not swarmjob's managed
// label on purpose: see the package comment.
const (
	labelBenchRun   = "io.swarmjob.bench.run"
	labelBenchGroup = "io.swarmjob.bench.group"
)

// rawEngine is the baseline: one-shot services driven directly through the
// Engine API, with the result read and nothing stored.
type rawEngine struct {
	api   *client.Client
	image string
	poll  time.Duration
	runID string
	seq   atomic.Int64

	mu sync.Mutex
	// live holds the IDs of the services created and not yet removed.
	live map[string]bool
}

func newRawEngine(api *client.Client, image, runID string, poll time.Duration) *rawEngine {
	return &rawEngine{api: api, image: image, poll: poll, runID: runID, live: map[string]bool{}}
}

func (r *rawEngine) Name() string { return sysRaw }

// Run creates n services concurrently, polls their tasks with one TaskList
// by label every r.poll until each is terminal, and then, per service, reads
// its logs (the result is in hand) and removes it. Elapsed ends when the
// last logs were read.
func (r *rawEngine) Run(ctx context.Context, cmd []string, n int) (runResult, error) {
	group := fmt.Sprintf("%s-%d", r.runID, r.seq.Add(1))
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("sjbench-%s-%d", group, i)
	}
	res := runResult{Services: names}

	start := time.Now()
	ids, err := r.createAll(ctx, group, names, cmd)
	if err != nil {
		r.removeAll(ctx, ids)
		return res, err
	}
	pending := make(map[string]bool, n)
	for _, id := range ids {
		pending[id] = true
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		last time.Time
		errs []error
	)
	pollErr := r.pollTerminal(ctx, group, pending, func(t swarm.Task) {
		wg.Go(func() {
			err := r.collect(ctx, t)
			done := time.Now()
			mu.Lock()
			if done.After(last) {
				last = done
			}
			errs = append(errs, err)
			mu.Unlock()
			r.remove(ctx, t.ServiceID)
		})
	})
	wg.Wait()
	if pollErr != nil {
		r.removeAll(ctx, ids)
		return res, pollErr
	}
	res.Elapsed = last.Sub(start)
	return res, errors.Join(errs...)
}

// createAll creates one service per name, all at once. It returns the IDs
// of the services it created, also on error.
func (r *rawEngine) createAll(ctx context.Context, group string, names []string, cmd []string) ([]string, error) {
	ids := make([]string, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			ids[i], errs[i] = r.create(ctx, group, name, cmd)
		})
	}
	wg.Wait()
	created := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			created = append(created, id)
		}
	}
	return created, errors.Join(errs...)
}

// create creates the one-shot service swarmjob would create for an attempt:
// replicated, one replica, never restarted.
func (r *rawEngine) create(ctx context.Context, group, name string, cmd []string) (string, error) {
	one := uint64(1)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{
			Name:   name,
			Labels: map[string]string{labelBenchRun: r.runID, labelBenchGroup: group},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: r.image, Command: cmd},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
		},
	}
	res, err := r.api.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: spec})
	if err != nil {
		return "", fmt.Errorf("creating service %s: %w", name, err)
	}
	r.mu.Lock()
	r.live[res.ID] = true
	r.mu.Unlock()
	return res.ID, nil
}

// pollTerminal lists the group's tasks every r.poll, starting at once, and
// calls onTerminal once for each pending service whose task is terminal,
// until none is pending.
func (r *rawEngine) pollTerminal(ctx context.Context, group string, pending map[string]bool, onTerminal func(swarm.Task)) error {
	filter := make(client.Filters).Add("label", labelBenchGroup+"="+group)
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	for len(pending) > 0 {
		res, err := r.api.TaskList(ctx, client.TaskListOptions{Filters: filter})
		if err != nil {
			return fmt.Errorf("listing tasks: %w", err)
		}
		for _, t := range res.Items {
			if pending[t.ServiceID] && terminal(t.Status.State) {
				delete(pending, t.ServiceID)
				onTerminal(t)
			}
		}
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// collect checks that a terminal task succeeded and reads its service's
// logs, stdout and stderr demultiplexed, to the end.
func (r *rawEngine) collect(ctx context.Context, t swarm.Task) error {
	if t.Status.State != swarm.TaskStateComplete {
		return fmt.Errorf("task %s of service %s ended %s: %s %s", t.ID, t.ServiceID, t.Status.State, t.Status.Err, t.Status.Message)
	}
	rc, err := r.api.ServiceLogs(ctx, t.ServiceID, client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return fmt.Errorf("reading logs of service %s: %w", t.ServiceID, err)
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(io.Discard, io.Discard, rc); err != nil {
		return fmt.Errorf("reading logs of service %s: %w", t.ServiceID, err)
	}
	return nil
}

// remove removes a service this rawEngine created. A failure leaves the ID
// in r.live for cleanup to retry.
func (r *rawEngine) remove(ctx context.Context, id string) {
	_, err := r.api.ServiceRemove(ctx, id, client.ServiceRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		logf("removing service %s: %v (retried at cleanup)", id, err)
		return
	}
	r.mu.Lock()
	delete(r.live, id)
	r.mu.Unlock()
}

func (r *rawEngine) removeAll(ctx context.Context, ids []string) {
	for _, id := range ids {
		r.remove(ctx, id)
	}
}

// cleanup removes every service this rawEngine created and did not remove,
// by ID and then by the run label (a create cut short by an interrupt may
// have created a service whose ID never came back).
func (r *rawEngine) cleanup(ctx context.Context) error {
	r.mu.Lock()
	ids := make([]string, 0, len(r.live))
	for id := range r.live {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	r.removeAll(ctx, ids)

	res, err := r.api.ServiceList(ctx, client.ServiceListOptions{
		Filters: make(client.Filters).Add("label", labelBenchRun+"="+r.runID),
	})
	if err != nil {
		return fmt.Errorf("listing leftover raw services: %w", err)
	}
	r.mu.Lock()
	for _, s := range res.Items {
		r.live[s.ID] = true
	}
	r.mu.Unlock()
	for _, s := range res.Items {
		r.remove(ctx, s.ID)
	}
	r.mu.Lock()
	n := len(r.live)
	r.mu.Unlock()
	if n > 0 {
		return fmt.Errorf("%d raw baseline service(s) could not be removed (label %s=%s)", n, labelBenchRun, r.runID)
	}
	return nil
}

// terminal reports whether a task state is final.
func terminal(s swarm.TaskState) bool {
	switch s {
	case swarm.TaskStateComplete, swarm.TaskStateFailed, swarm.TaskStateRejected,
		swarm.TaskStateShutdown, swarm.TaskStateOrphaned, swarm.TaskStateRemove:
		return true
	}
	return false
}
