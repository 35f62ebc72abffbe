package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/swarm"
	dockerclient "github.com/moby/moby/client"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// The secrets and configs of issue 6, and the per-job log cap, on the real
// Swarm through the real binary.

// swarmSecret creates a secret named name holding data, and removes it once
// the test is done (retrying while a service still uses it).
func swarmSecret(t *testing.T, name, data string) {
	t.Helper()
	spec := swarm.SecretSpec{Annotations: swarm.Annotations{Name: name, Labels: map[string]string{"io.swarmjob.test": "true"}}, Data: []byte(data)}
	res, err := engine.SecretCreate(testCtx(t, 10*time.Second), dockerclient.SecretCreateOptions{Spec: spec})
	if err != nil {
		t.Fatalf("creating secret %s: %v", name, err)
	}
	t.Cleanup(func() {
		removeObject(t, "secret "+name, func(ctx context.Context) error {
			_, err := engine.SecretRemove(ctx, res.ID, dockerclient.SecretRemoveOptions{})
			return err
		})
	})
}

// swarmConfig is swarmSecret for a config.
func swarmConfig(t *testing.T, name, data string) {
	t.Helper()
	spec := swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name, Labels: map[string]string{"io.swarmjob.test": "true"}}, Data: []byte(data)}
	res, err := engine.ConfigCreate(testCtx(t, 10*time.Second), dockerclient.ConfigCreateOptions{Spec: spec})
	if err != nil {
		t.Fatalf("creating config %s: %v", name, err)
	}
	t.Cleanup(func() {
		removeObject(t, "config "+name, func(ctx context.Context) error {
			_, err := engine.ConfigRemove(ctx, res.ID, dockerclient.ConfigRemoveOptions{})
			return err
		})
	})
}

// removeObject calls remove until it succeeds or reports that the object is
// gone already, for up to 30 s: an object is in use until the services
// that use it are removed.
func removeObject(t *testing.T, what string, remove func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for ctx.Err() == nil {
		if err = remove(ctx); err == nil || strings.Contains(err.Error(), "not found") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("%s left behind: %v", what, err)
}

// A job gets its tenant's secret and config as files; names that do not
// exist, or that belong to another tenant, are refused at submission.
func TestSecretsOnSwarm(t *testing.T) {
	t.Parallel()
	suffix := fmt.Sprint(time.Now().UnixNano())
	// The bootstrap admin token's tenant is "default": its default
	// pattern is default_*.
	secret, config := "default_it-secret-"+suffix, "default_it-config-"+suffix
	swarmSecret(t, secret, "s3cret-value")
	swarmConfig(t, config, "config-value")

	mode := uint32(0o400)
	j := submit(t, shared, types.CreateJobRequest{Labels: map[string]string{"test": "secrets"}, JobSpec: types.JobSpec{
		Command: sh("cat /run/secrets/db; echo; cat /etc/app.conf; echo; ls -ln /run/secrets/db | cut -c1-10"),
		Secrets: []types.FileRef{{Name: secret, Target: "db", Mode: &mode}},
		Configs: []types.FileRef{{Name: config, Target: "/etc/app.conf"}},
	}})
	if got := j.Spec.Configs; len(got) != 1 || got[0].Mode == nil || *got[0].Mode != 0o444 || got[0].UID != "0" {
		t.Errorf("the config's defaults are not shown: %+v", got)
	}
	j = waitTerminal(t, shared, j.ID, time.Minute)
	if j.Status.Phase != types.PhaseSucceeded {
		t.Fatalf("phase %s: %s %+v", j.Status.Phase, j.Status.Message, j.Status.Attempts)
	}
	if got, want := logs(t, shared, j.ID, client.LogOptions{Stream: "stdout"}), "s3cret-value\nconfig-value\n-r--------\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}

	ctx := testCtx(t, 30*time.Second)
	refused := []struct {
		name   string
		c      *client.Client
		spec   types.JobSpec
		status int
		code   string
		msg    []string
	}{
		{"a secret that does not exist", shared.client, types.JobSpec{Secrets: []types.FileRef{{Name: "default_it-missing-" + suffix}}},
			400, types.CodeInvalid, []string{`secrets[0].name: secret "default_it-missing-` + suffix + `" does not exist in the Swarm`}},
		// The Engine's name filter matches prefixes: the check does not.
		{"a prefix of a secret's name", shared.client, types.JobSpec{Secrets: []types.FileRef{{Name: strings.TrimSuffix(secret, suffix[len(suffix)-3:])}}},
			400, types.CodeInvalid, []string{"does not exist in the Swarm"}},
		{"a config that does not exist", shared.client, types.JobSpec{Configs: []types.FileRef{{Name: "default_it-missing-" + suffix}}},
			400, types.CodeInvalid, []string{`configs[0].name: config "default_it-missing-`}},
		{"another tenant's secret", tenantClient(t, shared, "it-sec", types.ScopeJobsRead, types.ScopeJobsWrite), types.JobSpec{Secrets: []types.FileRef{{Name: secret}}},
			403, types.CodePolicyViolation, []string{`secret "` + secret + `"`, "policy rule allowedSecrets", `tenant "it-sec"`}},
		{"another tenant's config", tenantClient(t, shared, "it-sec", types.ScopeJobsRead, types.ScopeJobsWrite), types.JobSpec{Configs: []types.FileRef{{Name: config}}},
			403, types.CodePolicyViolation, []string{"policy rule allowedConfigs"}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Image = testImage
			_, err := tt.c.CreateJob(ctx, types.CreateJobRequest{Labels: map[string]string{"test": "secrets-refused"}, JobSpec: tt.spec})
			if !isStatus(err, tt.status, tt.code) {
				t.Fatalf("%v, want %d %s", err, tt.status, tt.code)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("%q does not say %q", err, m)
				}
			}
		})
	}
	if l, err := shared.client.ListJobs(ctx, client.ListOptions{Selector: "test=secrets-refused"}); err != nil || len(l.Items) != 0 {
		t.Errorf("%d refused jobs were stored (%v)", len(l.Items), err)
	}
}

