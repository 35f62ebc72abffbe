package tests

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// TestPolicySetThroughTheAPI: an admin sets a policy with PUT /v1/policy; it
// applies to the next submission, survives a restart, and a raised cap on
// active attempts lets a queued job start while the first still runs.
func TestPolicySetThroughTheAPI(t *testing.T) {
	t.Parallel()
	s, err := startServer(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	ctx := testCtx(t, 3*time.Minute)
	tenant := tenantClient(t, s, "pol-api", "jobs:read", "jobs:write")
	quick := types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage, Command: sh("echo ok")}}

	if _, err := s.client.SetPolicy(ctx, types.PolicySpec{Tenants: map[string]types.PolicyRules{
		"pol-api": {AllowedImages: []string{"registry.example.com/*"}},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tenant.CreateJob(ctx, quick); !isStatus(err, 403, types.CodePolicyViolation) || !strings.Contains(err.Error(), "allowedImages") {
		t.Fatalf("an image the policy does not allow: %v, want 403 naming allowedImages", err)
	}
	// A tenant's token reads its own rules, and no other tenant's.
	if tp, err := tenant.TenantPolicy(ctx, "pol-api"); err != nil || len(tp.Rules.AllowedImages) != 1 || tp.Source != types.PolicySourceAPI {
		t.Errorf("the tenant's own rules: %+v, %v", tp, err)
	}
	if _, err := tenant.TenantPolicy(ctx, "other"); !isStatus(err, 403, types.CodeForbidden) {
		t.Errorf("another tenant's rules: %v, want 403", err)
	}

	// Kept in the store: a restarted server still refuses.
	s.stop()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	if p, err := s.client.Policy(ctx); err != nil || p.Source != types.PolicySourceAPI {
		t.Fatalf("after a restart: %+v, %v", p, err)
	}
	if _, err := tenant.CreateJob(ctx, quick); !isStatus(err, 403, types.CodePolicyViolation) {
		t.Fatalf("after a restart: %v, want the policy still in force", err)
	}

	// Any image, one active attempt: the second job waits Queued.
	if _, err := s.client.SetPolicy(ctx, types.PolicySpec{Tenants: map[string]types.PolicyRules{"pol-api": {MaxActiveAttempts: intp(1)}}}); err != nil {
		t.Fatal(err)
	}
	long := types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage, Command: sh("sleep 300")}}
	var ids []string
	for range 2 {
		j, err := tenant.CreateJob(ctx, long)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
		t.Cleanup(func() { assertNoServices(t, j.ID) })
	}
	running := func(id string) (bool, error) {
		j, err := tenant.GetJob(ctx, id)
		return err == nil && len(j.Status.Attempts) == 1 && j.Status.Attempts[0].FinishedAt == nil, err
	}
	waitFor(t, 60*time.Second, "the first job running and the second queued", func() (bool, error) {
		second, err := tenant.GetJob(ctx, ids[1])
		if err != nil {
			return false, err
		}
		first, err := running(ids[0])
		return first && second.Status.Reason == "Queued" && len(second.Status.Attempts) == 0, err
	})
	// Raised: the queued job starts while the first still runs.
	if _, err := s.client.SetPolicy(ctx, types.PolicySpec{Tenants: map[string]types.PolicyRules{"pol-api": {MaxActiveAttempts: intp(2)}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "both jobs running after the cap was raised", func() (bool, error) {
		first, err := running(ids[0])
		if err != nil || !first {
			return false, err
		}
		return running(ids[1])
	})
	for _, id := range ids {
		if _, err := tenant.CancelJob(ctx, id); err != nil {
			t.Fatal(err)
		}
		if j := waitTerminalWith(t, tenant, id); j.Status.Phase != types.PhaseCancelled {
			t.Errorf("job %s: %s, want Cancelled", id, j.Status.Phase)
		}
	}
}

// TestPolicyFileReloadedOnSIGHUP: a server started with --policy refuses
// PUT /v1/policy, keeps its policy when the file turns bad, and reads the
// file again on SIGHUP.
func TestPolicyFileReloadedOnSIGHUP(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(doc string) {
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("tenants:\n  pol-file:\n    allowedImages: [registry.example.com/*]\n")
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--policy", file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	ctx := testCtx(t, 2*time.Minute)
	tenant := tenantClient(t, s, "pol-file", "jobs:read", "jobs:write")
	req := types.CreateJobRequest{JobSpec: types.JobSpec{Image: testImage, Command: sh("echo reloaded")}}
	if _, err := tenant.CreateJob(ctx, req); !isStatus(err, 403, types.CodePolicyViolation) {
		t.Fatalf("before the reload: %v, want 403", err)
	}
	_, err = s.client.SetPolicy(ctx, types.PolicySpec{})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 || !strings.Contains(apiErr.Message, file) {
		t.Errorf("PUT /v1/policy with a policy file: %v, want 409 naming the file", err)
	}

	// A file that no longer parses leaves the policy in force.
	write("tenants:\n  pol-file:\n    allowedImage: ['*']\n")
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the server to report the bad file", func() (bool, error) {
		b, err := os.ReadFile(s.logPath)
		return strings.Contains(string(b), "the policy file did not load") && strings.Contains(string(b), "allowedImage"), err
	})
	if _, err := tenant.CreateJob(ctx, req); !isStatus(err, 403, types.CodePolicyViolation) {
		t.Fatalf("after a bad file: %v, want the old policy still in force", err)
	}
	if p, err := s.client.Policy(ctx); err != nil || !strings.Contains(p.ReloadError, "allowedImage") {
		t.Errorf("GET /v1/policy after a bad file: %+v, %v; want the reload's error", p, err)
	}

	write("tenants:\n  pol-file:\n    allowedImages: ['swarmjob/*']\n")
	before, err := s.client.Policy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the policy read again", func() (bool, error) {
		p, err := s.client.Policy(ctx)
		return err == nil && p.Since.After(before.Since), err
	})
	j, err := tenant.CreateJob(ctx, req)
	if err != nil {
		t.Fatalf("after the reload: %v", err)
	}
	t.Cleanup(func() { assertNoServices(t, j.ID) })
	if j := waitTerminalWith(t, tenant, j.ID); j.Status.Phase != types.PhaseSucceeded {
		t.Errorf("job after the reload: %+v", j.Status)
	}
}
