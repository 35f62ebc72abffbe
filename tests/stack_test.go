package tests

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// serverImage is the server image hack/image.sh builds FROM scratch.
const serverImage = "swarmjob/swarmjob:test"

// testStack is deploy/swarmjob-stack.yml deployed by deployStack.
type testStack struct {
	name, secret, network, token string
	port                         int
}

// deployStack deploys deploy/swarmjob-stack.yml as docs/deploy.md says (the
// admin token a Docker secret, the store a volume, the Engine socket for the
// server alone), with names of its own, on the swarm the tests use; on the
// test cluster the images are first copied into every node. The stack, its
// volume and its secret are removed when the test ends.
func deployStack(t *testing.T) *testStack {
	t.Helper()
	buildCLIImage(t)
	if out, err := exec.Command("../hack/image.sh", "scratch", serverImage).CombinedOutput(); err != nil {
		t.Fatalf("hack/image.sh: %v\n%s", err, out)
	}
	if dockerHost != "" {
		for _, n := range []string{"n1", "n2", "n3"} {
			sock := "unix://" + filepath.Join(clusterDir, n, "docker.sock")
			load := exec.Command("sh", "-c", `docker save "$1" "$2" | DOCKER_HOST="$3" docker load -q`, "sh", serverImage, cliImage, sock)
			if out, err := load.CombinedOutput(); err != nil {
				t.Fatalf("loading the images into %s: %v\n%s", n, err, out)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	s := &testStack{name: "sjtest" + suffix, secret: "sjtest_admin_" + suffix, network: "sjtest-jobs-" + suffix,
		token: "stack-admin-token-" + suffix + "-0123456789", port: ln.Addr().(*net.TCPAddr).Port}
	ln.Close()
	s.docker(t, s.token, "secret", "create", s.secret, "-")
	t.Cleanup(func() { s.remove(t) })
	s.docker(t, "", "stack", "deploy", "-c", "../deploy/swarmjob-stack.yml", s.name)
	return s
}

// docker runs the docker CLI against the tests' swarm, with the stack's
// variables set, and returns its output.
func (s *testStack) docker(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "SWARMJOB_IMAGE="+serverImage, fmt.Sprintf("SWARMJOB_PORT=%d", s.port),
		"SWARMJOB_JOB_NETWORK="+s.network, "SWARMJOB_ADMIN_SECRET="+s.secret)
	if dockerHost != "" {
		// The cluster's nodes share this machine's file system: the
		// manager's socket is its own, not /var/run/docker.sock.
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+dockerHost, "SWARMJOB_ENGINE_SOCKET="+strings.TrimPrefix(dockerHost, "unix://"))
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// remove removes the stack, then its volume and secret, once the server's
// task is gone.
func (s *testStack) remove(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "docker", args...)
		if dockerHost != "" {
			cmd.Env = append(os.Environ(), "DOCKER_HOST="+dockerHost)
		}
		return cmd.CombinedOutput()
	}
	if out, err := run("stack", "rm", s.name); err != nil {
		t.Errorf("docker stack rm: %v\n%s", err, out)
	}
	for ctx.Err() == nil {
		res, err := engine.ContainerList(ctx, dockerclient.ContainerListOptions{All: true,
			Filters: make(dockerclient.Filters).Add("label", "com.docker.stack.namespace="+s.name)})
		if err == nil && len(res.Items) == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, args := range [][]string{{"volume", "rm", s.name + "_swarmjob-data"}, {"secret", "rm", s.secret}} {
		var out []byte
		var err error
		for range 20 {
			if out, err = run(args...); err == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestRunsAsASwarmService deploys deploy/swarmjob-stack.yml and runs, through
// its published port, a job that starts a child over the stack's job
// network, reaching the server by its service name.
func TestRunsAsASwarmService(t *testing.T) {
	s := deployStack(t)
	ctx := testCtx(t, 3*time.Minute)
	c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", s.port), client.WithToken(s.token))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the stack's server to be ready", func() (bool, error) {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		err := c.Ready(rctx)
		return err == nil, err
	})

	parent, err := c.CreateJob(ctx, types.CreateJobRequest{JobSpec: types.JobSpec{
		Image:     cliImage,
		Command:   sh(`echo "url=$SWARMJOB_URL"; swarmjob run ` + testImage + ` echo hello from a child`),
		ChildJobs: &types.ChildJobs{MaxChildren: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.WaitTerminal(ctx, parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.Logs(ctx, parent.ID, client.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out strings.Builder
	if _, err := io.Copy(&out, rc); err != nil {
		t.Fatal(err)
	}
	if done.Status.Phase != "Succeeded" || out.String() != "url=http://swarmjob:8080\nhello from a child\n" {
		t.Fatalf("parent %s, output %q", done.Status.Phase, out.String())
	}
	kids, err := c.ListJobs(ctx, client.ListOptions{Parent: parent.ID})
	if err != nil || len(kids.Items) != 1 || kids.Items[0].Status.Phase != "Succeeded" {
		t.Fatalf("children: %+v %v", kids, err)
	}
	for _, id := range []string{parent.ID, kids.Items[0].ID} {
		assertNoServices(t, id)
	}
}
