package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// swarmServiceNameLabel is the label Swarm puts on a task's container.
const swarmServiceNameLabel = "com.docker.swarm.service.name"

// bench holds what one bench run set up, so that tearDown can undo it.
type bench struct {
	cfg    config
	runID  string
	tmp    string
	engine *client.Client
	srv    *server
	raw    *rawEngine
	sj     *swarmjobSystem
	ready  bool // the server answered /readyz
	meta   meta
	start  time.Time
}

// setUp checks the Engine, builds swarmjob, starts the server and waits
// until it is ready. On error it returns what it set up so far, for
// tearDown.
func setUp(ctx context.Context, cfg config) (*bench, error) {
	b := &bench{cfg: cfg, runID: newRunID(), start: time.Now()}
	var err error
	if b.tmp, err = os.MkdirTemp("", "swarmjob-bench-"); err != nil {
		return b, err
	}
	b.engine, err = client.New(client.FromEnv)
	if err != nil {
		return b, fmt.Errorf("engine client: %w", err)
	}
	if err := b.checkEngine(ctx); err != nil {
		return b, err
	}
	logf("run %s: building swarmjob", b.runID)
	bin := filepath.Join(b.tmp, "swarmjob")
	if err := buildSwarmjob(ctx, bin); err != nil {
		return b, err
	}
	b.srv, err = startServer(bin, filepath.Join(b.tmp, "data"), filepath.Join(b.tmp, "server.log"), cfg.serveFlags)
	if err != nil {
		return b, err
	}
	b.raw = newRawEngine(b.engine, cfg.image, b.runID, cfg.rawPoll)
	if b.sj, err = newSwarmjobSystem(b.srv.url, cfg.image, b.runID); err != nil {
		return b, err
	}
	if err := b.srv.waitReady(ctx, b.sj.api); err != nil {
		return b, err
	}
	b.ready = true
	b.meta.ServerFlags = slices.Concat(serverFlags, cfg.serveFlags)
	b.meta.OtherServers = otherServers(b.srv.pid())
	logf("swarmjob serve ready at %s (pid %d)", b.srv.url, b.srv.pid())
	return b, nil
}

// checkEngine fails early, with a hint, when the Engine is not a Swarm
// manager or lacks the test image, and records the versions.
func (b *bench) checkEngine(ctx context.Context) error {
	const hint = " (run make swarm-up)"
	info, err := b.engine.Info(ctx, client.InfoOptions{})
	if err != nil {
		return fmt.Errorf("engine: %w%s", err, hint)
	}
	if sw := info.Info.Swarm; sw.LocalNodeState != swarm.LocalNodeStateActive || !sw.ControlAvailable {
		return fmt.Errorf("engine is not a Swarm manager (swarm %q)%s", sw.LocalNodeState, hint)
	}
	if _, err := b.engine.ImageInspect(ctx, b.cfg.image); err != nil {
		return fmt.Errorf("image %s: %w%s", b.cfg.image, err, hint)
	}
	v, err := b.engine.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return fmt.Errorf("engine version: %w", err)
	}
	b.meta = meta{
		Date:             b.start.UTC(),
		EngineVersion:    v.Version,
		EngineAPIVersion: v.APIVersion,
		ClientAPIVersion: b.engine.ClientVersion(),
		GOMAXPROCS:       runtime.GOMAXPROCS(0),
		NumCPU:           runtime.NumCPU(),
		GoVersion:        runtime.Version(),
		Image:            b.cfg.image,
		RawPollMs:        float64(b.cfg.rawPoll) / float64(time.Millisecond),
		Runs:             b.cfg.runs,
		Burst:            b.cfg.burst,
		BurstRuns:        b.cfg.burstRuns,
		LoadStart:        loadAverage(),
	}
	return nil
}

// measureAll measures every workload on both systems, then the idle server.
func (b *bench) measureAll(ctx context.Context) (*report, error) {
	systems := []system{b.raw, b.sj}
	p := probes{settle: b.settle, serverCPU: b.srv.cpuTime}
	single := singleJob("true", []string{"true"}, b.cfg.runs)
	burst := burstJobs(b.cfg.burst, b.cfg.burstRuns)
	workloads := []workload{single, singleJob("sleep1", []string{"sleep", "1"}, b.cfg.runs), burst}

	rep := &report{}
	byName := map[string]measurement{}
	for _, w := range workloads {
		m, err := measure(ctx, w, systems, p)
		if err != nil {
			return nil, err
		}
		byName[w.Name] = m
		rep.addMeasurement(m)
	}

	idle, err := b.measureIdle(ctx)
	if err != nil {
		return nil, err
	}
	rss, err := b.srv.peakRSS()
	if err != nil {
		return nil, err
	}
	rep.Server = serverCost{
		idleResult:          idle,
		SingleTrueCPUPerJob: percentile(cpuSeconds(byName[single.Name].Samples[sysSwarmjob]), 50),
		BurstCPUSeconds:     percentile(cpuSeconds(byName[burst.Name].Samples[sysSwarmjob]), 50),
		BurstJobs:           b.cfg.burst,
		PeakRSSBytes:        rss,
	}
	b.meta.LoadEnd = loadAverage()
	b.meta.OtherServers = max(b.meta.OtherServers, otherServers(b.srv.pid()))
	b.meta.ElapsedSeconds = time.Since(b.start).Seconds()
	rep.Meta = b.meta
	return rep, nil
}

