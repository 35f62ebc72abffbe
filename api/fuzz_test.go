package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/jobs"
)

// FuzzDecodeCreateJob feeds arbitrary bodies to the decoder and validator of
// POST /v1/jobs. It must never panic; it must reject input only with an
// invalid or too_large domain error; and what it accepts must be valid and
// survive the trip back to the wire and through the decoder unchanged.
func FuzzDecodeCreateJob(f *testing.F) {
	for _, seed := range []string{
		`{"image":"busybox"}`,
		`{"name":"a","labels":{"k":"v"},"image":"busybox","command":["sh"],"args":["-c","exit 3"],"env":{"A":"b"},` +
			`"workingDir":"/","user":"0","backoffLimit":2,"backoff":{"initialMs":10,"maxMs":100},"activeDeadlineSeconds":5,` +
			`"resources":{"limits":{"cpus":2,"memoryBytes":16777216},"reservations":{"cpus":0.25,"memoryBytes":8388608}},` +
			`"placement":{"constraints":["node.role==manager"]},"networks":["n"]}`,
		`{"image":"busybox","backoffLimit":-1}`,
		`{"image":"busybox","backoff":{"initialMs":-1,"maxMs":0}}`,
		`{"image":"busybox","activeDeadlineSeconds":0}`,
		`{"image":"busybox","resources":{"limits":{"cpus":-1e308}}}`,
		`{"image":"busybox","backoff":{"initialMs":1e30}}`,
		`{"image":"busybox","foo":1}`,
		`{"image":"busybox"} trailing`,
		`{"image":`,
		`[1,2]`,
		`null`,
		``,
		"{\"image\":\"busy\\u0000box\"}",
		`{"image":"busybox","labels":{"":""},"env":{"SWARMJOB_X":"1"}}`,
		`{"image":"busybox","completions":10,"parallelism":3,"completionMode":"Indexed","backoffLimitPerIndex":2,"maxFailedIndexes":3,` +
			`"failurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":[42]}},{"action":"Ignore","onReasons":["NodeLost"]},` +
			`{"action":"FailIndex","onExitCodes":{"operator":"NotIn","values":[0,1]}}]},` +
			`"successPolicy":{"rules":[{"succeededIndexes":"0-3,7","succeededCount":2},{"succeededCount":5}]},` +
			`"backoff":{"initialMs":5,"maxMs":50,"multiplier":1.5,"jitter":0.5},"attemptDeadlineSeconds":7,"suspend":true}`,
		`{"image":"busybox","completions":0,"parallelism":-1}`,
		`{"image":"busybox","backoff":{"multiplier":0,"jitter":1}}`,
		`{"image":"busybox","completionMode":"Indexed","completions":3,"successPolicy":{"rules":[{"succeededIndexes":"2-1"}]}}`,
		`{"image":"busybox","failurePolicy":{"rules":[{"action":"Count","onReasons":["Failed"],"onExitCodes":{"operator":"In","values":[1]}}]}}`,
		`{"image":"busybox","backoffLimit":2147483647,"attemptDeadlineSeconds":0}`,
		`{"image":"busybox","mounts":[{"type":"bind","source":"/var/run//docker.sock/","target":"/s","readOnly":true},` +
			`{"type":"volume","source":"a_v","target":"/v"},{"type":"tmpfs","target":"/t"}]}`,
		`{"image":"busybox","mounts":[{"type":"npipe","source":"x","target":"/a/../b"},{"type":"tmpfs","target":"/b/"}]}`,
		"{\"image\":\"busybox\",\"labels\":{\"a\":\"\u202e\"},\"name\":\"j\u200b\"}",
		`{"image":"busybox","maxLogBytes":1000,"secrets":[{"name":"a_db","target":"db","uid":"0","gid":"0","mode":256},{"name":"a_t","target":"/etc/t"}],` +
			`"configs":[{"name":"a.conf"},{"name":"b","target":"/b","mode":511}]}`,
		`{"image":"busybox","maxLogBytes":0,"secrets":[{"name":"-a","target":"../x","uid":"root","mode":4095}],"configs":[{"name":"a","target":"rel"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const limit = 8 << 10
		got, err := decodeCreateJob(http.MaxBytesReader(nil, nopCloser{bytes.NewReader(body)}, limit))
		if err != nil {
			var de *jobs.Error
			if !errors.As(err, &de) || (de.Code != jobs.EINVALID && de.Code != jobs.ETOOLARGE) {
				t.Fatalf("error %#v is not an invalid or too_large *jobs.Error", err)
			}
			if de.Message == "" {
				t.Fatal("error without a message")
			}
			return
		}
		if err := jobs.Validate(got.Name, got.Labels, got.Spec); err != nil {
			t.Fatalf("accepted a spec that does not validate: %v", err)
		}

		// Round trip: wire form of the accepted request, decoded again.
		wire, err := json.Marshal(types.CreateJobRequest{Name: got.Name, Labels: got.Labels, JobSpec: specToWire(got.Spec)})
		if err != nil {
			t.Fatalf("encoding the accepted request: %v", err)
		}
		again, err := decodeCreateJob(bytes.NewReader(wire))
		if err != nil {
			t.Fatalf("decoding %s, the wire form of an accepted request: %v", wire, err)
		}
		if diff := cmp.Diff(got, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip through %s changed the request (-first +second):\n%s", wire, diff)
		}
	})
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// FuzzDecodeJobPatch feeds arbitrary bodies to the decoder of
// PATCH /v1/jobs/{id}. It must never panic, must reject input only with an
// invalid or too_large domain error, and what it accepts must be a valid
// parallelism and nothing else.
func FuzzDecodeJobPatch(f *testing.F) {
	for _, seed := range []string{
		`{"parallelism":3}`, `{"parallelism":0}`, `{"parallelism":-1}`, `{"parallelism":1e3}`, `{"parallelism":10001}`,
		`{}`, `null`, ``, `{"parallelism":"2"}`, `{"parallelism":2,"suspend":true}`, `{"parallelism":2} x`, `[2]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeJobPatch(http.MaxBytesReader(nil, nopCloser{bytes.NewReader(body)}, 1<<10))
		if err != nil {
			var de *jobs.Error
			if !errors.As(err, &de) || (de.Code != jobs.EINVALID && de.Code != jobs.ETOOLARGE) || de.Message == "" {
				t.Fatalf("error %#v is not an invalid or too_large *jobs.Error with a message", err)
			}
			return
		}
		if got.Suspend != nil || got.Parallelism == nil {
			t.Fatalf("accepted patch %+v, want parallelism only", got)
		}
		if err := jobs.ValidateParallelism(*got.Parallelism); err != nil {
			t.Fatalf("accepted an invalid parallelism: %v", err)
		}
	})
}
