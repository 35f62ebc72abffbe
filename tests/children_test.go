package tests

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// cliImage is testImage with a static swarmjob binary in /bin
// (hack/cli-image.sh), for jobs that use the CLI to start child jobs.
const cliImage = "swarmjob/cli:test"

// jobNetwork is the --job-network of the servers that allow child jobs.
const jobNetwork = "swarmjob-it-jobs"

var (
	cliImageOnce sync.Once
	cliImageErr  error
)

// buildCLIImage builds cliImage from the code under test with
// hack/cli-image.sh, once per test binary.
func buildCLIImage(t *testing.T) {
	t.Helper()
	cliImageOnce.Do(func() {
		out, err := exec.Command("../hack/cli-image.sh", cliImage).CombinedOutput()
		if err != nil {
			cliImageErr = fmt.Errorf("hack/cli-image.sh %s: %w\n%s", cliImage, err, out)
		}
	})
	if cliImageErr != nil {
		t.Fatal(cliImageErr)
	}
}

// serviceEnv returns the environment of the first managed service of job
// id, as the Engine has it.
func serviceEnv(ctx context.Context, id string) (map[string]string, error) {
	res, err := engine.ServiceList(ctx, dockerclient.ServiceListOptions{
		Filters: make(dockerclient.Filters).Add("label", "io.swarmjob.managed=true", "io.swarmjob.job="+id),
	})
	if err != nil || len(res.Items) == 0 {
		return nil, fmt.Errorf("no service of job %s: %w", id, err)
	}
	env := map[string]string{}
	for _, kv := range res.Items[0].Spec.TaskTemplate.ContainerSpec.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env, nil
}

