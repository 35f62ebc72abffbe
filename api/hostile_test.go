package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/auth"
	"github.com/swarmjob/swarmjob/events"
)

// hostile is one request an attacker might send, and the status the server
// must answer with.
type hostile struct {
	name   string
	method string
	path   string
	// tok is the bearer token; "" sends none, "admin" the admin token,
	// "reader" a token of tenant b with jobs:read.
	tok    string
	hdr    []string // name, value pairs
	body   string
	bodyFn func() io.Reader // a body too large to build as a string literal
	// raw, when set, is written to the connection as it is, instead of a
	// request built from the fields above.
	raw  string
	want int
}

// TestHostileRequests sends requests meant to break, confuse or exhaust the
// server, over a real connection to the handler behind an http.Server
// configured as serve configures it. Each must get its 4xx, and the server
// must go on answering probes and authenticated requests after each one.
func TestHostileRequests(t *testing.T) {
	e := newTestEnv(t, func(c *Config) {
		c.RateLimit = -1
		c.Events = events.NewRecorder(&fakeEventStore{}, nil)
	})
	reader := e.token("b", auth.ScopeJobsRead)
	job := decodeBody[types.Job](t, e.as(testAdminToken, "POST", "/v1/jobs", `{"image":"busybox"}`)).ID
	ts := httptest.NewUnstartedServer(e.srv.Handler())
	ts.Config.MaxHeaderBytes = MaxHeaderBytes
	ts.Config.ReadHeaderTimeout = 5 * time.Second
	ts.Start()
	defer ts.Close()

	deep := func(open, close string, n int) string { return strings.Repeat(open, n) + strings.Repeat(close, n) }
	labels := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"image":"busybox","labels":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":"v"`, i)
		}
		b.WriteString("}}")
		return b.String()
	}
	spec := func(fields string) string { return `{"image":"busybox",` + fields + `}` }
	jsonCT := []string{"Content-Type", "application/json"}

	cases := []hostile{
		// Credentials.
		{name: "no token", method: "GET", path: "/v1/jobs", want: 401},
		{name: "guessed token", method: "GET", path: "/v1/jobs", tok: "admin123", want: 401},
		{name: "token of the right form, wrong secret", method: "GET", path: "/v1/jobs", tok: "sjt_0123456789abcdef_" + strings.Repeat("A", 43), want: 401},
		{name: "huge token", method: "GET", path: "/v1/jobs", tok: strings.Repeat("a", 32<<10), want: 401},
		{name: "token with unicode", method: "GET", path: "/v1/jobs", hdr: []string{"Authorization", "Bearer tökén"}, want: 401},
		{name: "token with NUL", raw: "GET /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x00b\r\n\r\n", want: 400},
		{name: "SQL in the token", method: "GET", path: "/v1/jobs", hdr: []string{"Authorization", "Bearer ' OR 1=1 --"}, want: 401},
		{name: "reader submits", method: "POST", path: "/v1/jobs", tok: "reader", hdr: jsonCT, body: `{"image":"busybox"}`, want: 403},
		{name: "reader makes itself an admin token", method: "POST", path: "/v1/tokens", tok: "reader", hdr: jsonCT, body: `{"tenant":"b","scopes":["admin"]}`, want: 403},
		{name: "admin token of a traversing tenant", method: "POST", path: "/v1/tokens", tok: "admin", hdr: jsonCT, body: `{"tenant":"../a","scopes":["admin"]}`, want: 400},
		{name: "child-job token for a job, forged", method: "GET", path: "/v1/jobs", tok: "sjc_" + job + "_" + strings.Repeat("A", 43), want: 401},
		{name: "child-job token without its MAC", method: "GET", path: "/v1/jobs", tok: "sjc_" + job, want: 401},
		{name: "child-job token of a path", method: "GET", path: "/v1/jobs", tok: "sjc_../../x_" + strings.Repeat("A", 43), want: 401},
		{name: "admin grants the child-job scope", method: "POST", path: "/v1/tokens", tok: "admin", hdr: jsonCT, body: `{"tenant":"b","scopes":["jobs:children"]}`, want: 400},
		{name: "childJobs on a server without a job network", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: `{"image":"busybox","childJobs":{"maxChildren":1}}`, want: 400},
		{name: "childJobs deeper than allowed", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: `{"image":"busybox","childJobs":{"maxDepth":11}}`, want: 400},

		// Headers and request lines.
		{name: "header over the limit", method: "GET", path: "/v1/jobs", tok: "admin", hdr: []string{"X-Pad", strings.Repeat("x", 100<<10)}, want: 431},
		{name: "many headers", method: "GET", path: "/v1/jobs", tok: "admin", hdr: manyHeaders(3000), want: 431},
		{name: "URL over the limit", method: "GET", path: "/v1/events?job=" + strings.Repeat("j", 100<<10), tok: "admin", want: 431},
		{name: "negative Content-Length", raw: "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", want: 400},
		{name: "two Content-Lengths", raw: "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", want: 400},
		{name: "not HTTP", raw: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", want: 400},

		// Bodies.
		{name: "body over 1 MiB", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, bodyFn: func() io.Reader {
			return strings.NewReader(`{"image":"busybox","args":["` + strings.Repeat("a", 2<<20) + `"]}`)
		}, want: 413},
		{name: "endless chunked body", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, bodyFn: func() io.Reader {
			return io.MultiReader(strings.NewReader(`{"image":"busybox","args":["`), io.LimitReader(zeros{}, 4<<20))
		}, want: 413},
		{name: "arrays nested 100000 deep", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"args":` + deep("[", "]", 100000)), want: 400},
		{name: "objects nested 50000 deep in an unknown field", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"x":` + deep(`{"a":`, "}", 50000)), want: 400},
		{name: "20000 labels", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: labels(20000), want: 400},
		{name: "not JSON", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: `<job image="busybox"/>`, want: 400},
		{name: "two objects", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: `{"image":"a"}{"image":"b"}`, want: 400},
		{name: "a JSON string", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: `"busybox"`, want: 400},
		{name: "form encoded", method: "POST", path: "/v1/jobs", tok: "admin", hdr: []string{"Content-Type", "application/x-www-form-urlencoded"}, body: "image=busybox", want: 415},
		{name: "a key twice with two types", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: `{"image":"a","image":5}`, want: 400},
		{name: "invalid UTF-8 in the name", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"name":"job` + "\xff\xfe" + `"`), want: 400},

		// Names, labels, env: unicode and control tricks.
		{name: "NUL in a label value", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"labels":{"a":"x\u0000y"}`), want: 400},
		{name: "right-to-left override in a label value", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"labels":{"a":"safe\u202eexe.sh"}`), want: 400},
		{name: "zero-width space in a label value", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"labels":{"team":"da\u200bta"}`), want: 400},
		{name: "C1 control in a label value", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"labels":{"a":"x\u009by"}`), want: 400},
		{name: "Cyrillic homoglyph in the name", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"name":"nightly-rеport"`), want: 400},
		{name: "fullwidth letters in a label key", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"labels":{"ｔｅａｍ":"a"}`), want: 400},
		{name: "newline in the name", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"name":"a\nINFO forged log line"`), want: 400},
		{name: "NUL in an env value", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"env":{"A":"x\u0000"}`), want: 400},
		{name: "reserved env name", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"env":{"SWARMJOB_JOB_ID":"other"}`), want: 400},
		{name: "NUL in the image", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: `{"image":"busybox\u0000:evil"}`, want: 400},

		// Numbers.
		{name: "negative completions", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"completions":-1`), want: 400},
		{name: "completions 1e20", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"completions":1e20`), want: 400},
		{name: "parallelism past int64", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"parallelism":9223372036854775808`), want: 400},
		{name: "deadline past int64", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"activeDeadlineSeconds":99999999999999999999`), want: 400},
		{name: "negative memory", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"resources":{"limits":{"memoryBytes":-1}}`), want: 400},
		{name: "cpus 1e308", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"resources":{"limits":{"cpus":1e308}}`), want: 400},
		{name: "cpus 1e400", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"resources":{"limits":{"cpus":1e400}}`), want: 400},
		{name: "backoff that overflows a duration", method: "POST", path: "/v1/jobs", tok: "admin", hdr: jsonCT, body: spec(`"backoff":{"initialMs":9223372036854775807}`), want: 400},
		{name: "PATCH parallelism 0", method: "PATCH", path: "/v1/jobs/" + job, tok: "admin", hdr: jsonCT, body: `{"parallelism":0}`, want: 400},
		{name: "list limit -1", method: "GET", path: "/v1/jobs?limit=-1", tok: "admin", want: 400},
		{name: "list limit past int64", method: "GET", path: "/v1/jobs?limit=99999999999999999999", tok: "admin", want: 400},
		{name: "wait timeout that overflows", method: "GET", path: "/v1/jobs/" + job + "/wait?timeout=9999999999999h", tok: "admin", want: 400},
		{name: "logs tail -5", method: "GET", path: "/v1/jobs/" + job + "/logs?tail=-5", tok: "admin", want: 400},
		{name: "logs index past int", method: "GET", path: "/v1/jobs/" + job + "/logs?index=99999999999999999999", tok: "admin", want: 400},

		// Paths and IDs.
		{name: "traversal in the ID, escaped slashes", method: "GET", path: "/v1/jobs/..%2f..%2fetc%2fpasswd", tok: "admin", want: 404},
		{name: "traversal in the ID, escaped dots", method: "GET", path: "/v1/jobs/%2e%2e%2f%2e%2e%2fadmin/logs", tok: "admin", want: 404},
		{name: "NUL in the ID", method: "GET", path: "/v1/jobs/%00", tok: "admin", want: 404},
		{name: "SQL in the ID", method: "GET", path: "/v1/jobs/x'%20OR%20'1'='1", tok: "admin", want: 404},
		{name: "a 4 KiB ID", method: "GET", path: "/v1/jobs/" + strings.Repeat("a", 4096), tok: "admin", want: 404},
		{name: "a reader's own tenant does not hold the job", method: "DELETE", path: "/v1/jobs/" + job, tok: "reader", want: 403},
		{name: "another tenant's job", method: "GET", path: "/v1/jobs/" + job, tok: "reader", want: 404},
		{name: "traversal in a token ID", method: "DELETE", path: "/v1/tokens/..%2f..", tok: "admin", want: 404},
		{name: "reader lifts its own policy", method: "PUT", path: "/v1/policy", tok: "reader", hdr: jsonCT, body: `{"defaults":{"allowedBindPrefixes":["/"]}}`, want: 403},
		{name: "reader reads another tenant's policy", method: "GET", path: "/v1/policy/tenants/a", tok: "reader", want: 403},
		{name: "traversal in a policy's tenant", method: "GET", path: "/v1/policy/tenants/..%2f..", tok: "admin", want: 400},
		{name: "a policy allowing every bind mount for a traversing tenant", method: "PUT", path: "/v1/policy", tok: "admin", hdr: jsonCT, body: `{"tenants":{"../b":{"allowedBindPrefixes":["/"]}}}`, want: 400},

		// Methods.
		{name: "PUT on jobs", method: "PUT", path: "/v1/jobs", tok: "admin", want: 405},
		{name: "TRACE on a job", method: "TRACE", path: "/v1/jobs/" + job, tok: "admin", want: 405},
		{name: "DELETE on the collection", method: "DELETE", path: "/v1/jobs", tok: "admin", want: 405},
		{name: "POST on the events stream", method: "POST", path: "/v1/events", tok: "admin", want: 405},

		// Events stream abuse.
		{name: "events since -1", method: "GET", path: "/v1/events?since=-1", tok: "admin", want: 400},
		{name: "Last-Event-ID past int64", method: "GET", path: "/v1/events", tok: "admin", hdr: []string{"Last-Event-ID", "99999999999999999999999"}, want: 400},
		{name: "Last-Event-ID not a number", method: "GET", path: "/v1/events", tok: "admin", hdr: []string{"Last-Event-ID", "0; DROP TABLE events"}, want: 400},
		{name: "events label selector garbage", method: "GET", path: "/v1/events?label=!!%3D%3D", tok: "admin", want: 400},
		{name: "events without a token", method: "GET", path: "/v1/events", want: 401},
		{name: "Idempotency-Key with a control character", raw: "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testAdminToken +
			"\r\nIdempotency-Key: k\x7f\r\nContent-Length: 19\r\n\r\n{\"image\":\"busybox\"}", want: 400},
		{name: "Idempotency-Key not ASCII", method: "POST", path: "/v1/jobs", tok: "admin", hdr: append([]string{"Idempotency-Key", "clé"}, jsonCT...), body: `{"image":"busybox"}`, want: 400},
		{name: "Idempotency-Key of 300 bytes", method: "POST", path: "/v1/jobs", tok: "admin", hdr: append([]string{"Idempotency-Key", strings.Repeat("k", 300)}, jsonCT...), body: `{"image":"busybox"}`, want: 400},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d hostile requests", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got int
			if c.raw != "" {
				got = rawStatus(t, ts.Listener.Addr().String(), c.raw)
			} else {
				got = hostileStatus(t, ts, c, reader)
			}
			if got != c.want {
				t.Errorf("status %d, want %d", got, c.want)
			}
			if got < 400 || got > 499 {
				t.Errorf("status %d is not a 4xx", got)
			}
			// Still serving.
			if s := hostileStatus(t, ts, hostile{method: "GET", path: "/readyz"}, reader); s != 200 {
				t.Fatalf("readyz after it: %d", s)
			}
			if s := hostileStatus(t, ts, hostile{method: "GET", path: "/v1/jobs/" + job, tok: "admin"}, reader); s != 200 {
				t.Fatalf("an authenticated request after it: %d", s)
			}
		})
	}
	if n := len(e.store.jobs); n != 1 {
		t.Errorf("%d jobs stored; the hostile requests stored some", n)
	}
}

// zeros reads as endless '0' bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

func manyHeaders(n int) []string {
	out := make([]string, 0, 2*n)
	for i := range n {
		out = append(out, fmt.Sprintf("X-H%d", i), strings.Repeat("v", 30))
	}
	return out
}

// hostileStatus sends c with Go's client and returns the status.
func hostileStatus(t *testing.T, ts *httptest.Server, c hostile, reader string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var body io.Reader
	switch {
	case c.bodyFn != nil:
		body = c.bodyFn()
	case c.body != "":
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, ts.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.bodyFn != nil {
		req.ContentLength = -1 // chunked: the server cannot know the size up front
	}
	switch c.tok {
	case "":
	case "admin":
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
	case "reader":
		req.Header.Set("Authorization", "Bearer "+reader)
	default:
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	for i := 0; i+1 < len(c.hdr); i += 2 {
		req.Header.Set(c.hdr[i], c.hdr[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		// The server may close the connection while a large body is
		// still being sent; the status it answered is what counts.
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		t.Logf("reading the answer: %v", err)
	}
	return resp.StatusCode
}

// rawStatus writes raw to a new connection and returns the status of the
// answer.
func rawStatus(t *testing.T, addr, raw string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", raw, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
