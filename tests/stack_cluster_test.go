//go:build cluster

package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockerclient "github.com/moby/moby/client"
)

// TestStackChildJobsAcrossNodes: on the 3-node cluster the stack's server
// runs on the manager (n1), and a parent job pinned to the workers starts a
// child, also on a worker, through the job network and the server's service
// name: child jobs work across nodes. The stack's published port is in n1's
// network namespace, out of this test's reach, so the client is a service on
// the job network too.
func TestStackChildJobsAcrossNodes(t *testing.T) {
	s := deployStack(t)
	ctx := testCtx(t, 4*time.Minute)
	const onWorkers = "node.labels.swarmjob-test-role==worker"
	script := `until swarmjob ls >/dev/null 2>&1; do sleep 0.5; done
swarmjob run --max-children 1 --constraint ` + onWorkers + ` ` + cliImage + ` sh -c 'swarmjob run --constraint ` + onWorkers + ` ` + testImage + ` echo hello from a child on a worker'
echo "client: exit $?"`
	one := uint64(1)
	res, err := engine.ServiceCreate(ctx, dockerclient.ServiceCreateOptions{Spec: swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: s.name + "-client", Labels: map[string]string{"swarmjob-test-client": s.name}},
		Mode:        swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:   cliImage,
				Command: []string{"sh", "-c", script},
				Env:     []string{"SWARMJOB_URL=http://swarmjob:8080", "SWARMJOB_TOKEN=" + s.token},
			},
			Networks:      []swarm.NetworkAttachmentConfig{{Target: s.network}},
			Placement:     &swarm.Placement{Constraints: []string{onWorkers}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Before the stack goes: its network cannot while the client is on it.
	t.Cleanup(func() { removeServiceAndWait(t, res.ID, "swarmjob-test-client="+s.name) })

	waitFor(t, 3*time.Minute, "the client to finish", func() (bool, error) {
		tasks, err := engine.TaskList(ctx, dockerclient.TaskListOptions{Filters: make(dockerclient.Filters).Add("service", res.ID)})
		if err != nil || len(tasks.Items) == 0 {
			return false, err
		}
		st := tasks.Items[0].Status.State
		return st == swarm.TaskStateComplete || st == swarm.TaskStateFailed || st == swarm.TaskStateRejected, nil
	})
	out := s.docker(t, "", "service", "logs", "--raw", res.ID)
	if !strings.Contains(out, "hello from a child on a worker") || !strings.Contains(out, "client: exit 0") {
		t.Fatalf("client output:\n%s", out)
	}
}

// removeServiceAndWait removes a service and waits until its tasks, which
// it finds by its label (the service filter fails once the service is
// gone), are gone from every node.
func removeServiceAndWait(t *testing.T, id, label string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := engine.ServiceRemove(ctx, id, dockerclient.ServiceRemoveOptions{}); err != nil {
		t.Errorf("removing service %s: %v", id, err)
		return
	}
	for ctx.Err() == nil {
		res, err := engine.TaskList(ctx, dockerclient.TaskListOptions{Filters: make(dockerclient.Filters).Add("label", label)})
		if err == nil && len(res.Items) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