// TestChildJobs: a parent job on the real swarm starts two children with the
// token it was given, over the job network; a third, over maxChildren, is
// refused; the token sees the children and nothing else; cancelling the
// parent cancels the children, and the token dies with the parent.
func TestChildJobs(t *testing.T) {
	buildCLIImage(t)
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--job-network", jobNetwork)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	ctx := testCtx(t, 3*time.Minute)

	// The parent uses the swarmjob CLI in its image, configured by nothing
	// but the SWARMJOB_URL and SWARMJOB_TOKEN it was given.
	script := `
for n in 1 2 3; do
	if out=$(swarmjob run -d --name kid$n ` + testImage + ` sleep 300 2>&1); then
		echo "kid$n: started $out"
	else
		echo "kid$n: refused: $out"
	fi
done
echo "self: $(swarmjob get "$SWARMJOB_JOB_ID" 2>&1)"
swarmjob ls -q | sort | tr '\n' ' '; echo "<- listed"
echo ready
sleep 300`
	parent := submit(t, s, types.CreateJobRequest{Name: "parent", JobSpec: types.JobSpec{
		Image: cliImage, Command: sh(script), ChildJobs: &types.ChildJobs{MaxChildren: 2},
	}})
	// Runs before assertNoServices: a failed test leaves nothing running.
	t.Cleanup(func() { _, _ = s.client.CancelJob(context.Background(), parent.ID) })

	var kids []types.Job
	waitFor(t, 90*time.Second, "two child jobs running", func() (bool, error) {
		list, err := s.client.ListJobs(ctx, client.ListOptions{Parent: parent.ID})
		if err != nil {
			return false, err
		}
		kids = list.Items
		running := 0
		for _, k := range kids {
			if k.Status.Phase == "Running" {
				running++
			}
		}
		return running == 2, fmt.Errorf("%d children, %d running", len(kids), running)
	})
	for _, k := range kids {
		t.Cleanup(func() { assertNoServices(t, k.ID) })
		if k.ParentID != parent.ID || k.Depth != 1 || k.Tenant != parent.Tenant {
			t.Errorf("child %s: parent %q depth %d tenant %q", k.ID, k.ParentID, k.Depth, k.Tenant)
		}
	}

	// The parent's token, as the Engine gave it to the parent's attempt.
	env, err := serviceEnv(ctx, parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(env["SWARMJOB_URL"], "http://") || env["SWARMJOB_TOKEN"] == "" {
		t.Fatalf("parent's env: SWARMJOB_URL %q, SWARMJOB_TOKEN set: %v", env["SWARMJOB_URL"], env["SWARMJOB_TOKEN"] != "")
	}
	childClient, err := client.New(s.url, client.WithToken(env["SWARMJOB_TOKEN"]))
	if err != nil {
		t.Fatal(err)
	}
	list, err := childClient.ListJobs(ctx, client.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Errorf("the child token lists %v jobs (err %v), want its 2 children", list, err)
	}
	other := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("true")}})
	for _, id := range []string{parent.ID, other.ID} {
		if _, err := childClient.GetJob(ctx, id); !isStatus(err, http.StatusNotFound, types.CodeNotFound) {
			t.Errorf("GET %s with the child token: %v, want 404", id, err)
		}
	}
	if err := childClient.DeleteJob(ctx, kids[0].ID); !isStatus(err, http.StatusForbidden, types.CodeForbidden) {
		t.Errorf("DELETE with the child token: %v, want 403", err)
	}

	// What the parent saw, live.
	waitFor(t, 30*time.Second, "the parent to report", func() (bool, error) {
		out, err := followedOutput(ctx, s, parent.ID, "ready")
		return strings.Contains(out, "ready"), err
	})
	out, _ := followedOutput(ctx, s, parent.ID, "ready")
	t.Logf("parent's output:\n%s", out)
	for _, want := range []string{"kid1: started", "kid2: started", "kid3: refused", "childJobs.maxChildren", "self: ", "not found"} {
		if !strings.Contains(out, want) {
			t.Errorf("parent's output lacks %q", want)
		}
	}
	for _, k := range kids {
		if !strings.Contains(out, k.ID) {
			t.Errorf("the parent's list lacks child %s", k.ID)
		}
	}

	// Cancelling the parent cancels its children.
	if _, err := s.client.CancelJob(ctx, parent.ID); err != nil {
		t.Fatal(err)
	}
	if j := waitTerminal(t, s, parent.ID, time.Minute); j.Status.Phase != "Cancelled" {
		t.Errorf("parent: %s, want Cancelled", j.Status.Phase)
	}
	for _, k := range kids {
		if j := waitTerminal(t, s, k.ID, time.Minute); j.Status.Phase != "Cancelled" {
			t.Errorf("child %s: %s, want Cancelled with its parent", k.ID, j.Status.Phase)
		}
	}
	// The token died with its job.
	if _, err := childClient.ListJobs(ctx, client.ListOptions{}); !isStatus(err, http.StatusUnauthorized, types.CodeUnauthorized) {
		t.Errorf("the child token after its job was cancelled: %v, want 401", err)
	}
}

