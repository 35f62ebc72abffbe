package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	sjclient "github.com/swarmjob/swarmjob/client"
)

// Labels swarmjob puts on the services of its attempts (see controller).
const (
	labelManaged = "io.swarmjob.managed"
	labelJob     = "io.swarmjob.job"
)

// swarmjobSystem runs jobs through swarmjob's REST API with the Go client.
type swarmjobSystem struct {
	api   *sjclient.Client
	image string
	runID string

	mu sync.Mutex
	// jobs holds the ID of every job submitted, to delete them at the end.
	jobs map[string]bool
}

// benchToken is the admin token of the bench's own server.
const benchToken = "swarmjob-bench-admin-token-0123456789"

func newSwarmjobSystem(baseURL, image, runID string) (*swarmjobSystem, error) {
	// Enough idle connections that concurrent waits of a burst do not
	// close and reopen connections.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	api, err := sjclient.New(baseURL, sjclient.WithHTTPClient(&http.Client{Transport: tr}),
		sjclient.WithUserAgent("swarmjob-bench"), sjclient.WithToken(benchToken))
	if err != nil {
		return nil, err
	}
	return &swarmjobSystem{api: api, image: image, runID: runID, jobs: map[string]bool{}}, nil
}

func (s *swarmjobSystem) Name() string { return sysSwarmjob }

// jobOutcome is what one job of a Run yields.
type jobOutcome struct {
	done     time.Time
	services []string
	err      error
}

// Run submits n jobs concurrently and, per job, waits server-side until it
// is terminal and reads its logs fully. Elapsed ends when the last logs were
// read.
func (s *swarmjobSystem) Run(ctx context.Context, cmd []string, n int) (runResult, error) {
	outcomes := make([]jobOutcome, n)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range outcomes {
		wg.Go(func() { outcomes[i] = s.runJob(ctx, cmd) })
	}
	wg.Wait()

	var (
		res  runResult
		last time.Time
		errs []error
	)
	for _, o := range outcomes {
		if o.done.After(last) {
			last = o.done
		}
		res.Services = append(res.Services, o.services...)
		errs = append(errs, o.err)
	}
	res.Elapsed = last.Sub(start)
	return res, errors.Join(errs...)
}

// runJob submits one job, waits until it is terminal, and reads its logs.
func (s *swarmjobSystem) runJob(ctx context.Context, cmd []string) jobOutcome {
	job, err := s.api.CreateJob(ctx, types.CreateJobRequest{
		Labels:  map[string]string{labelBenchRun: s.runID},
		JobSpec: types.JobSpec{Image: s.image, Command: slices.Clone(cmd)},
	})
	if err != nil {
		return jobOutcome{err: fmt.Errorf("submitting job: %w", err)}
	}
	s.track(job.ID)
	job, err = s.waitTerminal(ctx, job.ID)
	if err != nil {
		return jobOutcome{err: err}
	}
	var o jobOutcome
	for _, a := range job.Status.Attempts {
		o.services = append(o.services, a.Service)
	}
	if job.Status.Phase != types.PhaseSucceeded {
		o.err = fmt.Errorf("job %s ended %s (%s): %s", job.ID, job.Status.Phase, job.Status.Reason, job.Status.Message)
		return o
	}
	o.err = s.readLogs(ctx, job.ID)
	o.done = time.Now()
	return o
}

// waitTerminal repeats server-side waits until the job is terminal.
func (s *swarmjobSystem) waitTerminal(ctx context.Context, id string) (*types.Job, error) {
	for {
		job, err := s.api.Wait(ctx, id, 30*time.Second)
		if err != nil {
			return nil, fmt.Errorf("waiting for job %s: %w", id, err)
		}
		if types.TerminalPhase(job.Status.Phase) {
			return job, nil
		}
	}
}

func (s *swarmjobSystem) readLogs(ctx context.Context, id string) error {
	rc, err := s.api.Logs(ctx, id, sjclient.LogOptions{})
	if err != nil {
		return fmt.Errorf("reading logs of job %s: %w", id, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("reading logs of job %s: %w", id, err)
	}
	return nil
}

func (s *swarmjobSystem) track(id string) {
	s.mu.Lock()
	s.jobs[id] = true
	s.mu.Unlock()
}

// jobIDs returns the IDs of every job submitted.
func (s *swarmjobSystem) jobIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.jobs))
	for id := range s.jobs {
		ids = append(ids, id)
	}
	return ids
}

// deleteJobs deletes every job of this run through the API: the ones it
// submitted, and any the server holds with this run's label (a submission
// cut short by an interrupt may have created a job whose ID never came
// back). It then waits, up to a limit, until the server has removed their
// services.
func (s *swarmjobSystem) deleteJobs(ctx context.Context, engine *client.Client) error {
	var errs []error
	opts := sjclient.ListOptions{Labels: map[string]string{labelBenchRun: s.runID}, Limit: 500}
	for {
		page, err := s.api.ListJobs(ctx, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("listing jobs: %w", err))
			break
		}
		for _, j := range page.Items {
			s.track(j.ID)
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	for _, id := range s.jobIDs() {
		if err := s.api.DeleteJob(ctx, id); err != nil && !sjclient.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting job %s: %w", id, err))
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		left, err := s.services(ctx, engine)
		if err != nil || len(left) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.Join(errs...)
}

// removeLeftoverServices removes, directly, the services of this run's jobs
// that still exist; it runs after the server has stopped.
func (s *swarmjobSystem) removeLeftoverServices(ctx context.Context, engine *client.Client) error {
	left, err := s.services(ctx, engine)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range left {
		logf("removing leftover service %s of a swarmjob job", id)
		if _, err := engine.ServiceRemove(ctx, id, client.ServiceRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("removing service %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// services returns the IDs of the managed services that belong to this
// run's jobs. Other managed services on the Swarm are not ours.
func (s *swarmjobSystem) services(ctx context.Context, engine *client.Client) ([]string, error) {
	res, err := engine.ServiceList(ctx, client.ServiceListOptions{
		Filters: make(client.Filters).Add("label", labelManaged+"=true"),
	})
	if err != nil {
		return nil, fmt.Errorf("listing managed services: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, svc := range res.Items {
		if s.jobs[svc.Spec.Labels[labelJob]] {
			ids = append(ids, svc.ID)
		}
	}
	return ids, nil
}
