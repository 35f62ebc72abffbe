package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/jobs"
)

func TestCreateJob(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		want        types.Job
		wantSpec    jobs.Spec
	}{
		{
			name:        "minimal request gets defaults",
			body:        `{"image":"busybox"}`,
			contentType: "application/json",
			want: types.Job{
				ID:        "job-1",
				CreatedAt: testNow,
				Spec: withWireDefaults(types.JobSpec{
					Image:        "busybox",
					BackoffLimit: ptr(0),
					Backoff:      &types.Backoff{InitialMs: ptr[int64](1000), MaxMs: ptr[int64](60000)},
				}),
				Status: types.JobStatus{Phase: types.PhasePending, Attempts: []types.Attempt{}},
			},
			wantSpec: jobs.Spec{
				Image:   "busybox",
				Backoff: jobs.Backoff{Initial: time.Second, Max: time.Minute},
			},
		},
		{
			name: "every field, no Content-Type",
			body: `{"name":"nightly-report","labels":{"team":"data"},"image":"swarmjob/busybox:test",
				"command":["sh","-c"],"args":["echo hi"],"env":{"GREETING":"hello"},"workingDir":"/tmp","user":"1000:1000",
				"backoffLimit":3,"backoff":{"initialMs":500,"maxMs":2000},"activeDeadlineSeconds":60,
				"resources":{"limits":{"cpus":1.5,"memoryBytes":67108864},"reservations":{"cpus":0.5}},
				"placement":{"constraints":["node.role==worker"]},"networks":["backend"]}`,
			want: types.Job{
				ID:        "job-1",
				Name:      "nightly-report",
				Labels:    map[string]string{"team": "data"},
				CreatedAt: testNow,
				Spec: withWireDefaults(types.JobSpec{
					Image:                 "swarmjob/busybox:test",
					Command:               []string{"sh", "-c"},
					Args:                  []string{"echo hi"},
					Env:                   map[string]string{"GREETING": "hello"},
					WorkingDir:            "/tmp",
					User:                  "1000:1000",
					BackoffLimit:          ptr(3),
					Backoff:               &types.Backoff{InitialMs: ptr[int64](500), MaxMs: ptr[int64](2000)},
					ActiveDeadlineSeconds: ptr[int64](60),
					Resources: &types.Resources{
						Limits:       &types.ResourceAmounts{CPUs: 1.5, MemoryBytes: 64 << 20},
						Reservations: &types.ResourceAmounts{CPUs: 0.5},
					},
					Placement: &types.Placement{Constraints: []string{"node.role==worker"}},
					Networks:  []string{"backend"},
				}),
				Status: types.JobStatus{Phase: types.PhasePending, Attempts: []types.Attempt{}},
			},
			wantSpec: jobs.Spec{
				Image:                 "swarmjob/busybox:test",
				Command:               []string{"sh", "-c"},
				Args:                  []string{"echo hi"},
				Env:                   map[string]string{"GREETING": "hello"},
				WorkingDir:            "/tmp",
				User:                  "1000:1000",
				BackoffLimit:          3,
				Backoff:               jobs.Backoff{Initial: 500 * time.Millisecond, Max: 2 * time.Second},
				ActiveDeadlineSeconds: 60,
				Resources: jobs.Resources{
					Limits:       jobs.ResourceAmounts{CPUs: 1.5, MemoryBytes: 64 << 20},
					Reservations: jobs.ResourceAmounts{CPUs: 0.5},
				},
				Placement: jobs.Placement{Constraints: []string{"node.role==worker"}},
				Networks:  []string{"backend"},
			},
		},
		{
			name:        "only initialMs: maxMs defaults to at least it",
			body:        `{"image":"busybox","backoff":{"initialMs":120000}}`,
			contentType: "application/json; charset=utf-8",
			want: types.Job{
				ID:        "job-1",
				CreatedAt: testNow,
				Spec: withWireDefaults(types.JobSpec{
					Image:        "busybox",
					BackoffLimit: ptr(0),
					Backoff:      &types.Backoff{InitialMs: ptr[int64](120000), MaxMs: ptr[int64](120000)},
				}),
				Status: types.JobStatus{Phase: types.PhasePending, Attempts: []types.Attempt{}},
			},
			wantSpec: jobs.Spec{
				Image:   "busybox",
				Backoff: jobs.Backoff{Initial: 2 * time.Minute, Max: 2 * time.Minute},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			var hdr []string
			if tt.contentType != "" {
				hdr = []string{"Content-Type", tt.contentType}
			}
			rec := e.do(http.MethodPost, "/v1/jobs", tt.body, hdr...)
			if rec.Code != http.StatusCreated {
				t.Fatalf("status = %d, want 201; body %s", rec.Code, rec.Body)
			}
			if loc := rec.Header().Get("Location"); loc != "/v1/jobs/job-1" {
				t.Errorf("Location = %q, want /v1/jobs/job-1", loc)
			}
			got := decodeBody[types.Job](t, rec)
			// The admin token's tenant owns what it submits.
			tt.want.Tenant = auth.DefaultTenant
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response job (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"job-1"}, e.enq.enqueued()); diff != "" {
				t.Errorf("enqueued (-want +got):\n%s", diff)
			}
			stored := e.store.get("job-1")
			if stored == nil {
				t.Fatal("job-1 not stored")
			}
			wantSpec := tt.wantSpec
			wantSpec.Defaults() // batch fields not in these requests take their defaults
			if diff := cmp.Diff(wantSpec, stored.Spec); diff != "" {
				t.Errorf("stored spec (-want +got):\n%s", diff)
			}
			if stored.Status.Phase != jobs.PhasePending {
				t.Errorf("stored phase = %q, want Pending", stored.Status.Phase)
			}
			if !stored.CreatedAt.Equal(testNow) || stored.CreatedAt.Location() != time.UTC {
				t.Errorf("stored CreatedAt = %v, want %v in UTC", stored.CreatedAt, testNow)
			}
		})
	}
}

