//go:build cluster

// The tests in this file need the 3-node swarm of hack/cluster-up.sh (n1
// manager; n2 and n3 workers labelled swarmjob-test-role=worker, each a
// dockerd in a network namespace of this machine) and crash its nodes with
// hack/cluster-node.sh. With the cluster tag every test of the package runs
// against that swarm's manager instead of DOCKER_HOST. Run them with
// `make test-cluster`, or:
//
//	hack/cluster-up.sh && go test -tags cluster -run NodeLoss ./tests/; hack/cluster-down.sh

package tests

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

func init() {
	dockerHost = "unix://" + filepath.Join(clusterDir, "n1", "docker.sock")
}

// clusterNode is one node of the test cluster.
type clusterNode struct {
	name     string // "n2": what hack/cluster-node.sh takes
	hostname string // what Swarm and swarmjob report as the attempt's node
	id       string // Swarm node ID
	engine   *dockerclient.Client
}

// clusterWorkers returns the worker nodes by hostname.
func clusterWorkers(t *testing.T) map[string]*clusterNode {
	t.Helper()
	workers := map[string]*clusterNode{}
	for _, name := range []string{"n2", "n3"} {
		c, err := dockerclient.New(dockerclient.WithHost("unix://" + filepath.Join(clusterDir, name, "docker.sock")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		info, err := c.Info(testCtx(t, 10*time.Second), dockerclient.InfoOptions{})
		if err != nil {
			t.Fatalf("worker %s: %v (run hack/cluster-up.sh)", name, err)
		}
		workers[info.Info.Name] = &clusterNode{name: name, hostname: info.Info.Name, id: info.Info.Swarm.NodeID, engine: c}
	}
	return workers
}

// clusterNodeCmd runs hack/cluster-node.sh ACTION NODE.
func clusterNodeCmd(t *testing.T, action, node string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "../hack/cluster-node.sh", action, node)
	// A dockerd that kept the output pipe open must not hang the test.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("hack/cluster-node.sh %s %s: %s", action, node, strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("hack/cluster-node.sh %s %s: %v", action, node, err)
	}
}

