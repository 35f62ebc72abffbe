package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Names of the two systems, as they appear in reports and JSON.
const (
	sysRaw      = "raw"
	sysSwarmjob = "swarmjob"
)

// A system runs jobs: the raw Engine API or swarmjob.
type system interface {
	Name() string
	// Run submits n jobs running cmd at once and returns when the result
	// (exit status and logs) of every one of them is in hand. A job that
	// does not succeed is an error.
	Run(ctx context.Context, cmd []string, n int) (runResult, error)
}

// runResult is what one Run measured.
type runResult struct {
	// Elapsed is the time from the first create call or submission until
	// the last result was in hand.
	Elapsed time.Duration
	// Services are the names of the Swarm services the run created, so
	// that the next run can wait until their containers are gone.
	Services []string
}

// sample is one counted run of one workload on one system.
type sample struct {
	Elapsed time.Duration
	// ServerCPU is the CPU time the swarmjob server process used during
	// the run, whichever system ran it (during raw runs it is the idle
	// server's background cost).
	ServerCPU time.Duration
}

// A workload is one thing measured on every system. Run is called once per
// sample, plus once per system as an uncounted warm-up. Rows turns the
// samples, by system name, into report rows.
type workload struct {
	Name string
	Runs int
	Run  func(ctx context.Context, s system) (runResult, error)
	Rows func(samples map[string][]sample) []row
}

// measurement is the outcome of measuring one workload.
type measurement struct {
	Workload workload
	Samples  map[string][]sample
}

// probes are what measure needs from around the systems.
type probes struct {
	// settle waits until the given services' containers are gone.
	settle func(ctx context.Context, services []string) error
	// serverCPU returns the server process's CPU time so far.
	serverCPU func() (time.Duration, error)
}

// singleJob is the sequential latency of one job running cmd.
func singleJob(name string, cmd []string, runs int) workload {
	return workload{
		Name: "single " + name,
		Runs: runs,
		Run: func(ctx context.Context, s system) (runResult, error) {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			return s.Run(ctx, cmd, 1)
		},
		Rows: func(samples map[string][]sample) []row {
			raw, sj := seconds(samples[sysRaw]), seconds(samples[sysSwarmjob])
			prefix := "single " + name + " "
			return []row{
				newRow(prefix+"p50", "s", percentile(raw, 50), percentile(sj, 50)),
				newRow(prefix+"p95", "s", percentile(raw, 95), percentile(sj, 95)),
				newRow(prefix+"max", "s", percentile(raw, 100), percentile(sj, 100)),
			}
		},
	}
}

// burstJobs is n jobs running `true` submitted at once; runs bursts per
// system, of which the median is reported.
func burstJobs(n, runs int) workload {
	name := fmt.Sprintf("burst %d", n)
	return workload{
		Name: name,
		Runs: runs,
		Run: func(ctx context.Context, s system) (runResult, error) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			return s.Run(ctx, []string{"true"}, n)
		},
		Rows: func(samples map[string][]sample) []row {
			raw := percentile(seconds(samples[sysRaw]), 50)
			sj := percentile(seconds(samples[sysSwarmjob]), 50)
			return []row{
				newRow(name+" total", "s", raw, sj),
				newRow(name+" jobs/s", "jobs/s", float64(n)/raw, float64(n)/sj),
			}
		},
	}
}

// measure runs w on every system: one uncounted warm-up each, then w.Runs
// iterations in which every system runs once, in an order that alternates
// between iterations so that neither system always runs right after the
// other. Each run is followed by an untimed wait until its containers are
// gone, so that teardown does not overlap the next run.
func measure(ctx context.Context, w workload, systems []system, p probes) (measurement, error) {
	m := measurement{Workload: w, Samples: map[string][]sample{}}
	for _, s := range systems {
		if _, err := runOnce(ctx, w, s, p); err != nil {
			return m, fmt.Errorf("%s: warm-up on %s: %w", w.Name, s.Name(), err)
		}
	}
	logf("%s: warmed up", w.Name)
	for i := range w.Runs {
		order := slices.Clone(systems)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		var line strings.Builder
		fmt.Fprintf(&line, "%s %d/%d:", w.Name, i+1, w.Runs)
		for _, s := range order {
			smp, err := runOnce(ctx, w, s, p)
			if err != nil {
				return m, fmt.Errorf("%s: run %d on %s: %w", w.Name, i+1, s.Name(), err)
			}
			m.Samples[s.Name()] = append(m.Samples[s.Name()], smp)
			fmt.Fprintf(&line, "  %s %.3fs", s.Name(), smp.Elapsed.Seconds())
		}
		logf("%s", line.String())
	}
	return m, nil
}

// runOnce runs w once on s, measures the server's CPU time around it, and
// waits for the run's containers to be gone.
func runOnce(ctx context.Context, w workload, s system, p probes) (sample, error) {
	cpu0, err := p.serverCPU()
	if err != nil {
		return sample{}, err
	}
	res, runErr := w.Run(ctx, s)
	cpu1, err := p.serverCPU()
	if runErr != nil {
		return sample{}, runErr
	}
	if err != nil {
		return sample{}, err
	}
	if err := p.settle(ctx, res.Services); err != nil {
		return sample{}, err
	}
	return sample{Elapsed: res.Elapsed, ServerCPU: cpu1 - cpu0}, nil
}

// seconds returns the elapsed times of samples in seconds.
func seconds(samples []sample) []float64 {
	out := make([]float64, len(samples))
	for i, s := range samples {
		out[i] = s.Elapsed.Seconds()
	}
	return out
}

// cpuSeconds returns the server CPU times of samples in seconds.
func cpuSeconds(samples []sample) []float64 {
	out := make([]float64, len(samples))
	for i, s := range samples {
		out[i] = s.ServerCPU.Seconds()
	}
	return out
}

// percentile returns the p-th percentile (0-100) of xs, interpolating
// linearly between the two nearest ranks; p=50 is the median, p=100 the
// maximum. With 15 samples p95 lies between the two largest.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	pos := p / 100 * float64(len(s)-1)
	lo := int(pos)
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	frac := pos - float64(lo)
	return s[lo] + frac*(s[lo+1]-s[lo])
}