// withWireDefaults fills in the batch fields that the API shows with their
// defaults when a request leaves them out.
func withWireDefaults(s types.JobSpec) types.JobSpec {
	if s.Completions == nil {
		s.Completions = ptr(1)
	}
	if s.Parallelism == nil {
		s.Parallelism = ptr(1)
	}
	if s.CompletionMode == "" {
		s.CompletionMode = types.CompletionNonIndexed
	}
	if s.Suspend == nil {
		s.Suspend = ptr(false)
	}
	if s.Backoff != nil && s.Backoff.Multiplier == nil {
		s.Backoff.Multiplier = ptr(2.0)
	}
	if s.Backoff != nil && s.Backoff.Jitter == nil {
		s.Backoff.Jitter = ptr(0.0)
	}
	return s
}

// TestCreateJobBatchFields covers the conversion of the batch fields in both
// directions: what is stored, and what the API answers.
func TestCreateJobBatchFields(t *testing.T) {
	base := jobs.Spec{Image: "busybox"}
	base.Defaults()
	tests := []struct {
		name     string
		body     string
		wantWire types.JobSpec // compared after withWireDefaults
		wantSpec func(s *jobs.Spec)
	}{
		{
			name: "every batch field",
			body: `{"image":"busybox","completions":10,"parallelism":3,"completionMode":"Indexed",
				"backoffLimitPerIndex":2,"maxFailedIndexes":3,
				"failurePolicy":{"rules":[
					{"action":"FailJob","onExitCodes":{"operator":"In","values":[42,43]}},
					{"action":"Ignore","onReasons":["NodeLost","Rejected"]},
					{"action":"FailIndex","onExitCodes":{"operator":"NotIn","values":[0,1]}},
					{"action":"Count","onReasons":["DeadlineExceeded"]}]},
				"successPolicy":{"rules":[{"succeededIndexes":"0-3,7"},{"succeededIndexes":"4-9","succeededCount":2},{"succeededCount":8}]},
				"backoff":{"initialMs":500,"maxMs":8000,"multiplier":1.5,"jitter":0.25},
				"activeDeadlineSeconds":600,"attemptDeadlineSeconds":30,"stopGracePeriodSeconds":0,"suspend":true}`,
			wantWire: types.JobSpec{
				Image: "busybox", Completions: ptr(10), Parallelism: ptr(3), CompletionMode: types.CompletionIndexed,
				BackoffLimit: ptr(jobs.UnlimitedBackoff), BackoffLimitPerIndex: ptr(2), MaxFailedIndexes: ptr(3),
				FailurePolicy: &types.FailurePolicy{Rules: []types.FailureRule{
					{Action: types.ActionFailJob, OnExitCodes: &types.ExitCodes{Operator: types.OperatorIn, Values: []int{42, 43}}},
					{Action: types.ActionIgnore, OnReasons: []string{types.AttemptReasonNodeLost, types.AttemptReasonRejected}},
					{Action: types.ActionFailIndex, OnExitCodes: &types.ExitCodes{Operator: types.OperatorNotIn, Values: []int{0, 1}}},
					{Action: types.ActionCount, OnReasons: []string{types.AttemptReasonDeadlineExceeded}},
				}},
				SuccessPolicy: &types.SuccessPolicy{Rules: []types.SuccessRule{
					{SucceededIndexes: "0-3,7"}, {SucceededIndexes: "4-9", SucceededCount: ptr(2)}, {SucceededCount: ptr(8)},
				}},
				Backoff:                &types.Backoff{InitialMs: ptr[int64](500), MaxMs: ptr[int64](8000), Multiplier: ptr(1.5), Jitter: ptr(0.25)},
				ActiveDeadlineSeconds:  ptr[int64](600),
				AttemptDeadlineSeconds: ptr[int64](30),
				StopGracePeriodSeconds: ptr[int64](0),
				Suspend:                ptr(true),
			},
			wantSpec: func(s *jobs.Spec) {
				s.Completions, s.Parallelism, s.CompletionMode = 10, 3, jobs.Indexed
				s.BackoffLimit, s.BackoffLimitPerIndex, s.MaxFailedIndexes = jobs.UnlimitedBackoff, ptr(2), ptr(3)
				s.FailurePolicy = &jobs.FailurePolicy{Rules: []jobs.FailureRule{
					{Action: jobs.ActionFailJob, OnExitCodes: &jobs.ExitCodes{Operator: "In", Values: []int{42, 43}}},
					{Action: jobs.ActionIgnore, OnReasons: []string{jobs.AttemptReasonNodeLost, jobs.AttemptReasonRejected}},
					{Action: jobs.ActionFailIndex, OnExitCodes: &jobs.ExitCodes{Operator: "NotIn", Values: []int{0, 1}}},
					{Action: jobs.ActionCount, OnReasons: []string{jobs.AttemptReasonDeadlineExceeded}},
				}}
				s.SuccessPolicy = &jobs.SuccessPolicy{Rules: []jobs.SuccessRule{
					{SucceededIndexes: "0-3,7"}, {SucceededIndexes: "4-9", SucceededCount: ptr(2)}, {SucceededCount: ptr(8)},
				}}
				s.Backoff = jobs.Backoff{Initial: 500 * time.Millisecond, Max: 8 * time.Second, Multiplier: 1.5, Jitter: 0.25}
				s.ActiveDeadlineSeconds, s.AttemptDeadlineSeconds, s.Suspend = 600, 30, true
				s.StopGracePeriodSeconds = ptr[int64](0)
			},
		},
		{
			name: "NonIndexed completions and parallelism",
			body: `{"image":"busybox","completions":5,"parallelism":2,"completionMode":"NonIndexed","backoffLimit":4}`,
			wantWire: types.JobSpec{Image: "busybox", Completions: ptr(5), Parallelism: ptr(2), BackoffLimit: ptr(4),
				Backoff: &types.Backoff{InitialMs: ptr[int64](1000), MaxMs: ptr[int64](60000)}},
			wantSpec: func(s *jobs.Spec) { s.Completions, s.Parallelism, s.BackoffLimit = 5, 2, 4 },
		},
		{
			name: "backoffLimit given with backoffLimitPerIndex is kept",
			body: `{"image":"busybox","completions":4,"completionMode":"Indexed","backoffLimitPerIndex":0,"backoffLimit":6}`,
			wantWire: types.JobSpec{Image: "busybox", Completions: ptr(4), CompletionMode: types.CompletionIndexed,
				BackoffLimit: ptr(6), BackoffLimitPerIndex: ptr(0), Backoff: &types.Backoff{InitialMs: ptr[int64](1000), MaxMs: ptr[int64](60000)}},
			wantSpec: func(s *jobs.Spec) {
				s.Completions, s.CompletionMode, s.BackoffLimit, s.BackoffLimitPerIndex = 4, jobs.Indexed, 6, ptr(0)
			},
		},
		{
			name: "explicit defaults and nulls",
			body: `{"image":"busybox","completions":1,"parallelism":1,"suspend":false,"failurePolicy":null,"successPolicy":null,
				"backoff":{"multiplier":2,"jitter":0},"attemptDeadlineSeconds":null}`,
			wantWire: types.JobSpec{Image: "busybox", BackoffLimit: ptr(0), Backoff: &types.Backoff{InitialMs: ptr[int64](1000), MaxMs: ptr[int64](60000)}},
			wantSpec: func(s *jobs.Spec) {},
		},
		{
			name: "unlimited backoffLimit may be given",
			body: `{"image":"busybox","backoffLimit":2147483647}`,
			wantWire: types.JobSpec{Image: "busybox", BackoffLimit: ptr(jobs.UnlimitedBackoff),
				Backoff: &types.Backoff{InitialMs: ptr[int64](1000), MaxMs: ptr[int64](60000)}},
			wantSpec: func(s *jobs.Spec) { s.BackoffLimit = jobs.UnlimitedBackoff },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			got := e.createJob(tt.body)
			if diff := cmp.Diff(withWireDefaults(tt.wantWire), got.Spec); diff != "" {
				t.Errorf("response spec (-want +got):\n%s", diff)
			}
			want := base
			tt.wantSpec(&want)
			if diff := cmp.Diff(want, e.store.get("job-1").Spec); diff != "" {
				t.Errorf("stored spec (-want +got):\n%s", diff)
			}
			// What the API answers is a request that gives the same job.
			again, err := decodeCreateJob(strings.NewReader(mustMarshal(t, types.CreateJobRequest{JobSpec: got.Spec})))
			if err != nil {
				t.Fatalf("decoding the answered spec: %v", err)
			}
			if diff := cmp.Diff(want, again.Spec); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCreateJobBadInput covers the bad input of ISSUE2 section 9: each is a
// 4xx whose message names the problem, nothing is stored, and the server
// keeps serving.
func TestCreateJobBadInput(t *testing.T) {
	big := `{"image":"busybox","args":["` + strings.Repeat("a", 1<<20) + `"]}`
	tests := []struct {
		name        string
		body        string
		contentType string
		wantStatus  int
		wantCode    string
		wantMsg     []string
	}{
		{"malformed JSON", `{"image":"busybox",}`, "", 400, types.CodeInvalid, []string{"malformed JSON", "byte offset 20"}},
		{"bad token", `{"image" "busybox"}`, "", 400, types.CodeInvalid, []string{"malformed JSON", "byte offset 10"}},
		{"truncated JSON", `{"image":`, "", 400, types.CodeInvalid, []string{"unexpected end of input", "byte offset 9"}},
		{"empty body", ``, "", 400, types.CodeInvalid, []string{"request body", "empty"}},
		{"not an object", `["busybox"]`, "", 400, types.CodeInvalid, []string{"request body: must be a JSON object, got array"}},
		{"trailing data", `{"image":"busybox"} {"image":"x"}`, "", 400, types.CodeInvalid, []string{"unexpected data after the JSON object", "byte offset 19"}},
		{"trailing garbage", `{"image":"busybox"}x`, "", 400, types.CodeInvalid, []string{"unexpected data after the JSON object"}},
		{"unknown field", `{"image":"busybox","foo":1}`, "", 400, types.CodeInvalid, []string{`unknown field "foo"`}},
		{"unknown nested field", `{"image":"busybox","backoff":{"initial":1}}`, "", 400, types.CodeInvalid, []string{`backoff: unknown field "initial"; did you mean "initialMs"?`}},
		{"misspelled field", `{"image":"busybox","comand":["true"]}`, "", 400, types.CodeInvalid, []string{`unknown field "comand"; did you mean "command"?`}},
		{"unknown field with nothing alike", `{"image":"busybox","restartPolicy":"OnFailure"}`, "", 400, types.CodeInvalid, []string{`unknown field "restartPolicy"`}},
		{"unknown field deep in an array", `{"image":"busybox","failurePolicy":{"rules":[{"action":"Ignore"},{"action":"Ignore","onExitCode":{}}]}}`, "", 400, types.CodeInvalid,
			[]string{`failurePolicy.rules[1]: unknown field "onExitCode"; did you mean "onExitCodes"?`}},
		{"unknown field in limits", `{"image":"busybox","resources":{"limits":{"memory":5}}}`, "", 400, types.CodeInvalid,
			[]string{`resources.limits: unknown field "memory"; did you mean "memoryBytes"?`}},
		{"missing image", `{"name":"x"}`, "", 400, types.CodeInvalid, []string{"image: is required"}},
		{"null body", `null`, "", 400, types.CodeInvalid, []string{"must be a JSON object, got null"}},
		{"image of wrong type", `{"image":5}`, "", 400, types.CodeInvalid, []string{"image: must be a string, got number"}},
		{"backoffLimit of wrong type", `{"image":"busybox","backoffLimit":"3"}`, "", 400, types.CodeInvalid, []string{"backoffLimit: must be an integer", "got string"}},
		{"backoffLimit fractional", `{"image":"busybox","backoffLimit":1.5}`, "", 400, types.CodeInvalid, []string{"backoffLimit: must be an integer", "got number 1.5"}},
		{"backoff of wrong type", `{"image":"busybox","backoff":5}`, "", 400, types.CodeInvalid, []string{"backoff: must be an object, got number"}},
		{"initialMs of wrong type", `{"image":"busybox","backoff":{"initialMs":"1s"}}`, "", 400, types.CodeInvalid, []string{"backoff.initialMs: must be an integer"}},
		{"label value of wrong type", `{"image":"busybox","labels":{"a":1}}`, "", 400, types.CodeInvalid, []string{"labels.a: must be a string, got number"}},
		{"env values of wrong types", `{"image":"busybox","env":{"OK":"x","MODE":1,"DEBUG":true}}`, "", 400, types.CodeInvalid, []string{"env.DEBUG: must be a string, got bool"}},
		{"arg of wrong type", `{"image":"busybox","args":["a",2]}`, "", 400, types.CodeInvalid, []string{"args: each element must be a string, got number"}},
		{"constraint of wrong type", `{"image":"busybox","placement":{"constraints":[true]}}`, "", 400, types.CodeInvalid, []string{"placement.constraints: each element must be a string, got bool"}},
		{"args of wrong type", `{"image":"busybox","args":"echo hi"}`, "", 400, types.CodeInvalid, []string{"args: must be an array, got string"}},
		{"labels of wrong type", `{"image":"busybox","labels":["a"]}`, "", 400, types.CodeInvalid, []string{"labels: must be an object, got array"}},
		{"negative backoffLimit", `{"image":"busybox","backoffLimit":-1}`, "", 400, types.CodeInvalid, []string{"backoffLimit: must be between 0 and 1000, got -1"}},
		{"backoffLimit too large", `{"image":"busybox","backoffLimit":1001}`, "", 400, types.CodeInvalid, []string{"backoffLimit: must be between 0 and 1000, got 1001"}},
		{"negative initialMs", `{"image":"busybox","backoff":{"initialMs":-1}}`, "", 400, types.CodeInvalid, []string{"backoff.initialMs: must be at least 1, got -1"}},
		{"zero initialMs", `{"image":"busybox","backoff":{"initialMs":0}}`, "", 400, types.CodeInvalid, []string{"backoff.initialMs: must be at least 1, got 0"}},
		{"huge initialMs", `{"image":"busybox","backoff":{"initialMs":9223372036854775807}}`, "", 400, types.CodeInvalid, []string{"backoff.initialMs: must be at most 86400000"}},
		{"negative maxMs", `{"image":"busybox","backoff":{"maxMs":-5}}`, "", 400, types.CodeInvalid, []string{"backoff.maxMs: must be at least 1, got -5"}},
		{"maxMs below initialMs", `{"image":"busybox","backoff":{"initialMs":2000,"maxMs":1000}}`, "", 400, types.CodeInvalid, []string{"backoff.maxMs: must not be less than backoff.initialMs"}},
		{"negative stopGracePeriodSeconds", `{"image":"busybox","stopGracePeriodSeconds":-1}`, "", 400, types.CodeInvalid, []string{"stopGracePeriodSeconds: must be between 0 and 3600, got -1"}},
		{"stopGracePeriodSeconds too large", `{"image":"busybox","stopGracePeriodSeconds":3601}`, "", 400, types.CodeInvalid, []string{"stopGracePeriodSeconds: must be between 0 and 3600, got 3601"}},
		{"negative activeDeadlineSeconds", `{"image":"busybox","activeDeadlineSeconds":-1}`, "", 400, types.CodeInvalid, []string{"activeDeadlineSeconds: must be positive, got -1"}},
		{"zero activeDeadlineSeconds", `{"image":"busybox","activeDeadlineSeconds":0}`, "", 400, types.CodeInvalid, []string{"activeDeadlineSeconds: must be positive, got 0"}},
		{"activeDeadlineSeconds too large", `{"image":"busybox","activeDeadlineSeconds":99999999999}`, "", 400, types.CodeInvalid, []string{"activeDeadlineSeconds: must be between 1 and"}},
		{"negative limits.cpus", `{"image":"busybox","resources":{"limits":{"cpus":-1}}}`, "", 400, types.CodeInvalid, []string{"resources.limits.cpus:"}},
		{"negative limits.memoryBytes", `{"image":"busybox","resources":{"limits":{"memoryBytes":-1}}}`, "", 400, types.CodeInvalid, []string{"resources.limits.memoryBytes: must not be negative"}},
		{"negative reservations.cpus", `{"image":"busybox","resources":{"reservations":{"cpus":-0.5}}}`, "", 400, types.CodeInvalid, []string{"resources.reservations.cpus:"}},
		{"negative reservations.memoryBytes", `{"image":"busybox","resources":{"reservations":{"memoryBytes":-1}}}`, "", 400, types.CodeInvalid, []string{"resources.reservations.memoryBytes: must not be negative"}},
		{"memoryBytes too big for int64", `{"image":"busybox","resources":{"limits":{"memoryBytes":1e30}}}`, "", 400, types.CodeInvalid, []string{"resources.limits.memoryBytes: must be an integer"}},
		{"reserved env", `{"image":"busybox","env":{"SWARMJOB_JOB_ID":"x"}}`, "", 400, types.CodeInvalid, []string{"env: name \"SWARMJOB_JOB_ID\" is reserved"}},
		{"relative workingDir", `{"image":"busybox","workingDir":"tmp"}`, "", 400, types.CodeInvalid, []string{"workingDir:"}},
		{"bad name", `{"image":"busybox","name":"-x-"}`, "", 400, types.CodeInvalid, []string{"name:"}},
		// Batch fields. A value the domain would read as "unset" is
		// rejected, not defaulted.
		{"zero completions", `{"image":"busybox","completions":0}`, "", 400, types.CodeInvalid, []string{"completions: must be between 1 and 100000, got 0"}},
		{"negative completions", `{"image":"busybox","completions":-2}`, "", 400, types.CodeInvalid, []string{"completions: must be between 1 and 100000, got -2"}},
		{"too many completions", `{"image":"busybox","completions":100001}`, "", 400, types.CodeInvalid, []string{"completions: must be between 1 and 100000, got 100001"}},
		{"completions of wrong type", `{"image":"busybox","completions":"3"}`, "", 400, types.CodeInvalid, []string{"completions: must be an integer", "got string"}},
		{"zero parallelism", `{"image":"busybox","parallelism":0}`, "", 400, types.CodeInvalid, []string{"parallelism: must be between 1 and 10000, got 0"}},
		{"negative parallelism", `{"image":"busybox","parallelism":-1}`, "", 400, types.CodeInvalid, []string{"parallelism: must be between 1 and 10000, got -1"}},
		{"parallelism too large", `{"image":"busybox","parallelism":10001}`, "", 400, types.CodeInvalid, []string{"parallelism: must be between 1 and 10000, got 10001"}},
		{"unknown completionMode", `{"image":"busybox","completionMode":"indexed"}`, "", 400, types.CodeInvalid, []string{`completionMode: must be NonIndexed or Indexed, got "indexed"`}},
		{"backoffLimitPerIndex without Indexed", `{"image":"busybox","backoffLimitPerIndex":1}`, "", 400, types.CodeInvalid, []string{"backoffLimitPerIndex: requires completionMode Indexed"}},
		{"negative backoffLimitPerIndex", `{"image":"busybox","completionMode":"Indexed","backoffLimitPerIndex":-1}`, "", 400, types.CodeInvalid, []string{"backoffLimitPerIndex: must be between 0 and 1000, got -1"}},
		{"maxFailedIndexes without backoffLimitPerIndex", `{"image":"busybox","completionMode":"Indexed","maxFailedIndexes":1}`, "", 400, types.CodeInvalid, []string{"maxFailedIndexes: requires backoffLimitPerIndex"}},
		{"maxFailedIndexes over completions", `{"image":"busybox","completions":2,"completionMode":"Indexed","backoffLimitPerIndex":1,"maxFailedIndexes":3}`, "", 400, types.CodeInvalid, []string{"maxFailedIndexes: must be between 0 and completions (2), got 3"}},
		{"failurePolicy without rules", `{"image":"busybox","failurePolicy":{}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules: must have between 1 and 20 rules"}},
		{"unknown failure action", `{"image":"busybox","failurePolicy":{"rules":[{"action":"Retry","onReasons":["Failed"]}]}}`, "", 400, types.CodeInvalid, []string{`failurePolicy.rules[0].action: must be FailJob, FailIndex, Ignore or Count, got "Retry"`}},
		{"FailIndex without backoffLimitPerIndex", `{"image":"busybox","failurePolicy":{"rules":[{"action":"FailIndex","onReasons":["Failed"]}]}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules[0].action: FailIndex requires backoffLimitPerIndex"}},
		{"rule with both matchers", `{"image":"busybox","failurePolicy":{"rules":[{"action":"Ignore","onReasons":["Failed"],"onExitCodes":{"operator":"In","values":[1]}}]}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules[0]: needs exactly one of onExitCodes and onReasons"}},
		{"rule without matcher", `{"image":"busybox","failurePolicy":{"rules":[{"action":"Ignore"}]}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules[0]: needs exactly one of onExitCodes and onReasons"}},
		{"unknown operator", `{"image":"busybox","failurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"in","values":[1]}}]}}`, "", 400, types.CodeInvalid, []string{`failurePolicy.rules[0].onExitCodes.operator: must be In or NotIn, got "in"`}},
		{"exit code out of range", `{"image":"busybox","failurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":[256]}}]}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules[0].onExitCodes.values: 256 is not an exit code (0-255)"}},
		{"exit code 0 with In", `{"image":"busybox","failurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":[0]}}]}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules[0].onExitCodes.values: 0 cannot be used with In"}},
		{"no exit codes", `{"image":"busybox","failurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":[]}}]}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules[0].onExitCodes.values: must have between 1 and 255 values"}},
		{"contradictory rules", `{"image":"busybox","failurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":[42]}},{"action":"Ignore","onExitCodes":{"operator":"In","values":[7,42]}}]}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules[1]: exit code 42 already has action FailJob in an earlier rule; the rules contradict"}},
		{"unknown failure reason", `{"image":"busybox","failurePolicy":{"rules":[{"action":"Ignore","onReasons":["Suspended"]}]}}`, "", 400, types.CodeInvalid, []string{`failurePolicy.rules[0].onReasons: unknown reason "Suspended"`}},
		{"exit code of wrong type", `{"image":"busybox","failurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":["42"]}}]}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules.onExitCodes.values: each element must be an integer", "got string"}},
		{"rule of wrong type", `{"image":"busybox","failurePolicy":{"rules":[1]}}`, "", 400, types.CodeInvalid, []string{"failurePolicy.rules: each element must be an object, got number"}},
		{"unknown rule field", `{"image":"busybox","failurePolicy":{"rules":[{"action":"Ignore","onExitCode":{}}]}}`, "", 400, types.CodeInvalid, []string{`unknown field "onExitCode"`}},
		{"successPolicy without Indexed", `{"image":"busybox","successPolicy":{"rules":[{"succeededCount":1}]}}`, "", 400, types.CodeInvalid, []string{"successPolicy: requires completionMode Indexed"}},
		{"successPolicy without rules", `{"image":"busybox","completionMode":"Indexed","successPolicy":{"rules":[]}}`, "", 400, types.CodeInvalid, []string{"successPolicy.rules: must have between 1 and 20 rules"}},
		{"empty success rule", `{"image":"busybox","completionMode":"Indexed","successPolicy":{"rules":[{}]}}`, "", 400, types.CodeInvalid, []string{"successPolicy.rules[0]: needs succeededIndexes, succeededCount or both"}},
		{"bad succeededIndexes", `{"image":"busybox","completions":5,"completionMode":"Indexed","successPolicy":{"rules":[{"succeededIndexes":"3-1"}]}}`, "", 400, types.CodeInvalid, []string{`successPolicy.rules[0].succeededIndexes: "3-1" is not a range like 0-3`}},
		{"succeededIndexes beyond completions", `{"image":"busybox","completions":5,"completionMode":"Indexed","successPolicy":{"rules":[{"succeededIndexes":"0-5"}]}}`, "", 400, types.CodeInvalid, []string{"successPolicy.rules[0].succeededIndexes: index 5 is not below 5"}},
		{"zero succeededCount", `{"image":"busybox","completions":5,"completionMode":"Indexed","successPolicy":{"rules":[{"succeededCount":0}]}}`, "", 400, types.CodeInvalid, []string{"successPolicy.rules[0].succeededCount: must be between 1 and 5, got 0"}},
		{"zero multiplier", `{"image":"busybox","backoff":{"multiplier":0}}`, "", 400, types.CodeInvalid, []string{"backoff.multiplier: must be between 1 and 10, got 0"}},
		{"multiplier below 1", `{"image":"busybox","backoff":{"multiplier":0.5}}`, "", 400, types.CodeInvalid, []string{"backoff.multiplier: must be between 1 and 10, got 0.5"}},
		{"multiplier too large", `{"image":"busybox","backoff":{"multiplier":11}}`, "", 400, types.CodeInvalid, []string{"backoff.multiplier: must be between 1 and 10"}},
		{"jitter of 1", `{"image":"busybox","backoff":{"jitter":1}}`, "", 400, types.CodeInvalid, []string{"backoff.jitter: must be at least 0 and below 1"}},
		{"negative jitter", `{"image":"busybox","backoff":{"jitter":-0.1}}`, "", 400, types.CodeInvalid, []string{"backoff.jitter: must be at least 0 and below 1"}},
		{"zero attemptDeadlineSeconds", `{"image":"busybox","attemptDeadlineSeconds":0}`, "", 400, types.CodeInvalid, []string{"attemptDeadlineSeconds: must be positive, got 0"}},
		{"negative attemptDeadlineSeconds", `{"image":"busybox","attemptDeadlineSeconds":-5}`, "", 400, types.CodeInvalid, []string{"attemptDeadlineSeconds: must be positive, got -5"}},
		{"attemptDeadlineSeconds too large", `{"image":"busybox","attemptDeadlineSeconds":99999999999}`, "", 400, types.CodeInvalid, []string{"attemptDeadlineSeconds: must be between 1 and"}},
		{"suspend of wrong type", `{"image":"busybox","suspend":"yes"}`, "", 400, types.CodeInvalid, []string{"suspend: must be a boolean, got string"}},
		{"body over 1 MiB", big, "application/json", 413, types.CodeTooLarge, []string{"request body", "1048576 bytes"}},
		{"wrong Content-Type", `{"image":"busybox"}`, "text/plain", 415, types.CodeUnsupported, []string{"Content-Type", "application/json", "text/plain"}},
		{"form Content-Type", `image=busybox`, "application/x-www-form-urlencoded", 415, types.CodeUnsupported, []string{"Content-Type"}},
		{"unparsable Content-Type", `{"image":"busybox"}`, "application/", 415, types.CodeUnsupported, []string{"Content-Type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			var hdr []string
			if tt.contentType != "" {
				hdr = []string{"Content-Type", tt.contentType}
			}
			rec := e.do(http.MethodPost, "/v1/jobs", tt.body, hdr...)
			wantError(t, rec, tt.wantStatus, tt.wantCode, tt.wantMsg...)
			if got := e.enq.enqueued(); len(got) != 0 {
				t.Errorf("enqueued %v for a rejected request", got)
			}
			if e.store.get("job-1") != nil {
				t.Error("a rejected request stored a job")
			}

			// The server keeps serving.
			job := e.createJob(`{"image":"busybox"}`)
			if job.Status.Phase != types.PhasePending {
				t.Errorf("follow-up job phase = %q, want Pending", job.Status.Phase)
			}
		})
	}
}

func TestCreateJobBodyLimitIsConfigurable(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.MaxBodyBytes = 64 })
	rec := e.do(http.MethodPost, "/v1/jobs", `{"image":"busybox","args":["`+strings.Repeat("x", 64)+`"]}`)
	wantError(t, rec, http.StatusRequestEntityTooLarge, types.CodeTooLarge, "must be at most 64 bytes")
}

func TestCreateJobStoreErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
		wantLogged bool
	}{
		{"internal error is hidden and logged", errors.New("disk I/O error at /data/swarmjob.db"), 500, types.CodeInternal, "internal error", true},
		{"conflict", jobs.Errorf(jobs.ECONFLICT, "job %q exists", "job-1"), 409, types.CodeConflict, `job "job-1" exists`, false},
		{"unavailable", jobs.Errorf(jobs.EUNAVAIL, "store is closing"), 503, types.CodeUnavailable, "store is closing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.store.setFail("CreateJob", tt.err)
			rec := e.do(http.MethodPost, "/v1/jobs", `{"image":"busybox"}`)
			body := wantError(t, rec, tt.wantStatus, tt.wantCode, tt.wantMsg)
			if strings.Contains(body.Message, "/data") {
				t.Errorf("message %q leaks internal details", body.Message)
			}
			if got := e.enq.enqueued(); len(got) != 0 {
				t.Errorf("enqueued %v although the job was not stored", got)
			}
			logged := e.logs.findRecord(t, "request failed")
			if (logged != nil) != tt.wantLogged {
				t.Errorf("logged = %v, want %v", logged, tt.wantLogged)
			}
			if logged != nil && !strings.Contains(logged["err"].(string), "disk I/O error") {
				t.Errorf("log record %v lacks the error", logged)
			}
		})
	}
}

// Over a real connection, a rejected oversized body does not stop the server
// from answering the next request, on the same client.
func TestCreateJobOversizedBodyOverTheNetwork(t *testing.T) {
	e := newTestEnv(t)
	ts := httptest.NewServer(withAdminToken(e.srv.Handler()))
	defer ts.Close()
	c := ts.Client()

	big := `{"image":"busybox","args":["` + strings.Repeat("a", 3<<20) + `"]}`
	for i, tc := range []struct {
		body       string
		wantStatus int
	}{
		{big, http.StatusRequestEntityTooLarge},
		{`{"image":"busybox"}`, http.StatusCreated},
		{big, http.StatusRequestEntityTooLarge},
		{`{"image":"busybox"}`, http.StatusCreated},
	} {
		resp, err := c.Post(ts.URL+"/v1/jobs", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("request %d: reading body: %v", i, err)
		}
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("request %d: status %d, want %d; body %s", i, resp.StatusCode, tc.wantStatus, b)
		}
	}
}