// TestNodeLoss crashes the dockerd of the worker that runs a job's attempt:
// once Swarm marks the node down and --node-lost-grace has passed, the
// attempt must fail as NodeLost and a replacement must run on the other
// worker; when the crashed worker returns, nothing of the job may be left on
// it.
func TestNodeLoss(t *testing.T) {
	const (
		grace = 5 * time.Second
		// Swarm marks a worker down 10-16 s after its dockerd dies.
		detection = 16 * time.Second
		margin    = 15 * time.Second
	)
	workers := clusterWorkers(t)
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--node-lost-grace", grace.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	j := submit(t, s, types.CreateJobRequest{Name: "nodeloss", JobSpec: types.JobSpec{
		// Attempt 0 runs long enough to be caught by the crash; its
		// replacement ends at once. NODE is a Swarm template: `hostname`
		// in a task prints the container's name, not the node's.
		Command:      sh(`echo "attempt $SWARMJOB_ATTEMPT on $NODE"; if [ "$SWARMJOB_ATTEMPT" = 0 ]; then sleep 60; fi`),
		Env:          map[string]string{"NODE": "{{.Node.Hostname}}"},
		BackoffLimit: intp(1),
		Placement:    &types.Placement{Constraints: []string{"node.labels.swarmjob-test-role==worker"}},
	}})
	getJob := func() (*types.Job, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.client.GetJob(ctx, j.ID)
	}

	var victim *clusterNode
	waitFor(t, time.Minute, "attempt 0 to run on a worker", func() (bool, error) {
		j, err := getJob()
		if err != nil || len(j.Status.Attempts) == 0 || j.Status.Attempts[0].State != "running" {
			return false, err
		}
		node := j.Status.Attempts[0].Node
		if victim = workers[node]; victim == nil {
			t.Fatalf("attempt 0 runs on %q, not on a worker %v", node, workers)
		}
		return true, nil
	})
	var other *clusterNode
	for _, w := range workers {
		if w != victim {
			other = w
		}
	}
	revived := false
	t.Cleanup(func() {
		// Leave the cluster whole for whatever runs next.
		if !revived {
			clusterNodeCmd(t, "start", victim.name)
		}
	})
	killedAt := time.Now()
	clusterNodeCmd(t, "kill", victim.name)

	// Until attempt 0 is lost: when does the manager show the node down, and
	// when does swarmjob give the attempt up?
	var downAt, lostAt time.Time
	deadline := killedAt.Add(detection + grace + margin)
	for lostAt.IsZero() {
		if time.Now().After(deadline) {
			last, _ := getJob()
			t.Fatalf("attempt 0 not failed as NodeLost %v after the kill (node down after %v); last seen: %+v",
				time.Since(killedAt).Round(time.Millisecond), since(killedAt, downAt), last)
		}
		if downAt.IsZero() {
			n, err := engine.NodeInspect(testCtx(t, 5*time.Second), victim.id, dockerclient.NodeInspectOptions{})
			if err == nil && n.Node.Status.State == swarm.NodeStateDown {
				downAt = time.Now()
			}
		}
		if j, err := getJob(); err == nil && len(j.Status.Attempts) > 0 {
			a := j.Status.Attempts[0]
			if a.State == types.AttemptFailed {
				if a.Reason != types.AttemptReasonNodeLost {
					t.Fatalf("attempt 0 = %+v, want failed with reason NodeLost", a)
				}
				lostAt = time.Now()
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("node %s down %v after the kill; attempt 0 NodeLost %v after the kill",
		victim.hostname, since(killedAt, downAt), since(killedAt, lostAt))
	if downAt.IsZero() {
		t.Errorf("attempt 0 lost before the manager showed node %s down", victim.hostname)
	} else if d := lostAt.Sub(downAt); d < grace-500*time.Millisecond {
		t.Errorf("attempt 0 lost %v after its node went down, before --node-lost-grace %v", d, grace)
	}

	j = waitTerminal(t, s, j.ID, time.Minute)
	if j.Status.Phase != types.PhaseSucceeded || len(j.Status.Attempts) != 2 {
		t.Fatalf("status = %+v, want Succeeded after 2 attempts", j.Status)
	}
	a0, a1 := j.Status.Attempts[0], j.Status.Attempts[1]
	if a0.State != types.AttemptFailed || a0.Reason != types.AttemptReasonNodeLost || a0.Node != victim.hostname {
		t.Errorf("attempt 0 = %+v, want failed with reason NodeLost on %s", a0, victim.hostname)
	}
	if a1.State != types.AttemptSucceeded || a1.Node != other.hostname {
		t.Errorf("attempt 1 = %+v, want succeeded on %s", a1, other.hostname)
	}
	if a0.FinishedAt != nil && a1.StartedAt != nil && a1.FinishedAt != nil {
		t.Logf("attempt 1 started %v after attempt 0 was lost, finished %v later; job done %v after the kill",
			a1.StartedAt.Sub(*a0.FinishedAt).Round(time.Millisecond), a1.FinishedAt.Sub(*a1.StartedAt).Round(time.Millisecond),
			since(killedAt, time.Now()))
	}
	if out := logs(t, s, j.ID, client.LogOptions{}); !strings.Contains(out, "attempt 1 on "+other.hostname+"\n") {
		t.Errorf("output = %q, want the line of attempt 1 on %s", out, other.hostname)
	}

	// The crashed worker returns: its dockerd restores the container of
	// attempt 0, still running, and Swarm must have it removed, as the
	// attempt's service is gone.
	revivedAt := time.Now()
	clusterNodeCmd(t, "start", victim.name)
	revived = true
	t.Logf("node %s back and ready after %v", victim.hostname, since(revivedAt, time.Now()))
	waitFor(t, 30*time.Second, "no container or service of the job left", func() (bool, error) {
		if names, err := managedServices(context.Background(), j.ID); err != nil || len(names) > 0 {
			return false, fmt.Errorf("services %v (%w)", names, err)
		}
		for _, a := range j.Status.Attempts {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			res, err := victim.engine.ContainerList(ctx, dockerclient.ContainerListOptions{
				All:     true,
				Filters: make(dockerclient.Filters).Add("label", "com.docker.swarm.service.name="+a.Service),
			})
			cancel()
			if err != nil || len(res.Items) > 0 {
				return false, fmt.Errorf("containers of %s on %s: %d (%w)", a.Service, victim.hostname, len(res.Items), err)
			}
		}
		return true, nil
	})
	t.Logf("nothing of the job left on %s %v after it was started again", victim.hostname, since(revivedAt, time.Now()))
}

// since is t-from rounded, or "never" when t is zero.
func since(from, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Sub(from).Round(100 * time.Millisecond).String()
}

// TestNodeDrain drains the worker that runs a job's attempt: the Swarm shuts
// the task down (restart-policy none: no replacement of its own), swarmjob
// records the attempt as Evicted with the output it wrote while stopping,
// and, as a failure policy rule ignores evictions, starts a replacement on
// the other worker without counting a failure.
func TestNodeDrain(t *testing.T) {
	workers := clusterWorkers(t)
	s, err := startServer(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	j := submit(t, s, types.CreateJobRequest{Name: "drain", JobSpec: types.JobSpec{
		Command: sh(`echo "attempt $SWARMJOB_ATTEMPT"
if [ "$SWARMJOB_ATTEMPT" = 0 ]; then trap 'echo "stopping on SIGTERM"; exit 143' TERM; sleep 60 & wait; fi`),
		BackoffLimit:  intp(0),
		FailurePolicy: &types.FailurePolicy{Rules: []types.FailureRule{{Action: "Ignore", OnReasons: []string{"Evicted"}}}},
		Placement:     &types.Placement{Constraints: []string{"node.labels.swarmjob-test-role==worker"}},
	}})
	ctx := testCtx(t, 2*time.Minute)
	var victim *clusterNode
	waitFor(t, time.Minute, "attempt 0 to run on a worker", func() (bool, error) {
		j, err := s.client.GetJob(ctx, j.ID)
		if err != nil || len(j.Status.Attempts) == 0 || j.Status.Attempts[0].State != "running" {
			return false, err
		}
		victim = workers[j.Status.Attempts[0].Node]
		return victim != nil, nil
	})
	drain := func(a swarm.NodeAvailability) error {
		// Not the test's context: this also runs in its cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n, err := engine.NodeInspect(ctx, victim.id, dockerclient.NodeInspectOptions{})
		if err != nil {
			return err
		}
		spec := n.Node.Spec
		spec.Availability = a
		_, err = engine.NodeUpdate(ctx, victim.id, dockerclient.NodeUpdateOptions{Version: n.Node.Version, Spec: spec})
		return err
	}
	if err := drain(swarm.NodeAvailabilityDrain); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drain(swarm.NodeAvailabilityActive); err != nil {
			t.Errorf("making %s active again: %v", victim.hostname, err)
		}
	})

	done := waitTerminal(t, s, j.ID, time.Minute)
	if done.Status.Phase != "Succeeded" || done.Status.Failed != 0 || len(done.Status.Attempts) != 2 {
		t.Fatalf("job %s, %d failed, %d attempts; want Succeeded, 0, 2: %+v", done.Status.Phase, done.Status.Failed, len(done.Status.Attempts), done.Status)
	}
	a0, a1 := done.Status.Attempts[0], done.Status.Attempts[1]
	if a0.Reason != "Evicted" || !strings.Contains(a0.Error, victim.hostname) {
		t.Errorf("attempt 0: %s %q, want Evicted on %s", a0.Reason, a0.Error, victim.hostname)
	}
	if a1.Node == victim.hostname {
		t.Errorf("attempt 1 ran on the drained node %s", a1.Node)
	}
	out := logs(t, s, j.ID, client.LogOptions{})
	if !strings.Contains(out, "attempt 0\nstopping on SIGTERM\n") || !strings.Contains(out, "attempt 1\n") {
		t.Errorf("output %q: want attempt 0's output up to its stop, then attempt 1's", out)
	}
}

// TestStopOnAWorkerKeepsItsLastWords cancels a job whose attempt runs on a
// worker: the stopping update reaches the worker's agent, which shuts the
// task down and keeps its container there, and the manager reads what it
// wrote after SIGTERM before the service is removed.
func TestStopOnAWorkerKeepsItsLastWords(t *testing.T) {
	workers := clusterWorkers(t)
	s, err := startServer(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	ctx := testCtx(t, 2*time.Minute)
	j := submit(t, s, types.CreateJobRequest{Name: "stop-on-worker", JobSpec: types.JobSpec{
		Command:   sh(`trap 'echo "stopping on $(hostname)"; sleep 1; echo "state saved"; exit 0' TERM; echo started; sleep 300 & wait`),
		Placement: &types.Placement{Constraints: []string{"node.labels.swarmjob-test-role==worker"}},
	}})
	waitFor(t, time.Minute, "the attempt to run on a worker", func() (bool, error) {
		j, err := s.client.GetJob(ctx, j.ID)
		return err == nil && len(j.Status.Attempts) == 1 && j.Status.Attempts[0].State == "running" && workers[j.Status.Attempts[0].Node] != nil, err
	})
	time.Sleep(300 * time.Millisecond) // let "started" reach the log
	if _, err := s.client.CancelJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	done := waitTerminal(t, s, j.ID, time.Minute)
	if done.Status.Phase != types.PhaseCancelled || done.Status.Attempts[0].Reason != "Cancelled" {
		t.Fatalf("status = %+v, want Cancelled", done.Status)
	}
	out := logs(t, s, j.ID, client.LogOptions{})
	if !strings.HasPrefix(out, "started\nstopping on ") || !strings.HasSuffix(out, "state saved\n") {
		t.Errorf("output %q: want what the attempt wrote before and after SIGTERM", out)
	}
	assertNoServices(t, j.ID)
}
