package tests

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// instanceOf reads the instance ID a server logged at start.
func instanceOf(t *testing.T, s *server) string {
	t.Helper()
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`instance=([0-9a-f-]{36})`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no instance ID in %s", s.logPath)
	}
	return string(m[1])
}

func createRawService(t *testing.T, name string, labels map[string]string) string {
	t.Helper()
	one := uint64(1)
	res, err := engine.ServiceCreate(context.Background(), dockerclient.ServiceCreateOptions{Spec: swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: labels},
		Mode:        swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: testImage, Command: []string{"sleep", "300"}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
		},
	}})
	if err != nil {
		t.Fatalf("creating service %s: %v", name, err)
	}
	t.Cleanup(func() { _, _ = engine.ServiceRemove(context.Background(), res.ID, dockerclient.ServiceRemoveOptions{}) })
	return res.ID
}

func serviceExists(t *testing.T, id string) bool {
	t.Helper()
	_, err := engine.ServiceInspect(context.Background(), id, dockerclient.ServiceInspectOptions{})
	return err == nil
}

// TestOrphansAreCollectedAndNothingElse: a service with this instance's
// labels but no job is removed after the grace; an unlabelled service and
// another instance's service are never touched.
func TestOrphansAreCollectedAndNothingElse(t *testing.T) {
	t.Parallel()
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--orphan-grace", "2s", "--gc-interval", "500ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	inst := instanceOf(t, s)
	orphan := createRawService(t, "swarmjob-it-orphan", map[string]string{
		"io.swarmjob.managed": "true", "io.swarmjob.instance": inst,
		"io.swarmjob.job": "no-such-job", "io.swarmjob.index": "0", "io.swarmjob.attempt": "0",
	})
	unlabelled := createRawService(t, "swarmjob-it-unlabelled", map[string]string{"app": "not-swarmjob"})
	foreign := createRawService(t, "swarmjob-it-foreign", map[string]string{
		"io.swarmjob.managed": "true", "io.swarmjob.instance": "some-other-instance",
		"io.swarmjob.job": "no-such-job", "io.swarmjob.index": "0", "io.swarmjob.attempt": "0",
	})
	if !serviceExists(t, orphan) {
		t.Fatal("orphan vanished at once; the grace was not honoured")
	}
	waitFor(t, 20*time.Second, "the orphan to be collected", func() (bool, error) {
		return !serviceExists(t, orphan), nil
	})
	time.Sleep(time.Second) // more passes of the collector
	if !serviceExists(t, unlabelled) || !serviceExists(t, foreign) {
		t.Errorf("collector touched a service that is not its own (unlabelled %v, foreign %v)",
			serviceExists(t, unlabelled), serviceExists(t, foreign))
	}
}

// TestFinishedJobsExpire: a job's ttlSecondsAfterFinished and the server's
// retention delete finished records and their results; they answer 404.
func TestFinishedJobsExpire(t *testing.T) {
	t.Parallel()
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--gc-interval", "300ms", "--retention-count", "2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	ctx := testCtx(t, time.Minute)
	ttl := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("echo bye"), TTLSecondsAfterFinished: int64p(1)}})
	waitTerminal(t, s, ttl.ID, 30*time.Second)
	waitFor(t, 15*time.Second, "the job with a 1s TTL to expire", func() (bool, error) {
		_, err := s.client.GetJob(ctx, ttl.ID)
		return client.IsNotFound(err), nil
	})
	if _, err := s.client.Logs(ctx, ttl.ID, client.LogOptions{}); !client.IsNotFound(err) {
		t.Errorf("logs of an expired job: err = %v, want 404", err)
	}
	// Retention count 2: of three finished jobs, the oldest goes.
	var ids []string
	for range 3 {
		j := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("true")}})
		waitTerminal(t, s, j.ID, 30*time.Second)
		ids = append(ids, j.ID)
	}
	waitFor(t, 15*time.Second, "the oldest of three finished jobs to expire", func() (bool, error) {
		_, err := s.client.GetJob(ctx, ids[0])
		return client.IsNotFound(err), nil
	})
	for _, id := range ids[1:] {
		if _, err := s.client.GetJob(ctx, id); err != nil {
			t.Errorf("job %s within the retention count: %v", id, err)
		}
	}
}
