package tests

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// serverImage is the server image hack/image.sh builds FROM scratch.
const serverImage = "swarmjob/swarmjob:test"

// TestRunsAsASwarmService deploys deploy/swarmjob-stack.yml as documented
// (the admin token a Docker secret, the store a volume, the Engine socket
// for the server alone) and runs a job that starts a child through the
// stack's job network, reaching the server by its service name.
func TestRunsAsASwarmService(t *testing.T) {
	buildCLIImage(t)
	if out, err := exec.Command("../hack/image.sh", "scratch", serverImage).CombinedOutput(); err != nil {
		t.Fatalf("hack/image.sh: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	suffix := fmt.Sprint(time.Now().UnixNano() % 1e9)
	stack, secret, network := "sjtest"+suffix, "sjtest_admin_"+suffix, "sjtest-jobs-"+suffix
	token := "stack-admin-token-" + suffix + "-0123456789"

	ctx := testCtx(t, 3*time.Minute)
	docker := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Env = append(os.Environ(), "SWARMJOB_IMAGE="+serverImage, fmt.Sprintf("SWARMJOB_PORT=%d", port),
			"SWARMJOB_JOB_NETWORK="+network, "SWARMJOB_ADMIN_SECRET="+secret)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	docker(token, "secret", "create", secret, "-")
	t.Cleanup(func() { removeStack(t, stack, secret) })
	docker("", "stack", "deploy", "-c", "../deploy/swarmjob-stack.yml", stack)

	c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", port), client.WithToken(token))
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

// removeStack removes the test's stack, then its volume and secret, waiting
// for the server's task to be gone.
func removeStack(t *testing.T, stack, secret string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "stack", "rm", stack).CombinedOutput(); err != nil {
		t.Errorf("docker stack rm: %v\n%s", err, out)
	}
	for ctx.Err() == nil {
		res, err := engine.ContainerList(ctx, dockerclient.ContainerListOptions{All: true,
			Filters: make(dockerclient.Filters).Add("label", "com.docker.stack.namespace="+stack)})
		if err == nil && len(res.Items) == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, args := range [][]string{{"volume", "rm", stack + "_swarmjob-data"}, {"secret", "rm", secret}} {
		var out []byte
		var err error
		for range 20 {
			if out, err = exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
