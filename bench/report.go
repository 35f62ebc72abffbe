package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one bench run measured; it is also the JSON output.
type report struct {
	Meta      meta           `json:"meta"`
	Rows      []row          `json:"rows"`
	Workloads []workloadData `json:"workloads"`
	Server    serverCost     `json:"server"`
}

// meta describes the machine and the run.
type meta struct {
	Date             time.Time `json:"date"`
	EngineVersion    string    `json:"engineVersion"`
	EngineAPIVersion string    `json:"engineAPIVersion"`
	// ClientAPIVersion is the version the client negotiated.
	ClientAPIVersion string   `json:"clientAPIVersion"`
	GOMAXPROCS       int      `json:"gomaxprocs"`
	NumCPU           int      `json:"numCPU"`
	GoVersion        string   `json:"goVersion"`
	Image            string   `json:"image"`
	RawPollMs        float64  `json:"rawPollMs"`
	Runs             int      `json:"runs"`
	Burst            int      `json:"burst"`
	BurstRuns        int      `json:"burstRuns"`
	ServerFlags      []string `json:"serverFlags"`
	// OtherServers counts other `swarmjob serve` processes on the machine.
	OtherServers   int     `json:"otherServers"`
	LoadStart      float64 `json:"loadAverageStart"`
	LoadEnd        float64 `json:"loadAverageEnd"`
	ElapsedSeconds float64 `json:"elapsedSeconds"`
}

// row is one line of the comparison table.
type row struct {
	Name     string  `json:"name"`
	Unit     string  `json:"unit"`
	Raw      float64 `json:"raw"`
	Swarmjob float64 `json:"swarmjob"`
	// Ratio is swarmjob/raw. For times above 1 means swarmjob is slower;
	// for rates (jobs/s) below 1 does.
	Ratio float64 `json:"ratio"`
}

func newRow(name, unit string, raw, swarmjob float64) row {
	return row{Name: name, Unit: unit, Raw: raw, Swarmjob: swarmjob, Ratio: swarmjob / raw}
}

// workloadData holds every counted sample of a workload, in seconds.
type workloadData struct {
	Name string `json:"name"`
	// Elapsed and ServerCPU are keyed by system name, in run order.
	Elapsed   map[string][]float64 `json:"elapsedSeconds"`
	ServerCPU map[string][]float64 `json:"serverCPUSeconds"`
}

// serverCost is what the swarmjob server process itself costs.
type serverCost struct {
	idleResult
	// SingleTrueCPUPerJob is the median server CPU time of one sequential
	// `true` job (10 ms resolution).
	SingleTrueCPUPerJob float64 `json:"singleTrueCPUSecondsPerJob"`
	// BurstCPUSeconds is the median server CPU time of one burst.
	BurstCPUSeconds float64 `json:"burstCPUSeconds"`
	BurstJobs       int     `json:"burstJobs"`
	PeakRSSBytes    int64   `json:"peakRSSBytes"`
}

func (r *report) addMeasurement(m measurement) {
	r.Rows = append(r.Rows, m.Workload.Rows(m.Samples)...)
	d := workloadData{Name: m.Workload.Name, Elapsed: map[string][]float64{}, ServerCPU: map[string][]float64{}}
	for sys, samples := range m.Samples {
		d.Elapsed[sys] = seconds(samples)
		d.ServerCPU[sys] = cpuSeconds(samples)
	}
	r.Workloads = append(r.Workloads, d)
}

// printReport writes the header and the two tables.
func printReport(w io.Writer, r *report) {
	m := r.Meta
	fmt.Fprintf(w, "swarmjob bench, %s\n", m.Date.Format(time.RFC3339))
	fmt.Fprintf(w, "engine %s, Engine API %s (client negotiated %s), GOMAXPROCS %d (%d CPUs), %s\n",
		m.EngineVersion, m.EngineAPIVersion, m.ClientAPIVersion, m.GOMAXPROCS, m.NumCPU, m.GoVersion)
	fmt.Fprintf(w, "image %s; raw polls TaskList every %gms; swarmjob serve %s (defaults otherwise)\n",
		m.Image, m.RawPollMs, strings.Join(m.ServerFlags, " "))
	fmt.Fprintf(w, "%d runs per single-job workload, %d bursts of %d (median); warm-up not counted; raw and swarmjob interleaved\n",
		m.Runs, m.BurstRuns, m.Burst)
	fmt.Fprintf(w, "load average (1 min) %.2f at start, %.2f at end; other swarmjob servers on this machine: %d; took %.0f s\n\n",
		m.LoadStart, m.LoadEnd, m.OtherServers, m.ElapsedSeconds)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\traw Engine API\tswarmjob\tratio (swarmjob/raw)")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\n", row.Name, formatValue(row.Raw, row.Unit),
			formatValue(row.Swarmjob, row.Unit), row.Ratio)
	}
	tw.Flush()

	s := r.Server
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "swarmjob server process\t")
	idle := fmt.Sprintf("%.2f s (%.2f%% of one CPU)", s.IdleCPUSeconds, 100*s.IdleCPUSeconds/s.IdleWindowSeconds)
	if s.IdleForeignManagedSamples > 0 {
		idle += fmt.Sprintf("; other servers' managed services (up to %d) present in %d of %d samples: not the pure idle cost",
			s.IdleForeignManagedMax, s.IdleForeignManagedSamples, s.IdleSamples)
	}
	fmt.Fprintf(tw, "CPU, idle %g s (10 ms resolution)\t%s\n", s.IdleWindowSeconds, idle)
	fmt.Fprintf(tw, "CPU, one `true` job (median)\t%.2f s\n", s.SingleTrueCPUPerJob)
	fmt.Fprintf(tw, "CPU, burst %d (median)\t%.2f s (%.0f ms per job)\n",
		s.BurstJobs, s.BurstCPUSeconds, 1000*s.BurstCPUSeconds/float64(s.BurstJobs))
	fmt.Fprintf(tw, "peak RSS (VmHWM)\t%.1f MiB\n", float64(s.PeakRSSBytes)/(1<<20))
	tw.Flush()
}

func formatValue(v float64, unit string) string {
	if unit == "s" {
		return fmt.Sprintf("%.3f s", v)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

// writeJSON writes the report as indented JSON.
func writeJSON(path string, r *report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