// idleResult is the server's CPU time while no job of this bench exists.
type idleResult struct {
	IdleWindowSeconds float64 `json:"idleWindowSeconds"`
	IdleCPUSeconds    float64 `json:"idleCPUSeconds"`
	// Managed services of other swarmjob servers, sampled every second of
	// the window: the largest number seen, and in how many samples there
	// were any. While any exist the server polls every 100 ms instead of
	// every 2 s, so the idle figure is then not the true idle cost.
	IdleForeignManagedMax     int `json:"idleForeignManagedMax"`
	IdleForeignManagedSamples int `json:"idleForeignManagedSamples"`
	IdleSamples               int `json:"idleSamples"`
}

// measureIdle measures the server's CPU time over the idle window, after
// every job of the bench finished and its service is gone.
func (b *bench) measureIdle(ctx context.Context) (idleResult, error) {
	logf("idle: measuring the server's CPU time over %s", b.cfg.idle)
	// Let the server's observer see that no managed service is left and
	// fall back to its slow poll.
	if err := sleep(ctx, 3*time.Second); err != nil {
		return idleResult{}, err
	}
	res := idleResult{IdleWindowSeconds: b.cfg.idle.Seconds()}
	start := time.Now()
	cpu0, err := b.srv.cpuTime()
	if err != nil {
		return res, err
	}
	for time.Since(start) < b.cfg.idle {
		n, err := b.foreignManagedServices(ctx)
		if err != nil {
			return res, err
		}
		res.IdleSamples++
		res.IdleForeignManagedMax = max(res.IdleForeignManagedMax, n)
		if n > 0 {
			res.IdleForeignManagedSamples++
		}
		if err := sleep(ctx, min(time.Second, b.cfg.idle-time.Since(start))); err != nil {
			return res, err
		}
	}
	cpu1, err := b.srv.cpuTime()
	if err != nil {
		return res, err
	}
	res.IdleCPUSeconds = (cpu1 - cpu0).Seconds()
	return res, nil
}

// foreignManagedServices counts the managed services that are not this
// bench's: other servers' jobs, which make our server poll fast.
func (b *bench) foreignManagedServices(ctx context.Context) (int, error) {
	res, err := b.engine.ServiceList(ctx, client.ServiceListOptions{
		Filters: make(client.Filters).Add("label", labelManaged+"=true"),
	})
	if err != nil {
		return 0, fmt.Errorf("listing managed services: %w", err)
	}
	ours, err := b.sj.services(ctx, b.engine)
	if err != nil {
		return 0, err
	}
	return len(res.Items) - len(ours), nil
}

// settle waits until the containers of the given services are gone, so that
// one run's teardown (task and container removal, which take a few hundred
// milliseconds after ServiceRemove returns) does not overlap the next run.
// It is not timed. A container still there after 15 s is reported, not
// fatal.
func (b *bench) settle(ctx context.Context, services []string) error {
	want := make(map[string]bool, len(services))
	for _, s := range services {
		want[s] = true
	}
	filter := make(client.Filters).Add("label", swarmServiceNameLabel)
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := b.engine.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
		if err != nil {
			return fmt.Errorf("listing containers: %w", err)
		}
		left := 0
		for _, c := range res.Items {
			if want[c.Labels[swarmServiceNameLabel]] {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			logf("settle: %d container(s) of the last run still present after 15 s; going on", left)
			return nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// tearDown deletes what the bench created, whatever state it got to: raw
// services, swarmjob jobs (through the API, while the server runs), the
// server, services of our jobs still present, the temporary directory.
// It uses a context of its own, so that it also runs after an interrupt.
// runErr is the error the bench failed with, if any: then the tail of the
// server's log is shown before the log is deleted.
func (b *bench) tearDown(parent context.Context, runErr error) error {
	if parent.Err() != nil {
		logf("interrupted; cleaning up")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 2*time.Minute)
	defer cancel()
	var errs []error
	if b.raw != nil {
		errs = append(errs, b.raw.cleanup(ctx))
	}
	if b.ready && b.srv.running() {
		errs = append(errs, b.sj.deleteJobs(ctx, b.engine))
	}
	if b.srv != nil {
		errs = append(errs, b.srv.stop())
		if err := errors.Join(errs...); err != nil || runErr != nil || parent.Err() != nil {
			fmt.Fprintf(os.Stderr, "--- last lines of the server log:\n%s\n", b.srv.logTail(30))
		}
	}
	if b.sj != nil {
		errs = append(errs, b.sj.removeLeftoverServices(ctx, b.engine))
	}
	if b.engine != nil {
		errs = append(errs, b.engine.Close())
	}
	if b.tmp != "" {
		errs = append(errs, os.RemoveAll(b.tmp))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleaning up: %w", err)
	}
	logf("cleaned up: no service of run %s is left", b.runID)
	return nil
}

// newRunID returns a short random ID that names this run's services and
// labels its jobs.
func newRunID() string {
	var buf [4]byte
	_, _ = rand.Read(buf[:])
	return hex.EncodeToString(buf[:])
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