// followedOutput reads the job's output while it runs (logs?follow=true)
// until it holds until or a few seconds passed.
func followedOutput(ctx context.Context, s *server, id, until string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := s.client.Logs(ctx, id, client.LogOptions{Follow: true})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(b.String(), until) {
		n, err := rc.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String(), nil
}

// TestChildJobsNest: with maxDepth 2, a child may start children of its
// own, with its own token, but no deeper, and the root's maxChildren counts
// them; cancelling the root cancels the whole tree.
func TestChildJobsNest(t *testing.T) {
	buildCLIImage(t)
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--job-network", jobNetwork)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	ctx := testCtx(t, 3*time.Minute)

	// The child starts a grandchild, then tries one that could have
	// children of its own: beyond the root's maxDepth.
	childScript := `swarmjob run -d --name grandchild ` + testImage + ` sleep 300 >/dev/null
echo "deeper: $(swarmjob run -d --max-children 1 ` + testImage + ` true 2>&1)"
echo "beyond the root: $(swarmjob run -d ` + testImage + ` true 2>&1)"
sleep 300`
	rootScript := `swarmjob run -d --name child --max-children 2 ` + cliImage + ` sh -c '` + childScript + `'
sleep 300`
	root := submit(t, s, types.CreateJobRequest{Name: "root", JobSpec: types.JobSpec{
		// Room for the child and the grandchild: both count against it.
		Image: cliImage, Command: sh(rootScript), ChildJobs: &types.ChildJobs{MaxDepth: 2, MaxChildren: 2},
	}})
	t.Cleanup(func() { _, _ = s.client.CancelJob(context.Background(), root.ID) })

	var child, grandchild types.Job
	waitFor(t, 90*time.Second, "a child and a grandchild running", func() (bool, error) {
		kids, err := s.client.ListJobs(ctx, client.ListOptions{Parent: root.ID})
		if err != nil || len(kids.Items) != 1 {
			return false, err
		}
		child = kids.Items[0]
		grand, err := s.client.ListJobs(ctx, client.ListOptions{Parent: child.ID})
		if err != nil || len(grand.Items) != 1 {
			return false, err
		}
		grandchild = grand.Items[0]
		return grandchild.Status.Phase == "Running", fmt.Errorf("grandchild %s", grandchild.Status.Phase)
	})
	for _, j := range []types.Job{child, grandchild} {
		t.Cleanup(func() { assertNoServices(t, j.ID) })
	}
	if child.Depth != 1 || grandchild.Depth != 2 || grandchild.ParentID != child.ID {
		t.Errorf("depths %d, %d; grandchild's parent %q, want %q", child.Depth, grandchild.Depth, grandchild.ParentID, child.ID)
	}
	if c := child.Spec.ChildJobs; c == nil || c.MaxDepth != 1 || c.MaxChildren != 2 {
		t.Errorf("child's childJobs = %+v, want maxDepth 1 (the default) and maxChildren 2", c)
	}
	// The child may have 2 children of its own, but the root's limit of 2
	// counts the grandchild too.
	waitFor(t, 30*time.Second, "the child to report", func() (bool, error) {
		out, err := followedOutput(ctx, s, child.ID, "beyond the root:")
		ok := strings.Contains(out, "may not create children of their own") &&
			strings.Contains(out, "job "+root.ID+" may have at most 2 jobs below it")
		return ok, fmt.Errorf("child's output: %q (%w)", out, err)
	})

	if _, err := s.client.CancelJob(ctx, root.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{root.ID, child.ID, grandchild.ID} {
		if j := waitTerminal(t, s, id, time.Minute); j.Status.Phase != "Cancelled" {
			t.Errorf("job %s: %s, want Cancelled with the root", id, j.Status.Phase)
		}
	}
}

// TestChildJobsOverTLS: with --tls-cert, jobs get an https URL and the
// certificate as a Swarm config (SWARMJOB_CA_CERT), so that the CLI in the
// job trusts the server and starts its child.
func TestChildJobsOverTLS(t *testing.T) {
	buildCLIImage(t)
	gw, err := engine.NetworkInspect(testCtx(t, 10*time.Second), "docker_gwbridge", dockerclient.NetworkInspectOptions{})
	if err != nil || len(gw.Network.IPAM.Config) == 0 {
		t.Fatalf("docker_gwbridge: %v", err)
	}
	gateway := net.IP(gw.Network.IPAM.Config[0].Gateway.AsSlice())
	certFile, keyFile := selfSigned(t, t.TempDir(), gateway)
	s := startTLSServer(t, certFile, keyFile, "--job-network", jobNetwork)
	t.Cleanup(s.stop)
	ctx := testCtx(t, 2*time.Minute)

	parent := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{
		Image:     cliImage,
		Command:   sh(`echo "$SWARMJOB_URL"; swarmjob run --name tls-child ` + testImage + ` echo child over tls`),
		ChildJobs: &types.ChildJobs{MaxChildren: 1},
	}})
	done := waitTerminal(t, s, parent.ID, time.Minute)
	out := logs(t, s, parent.ID, client.LogOptions{})
	if done.Status.Phase != "Succeeded" || !strings.Contains(out, "https://"+gateway.String()) || !strings.Contains(out, "child over tls") {
		t.Fatalf("parent %s, output:\n%s", done.Status.Phase, out)
	}
	kids, err := s.client.ListJobs(ctx, client.ListOptions{Parent: parent.ID})
	if err != nil || len(kids.Items) != 1 {
		t.Fatalf("children: %v %v", kids, err)
	}
	t.Cleanup(func() { assertNoServices(t, kids.Items[0].ID) })
}