// A secret removed between the submission and the attempt's creation fails
// the attempt with a message naming it.
func TestSecretRemovedBeforeAttempt(t *testing.T) {
	t.Parallel()
	name := fmt.Sprintf("default_it-gone-%d", time.Now().UnixNano())
	spec := swarm.SecretSpec{Annotations: swarm.Annotations{Name: name}, Data: []byte("x")}
	res, err := engine.SecretCreate(testCtx(t, 10*time.Second), dockerclient.SecretCreateOptions{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	// Removed below; this is for a test that stops before.
	t.Cleanup(func() {
		removeObject(t, "secret "+name, func(ctx context.Context) error {
			_, err := engine.SecretRemove(ctx, res.ID, dockerclient.SecretRemoveOptions{})
			return err
		})
	})
	j := submit(t, shared, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command: sh("cat /run/secrets/" + name), Suspend: ptrBool(true),
		Secrets: []types.FileRef{{Name: name}},
	}})
	if _, err := engine.SecretRemove(testCtx(t, 10*time.Second), res.ID, dockerclient.SecretRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := shared.client.ResumeJob(testCtx(t, 10*time.Second), j.ID); err != nil {
		t.Fatal(err)
	}
	j = waitTerminal(t, shared, j.ID, time.Minute)
	if j.Status.Phase != types.PhaseFailed || len(j.Status.Attempts) != 1 {
		t.Fatalf("job %s %s, %d attempts; want Failed after one attempt", j.Status.Phase, j.Status.Reason, len(j.Status.Attempts))
	}
	a := j.Status.Attempts[0]
	if want := `creating service: secret "` + name + `" does not exist in the Swarm`; a.Reason != types.AttemptReasonCreateFailed || a.Error != want {
		t.Errorf("attempt %s %q, want %s %q", a.Reason, a.Error, types.AttemptReasonCreateFailed, want)
	}
}

// The output kept per attempt is the job's maxLogBytes, within its tenant's
// ceiling.
func TestLogCapOnSwarm(t *testing.T) {
	// Not parallel: it starts a server of its own, and the timing tests
	// that run in parallel need the machine.
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("defaults:\n  maxLogBytes: 4096\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--policy", pol, "--max-log-bytes", "65536")
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()

	// 50 lines of 99 x's and a newline: 5000 bytes.
	j := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{
		Command:     sh(`i=0; while [ $i -lt 50 ]; do echo ` + strings.Repeat("x", 99) + `; i=$((i+1)); done`),
		MaxLogBytes: int64p(1000),
	}})
	j = waitTerminal(t, s, j.ID, time.Minute)
	if j.Status.Phase != types.PhaseSucceeded || len(j.Status.Attempts) != 1 {
		t.Fatalf("phase %s: %s", j.Status.Phase, j.Status.Message)
	}
	if a := j.Status.Attempts[0]; a.LogBytes != 1000 || !a.Truncated {
		t.Errorf("attempt logBytes %d truncated %v, want 1000 true", a.LogBytes, a.Truncated)
	}
	if out := logs(t, s, j.ID, client.LogOptions{}); out != strings.Repeat(strings.Repeat("x", 99)+"\n", 10) {
		t.Errorf("stored output: %d bytes %q…, want the first 1000 bytes", len(out), out[:min(len(out), 120)])
	}
	res, err := s.client.Results(testCtx(t, 10*time.Second), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if it := res.Items[0]; it.LogBytes != 1000 || !it.Truncated {
		t.Errorf("results: logBytes %d truncated %v, want 1000 true", it.LogBytes, it.Truncated)
	}

	// Unset: the server's 65536 lowered to the ceiling. Twice the ceiling:
	// refused, naming the rule.
	ctx := testCtx(t, 10*time.Second)
	unset, err := s.client.CreateJob(ctx, types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage, Command: sh("true")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { assertNoServices(t, unset.ID) })
	if unset.Spec.MaxLogBytes == nil || *unset.Spec.MaxLogBytes != 4096 {
		t.Errorf("maxLogBytes of a job without one: %v, want 4096", unset.Spec.MaxLogBytes)
	}
	_, err = s.client.CreateJob(ctx, types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage, MaxLogBytes: int64p(8192)}})
	if !isStatus(err, 403, types.CodePolicyViolation) || !strings.Contains(err.Error(), "maxLogBytes: 8192 exceeds the ceiling 4096 (policy rule maxLogBytes") {
		t.Errorf("twice the ceiling: %v, want 403 naming maxLogBytes", err)
	}
	waitTerminal(t, s, unset.ID, time.Minute)
}

func ptrBool(v bool) *bool { return &v }
