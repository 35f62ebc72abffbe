package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/swarmjob/swarmjob/jobs"
)

// The tests of the OpenAPI description (openapi.json): it stays identical to
// docs/openapi.json, describes exactly the routes that routes registers,
// its examples validate against its schemas, and so do real answers of the
// handlers.

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// spec is openapi.json decoded for the validator (numbers as json.Number).
type spec struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
}

const specURL = "file:///openapi.json"

func loadSpec(t *testing.T) *spec {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPISpec))
	if err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, f := range openAPIFormats {
		c.RegisterFormat(f)
	}
	if err := c.AddResource(specURL, doc); err != nil {
		t.Fatalf("adding openapi.json to the validator: %v", err)
	}
	return &spec{doc: doc.(map[string]any), compiler: c}
}

// openAPIFormats are the formats OpenAPI adds to JSON Schema's, asserted
// like date-time: int32 and int64 must be integers of that size.
var openAPIFormats = []*jsonschema.Format{
	{Name: "int32", Validate: intFormat(math.MinInt32, math.MaxInt32)},
	{Name: "int64", Validate: intFormat(math.MinInt64, math.MaxInt64)},
	{Name: "double", Validate: func(any) error { return nil }},
}

func intFormat(lo, hi int64) func(any) error {
	return func(v any) error {
		n, ok := v.(json.Number)
		if !ok {
			return nil // formats apply to numbers only
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil || i < lo || i > hi {
			return fmt.Errorf("%s is not an integer between %d and %d", n, lo, hi)
		}
		return nil
	}
}

// schema compiles the schema at the JSON pointer ptr ("/components/...").
func (s *spec) schema(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	sch, err := s.compiler.Compile(specURL + "#" + ptr)
	if err != nil {
		t.Fatalf("compiling the schema at %s: %v", ptr, err)
	}
	return sch
}

// resolve follows a JSON pointer such as "#/components/examples/Job".
func (s *spec) resolve(ref string) (any, bool) {
	var cur any = s.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// deref returns v, or what it points to when it is a {"$ref": ...} object.
func (s *spec) deref(t *testing.T, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		target, found := s.resolve(ref)
		if !found {
			t.Fatalf("$ref %q does not resolve", ref)
		}
		m, _ = target.(map[string]any)
	}
	return m
}

// pointer escapes a JSON pointer token.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

// operations returns "METHOD /path" for every operation of the spec.
func (s *spec) operations() map[string]map[string]any {
	ops := map[string]map[string]any{}
	paths, _ := s.doc["paths"].(map[string]any)
	for p, item := range paths {
		for _, m := range httpMethods {
			if op, ok := item.(map[string]any)[m].(map[string]any); ok {
				ops[strings.ToUpper(m)+" "+p] = op
			}
		}
	}
	return ops
}

func TestOpenAPIDocsCopy(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "docs", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, openAPISpec) {
		t.Error("docs/openapi.json differs from api/openapi.json, which is the one served; run: go generate ./api")
	}
}

// registeredRoute is a pattern passed to Handle or HandleFunc in the
// package's code, and where.
type registeredRoute struct {
	pattern, pos string
}

// registeredRoutes reads the route patterns from the package's source:
// the string literals passed as the pattern of X.Handle and X.HandleFunc.
// It fails the test on a mux registration whose pattern is not a literal,
// which it could not check.
func registeredRoutes(t *testing.T) []registeredRoute {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []registeredRoute
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			pos := fset.Position(call.Pos())
			where := fmt.Sprintf("api/%s:%d", filepath.Base(pos.Filename), pos.Line)
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "mux" {
					t.Errorf("%s registers a route whose pattern is not a string literal; write it as one, so that this test can check that openapi.json describes it", where)
				}
				return true
			}
			p, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			routes = append(routes, registeredRoute{pattern: p, pos: where})
			return true
		})
	}
	return routes
}

// TestOpenAPIRoutes checks that openapi.json describes every route of the
// server and no other: the routes read from the source (registeredRoutes)
// against the operations of the spec, and each operation of the spec
// against the server's mux.
func TestOpenAPIRoutes(t *testing.T) {
	s := loadSpec(t)
	ops := s.operations()
	routes := registeredRoutes(t)
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in the package's source: %v", len(routes), routes)
	}
	registered := map[string]bool{}
	for _, r := range routes {
		method, path, ok := strings.Cut(r.pattern, " ")
		if !ok || method == "" || !strings.HasPrefix(path, "/") {
			t.Errorf("route %q (%s) does not have the form \"METHOD /path\", which openapi.json can describe", r.pattern, r.pos)
			continue
		}
		registered[r.pattern] = true
		if _, ok := ops[r.pattern]; !ok {
			t.Errorf("route %q (%s) is not described in api/openapi.json: add the operation paths[%q].%s (with its parameters, request body and responses), then run go generate ./api",
				r.pattern, r.pos, path, strings.ToLower(method))
		}
	}
	for op := range ops {
		if !registered[op] {
			t.Errorf("api/openapi.json describes %q, which the server does not register (api/server.go, routes): remove it or add the route", op)
		}
	}

	// Each operation reaches a handler of the real server, not the mux's
	// "no route" or "method not allowed" answer.
	e := newTestEnv(t)
	for op := range ops {
		method, path, _ := strings.Cut(op, " ")
		target := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "x")
		rec := e.do(method, target, "")
		if rec.Code == http.StatusMethodNotAllowed || strings.Contains(rec.Body.String(), `"no route for `) {
			t.Errorf("%s: the server answers %d %s: the operation reaches no handler", op, rec.Code, rec.Body)
		}
	}
}

// TestOpenAPIDocument checks the parts of the document that the schema
// validator does not: the operations, their parameters and responses, and
// that every reference resolves and every component is used.
func TestOpenAPIDocument(t *testing.T) {
	s := loadSpec(t)
	if v := s.doc["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	ids := map[string]string{}
	for name, op := range s.operations() {
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", name)
		} else if other, dup := ids[id]; dup {
			t.Errorf("%s and %s share the operationId %q", name, other, id)
		}
		ids[id] = name
		if op["summary"] == nil || op["description"] == nil {
			t.Errorf("%s needs a summary and a description", name)
		}
		if len(op["tags"].([]any)) == 0 {
			t.Errorf("%s has no tag", name)
		}
		resps, _ := op["responses"].(map[string]any)
		if len(resps) == 0 {
			t.Errorf("%s has no responses", name)
		}
		success := false
		for code := range resps {
			if n, err := strconv.Atoi(code); err != nil || n < 100 || n > 599 {
				t.Errorf("%s: response %q is not an HTTP status", name, code)
			} else if n < 300 {
				success = true
			}
		}
		if !success {
			t.Errorf("%s has no success response", name)
		}
		// Path parameters: each {name} of the path is declared, and only
		// those.
		_, path, _ := strings.Cut(name, " ")
		item := s.doc["paths"].(map[string]any)[path].(map[string]any)
		declared := map[string]bool{}
		for _, params := range []any{item["parameters"], op["parameters"]} {
			list, _ := params.([]any)
			for _, p := range list {
				pm := s.deref(t, p)
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
					if pm["required"] != true {
						t.Errorf("%s: path parameter %v must be required", name, pm["name"])
					}
				}
			}
		}
		inPath := map[string]bool{}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
			inPath[m[1]] = true
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", name, m[1])
			}
		}
		for p := range declared {
			if !inPath[p] {
				t.Errorf("%s declares path parameter %q, which its path does not have", name, p)
			}
		}
	}

	// Every $ref resolves, and every component is referenced.
	used := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, found := s.resolve(ref); !found {
					t.Errorf("$ref %q does not resolve", ref)
				}
				used[ref] = true
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(s.doc)
	for kind, comps := range s.doc["components"].(map[string]any) {
		if kind == "securitySchemes" {
			continue
		}
		for name := range comps.(map[string]any) {
			if ref := "#" + pointer("components", kind, name); !used[ref] {
				t.Errorf("component %s is never referenced: use it or remove it", ref)
			}
		}
	}
}

// TestOpenAPIExamples validates every example of the document against its
// schema: those of request and response bodies (each data: line of an
// events stream against Event), of parameters and headers, and the
// examples keyword of schemas. Every JSON body has at least one example.
func TestOpenAPIExamples(t *testing.T) {
	s := loadSpec(t)
	checked := 0
	check := func(where, schemaPtr string, v any) {
		t.Helper()
		checked++
		if err := s.schema(t, schemaPtr).Validate(v); err != nil {
			t.Errorf("the example %s does not validate against its schema:\n%v", where, err)
		}
	}
	// examplesOf returns the examples of a media type, parameter or header.
	examplesOf := func(obj map[string]any) map[string]any {
		out := map[string]any{}
		if v, ok := obj["example"]; ok {
			out["example"] = v
		}
		exs, _ := obj["examples"].(map[string]any)
		for name, e := range exs {
			em := s.deref(t, e)
			if v, ok := em["value"]; ok {
				out[name] = v
			} else {
				t.Errorf("example %s has no value", name)
			}
		}
		return out
	}
	checkContent := func(where string, ptr []string, content map[string]any) {
		for mt, media := range content {
			mm := media.(map[string]any)
			at := append(slices.Clone(ptr), "content", mt)
			if _, ok := mm["schema"]; !ok {
				t.Errorf("%s %s has no schema", where, mt)
				continue
			}
			exs := examplesOf(mm)
			if len(exs) == 0 {
				t.Errorf("%s %s has no example", where, mt)
			}
			for name, v := range exs {
				check(fmt.Sprintf("%q of %s %s", name, where, mt), pointer(append(at, "schema")...), v)
				if mt == "text/event-stream" {
					// x-sse-data is the schema of each event's data: line.
					ref, _ := mm["x-sse-data"].(map[string]any)["$ref"].(string)
					if ref == "" {
						t.Errorf("%s %s has no x-sse-data schema", where, mt)
						continue
					}
					checkEventStream(t, s, fmt.Sprintf("%q of %s", name, where), strings.TrimPrefix(ref, "#"), v, &checked)
				}
			}
		}
	}
	checkParams := func(where string, ptr []string, params []any) {
		for i, p := range params {
			pm := s.deref(t, p)
			at := append(slices.Clone(ptr), strconv.Itoa(i))
			if ref, ok := p.(map[string]any)["$ref"].(string); ok {
				at = strings.Split(strings.TrimPrefix(ref, "#/"), "/")
			}
			for name, v := range examplesOf(pm) {
				check(fmt.Sprintf("%s of parameter %v of %s", name, pm["name"], where), pointer(append(at, "schema")...), v)
			}
		}
	}

	paths := s.doc["paths"].(map[string]any)
	for path, item := range paths {
		im := item.(map[string]any)
		if params, ok := im["parameters"].([]any); ok {
			checkParams(path, []string{"paths", path, "parameters"}, params)
		}
		for _, m := range httpMethods {
			op, ok := im[m].(map[string]any)
			if !ok {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			base := []string{"paths", path, m}
			if params, ok := op["parameters"].([]any); ok {
				checkParams(where, append(slices.Clone(base), "parameters"), params)
			}
			if body, ok := op["requestBody"].(map[string]any); ok {
				checkContent("the request of "+where, append(slices.Clone(base), "requestBody"), body["content"].(map[string]any))
			}
			for code, r := range op["responses"].(map[string]any) {
				rm := r.(map[string]any)
				if _, isRef := rm["$ref"]; isRef {
					continue // checked with the components
				}
				if content, ok := rm["content"].(map[string]any); ok {
					checkContent(code+" of "+where, append(slices.Clone(base), "responses", code), content)
				} else if code != "204" {
					t.Errorf("%s %s has no content", code, where)
				}
			}
		}
	}
	comps := s.doc["components"].(map[string]any)
	for name, r := range comps["responses"].(map[string]any) {
		checkContent("response "+name, []string{"components", "responses", name}, r.(map[string]any)["content"].(map[string]any))
	}
	for name, h := range comps["headers"].(map[string]any) {
		for exName, v := range examplesOf(h.(map[string]any)) {
			check(exName+" of header "+name, pointer("components", "headers", name, "schema"), v)
		}
	}
	// The examples keyword of schemas, at any depth.
	var walk func(ptr []string, v any)
	walk = func(ptr []string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if exs, ok := v["examples"].([]any); ok {
				for i, ex := range exs {
					check(fmt.Sprintf("%d of %s", i, pointer(ptr...)), pointer(ptr...), ex)
				}
			}
			for k, x := range v {
				walk(append(slices.Clone(ptr), k), x)
			}
		case []any:
			for i, x := range v {
				walk(append(slices.Clone(ptr), strconv.Itoa(i)), x)
			}
		}
	}
	walk([]string{"components", "schemas"}, comps["schemas"])
	if checked < 40 {
		t.Errorf("checked only %d examples", checked)
	}
}

// checkEventStream validates each event of an example events stream: its
// data: line against the schema at dataPtr, and the id: and event: fields
// against the id and type its data repeats.
func checkEventStream(t *testing.T, s *spec, where, dataPtr string, v any, checked *int) {
	t.Helper()
	text, ok := v.(string)
	if !ok {
		t.Errorf("%s: an events stream example must be a string", where)
		return
	}
	frames, err := parseSSE(text)
	if err != nil {
		t.Errorf("%s: %v", where, err)
	}
	events := 0
	for _, f := range frames {
		if f.Data == "" {
			continue
		}
		events++
		*checked++
		data, err := jsonschema.UnmarshalJSON(strings.NewReader(f.Data))
		if err != nil {
			t.Errorf("%s: data %q is not JSON: %v", where, f.Data, err)
			continue
		}
		if err := s.schema(t, dataPtr).Validate(data); err != nil {
			t.Errorf("%s: event %s does not validate against %s:\n%v", where, f.ID, dataPtr, err)
		}
		m := data.(map[string]any)
		if fmt.Sprint(m["id"]) != f.ID || m["type"] != f.Event {
			t.Errorf("%s: frame id %q event %q, but its data says %v %v", where, f.ID, f.Event, m["id"], m["type"])
		}
	}
	if events == 0 {
		t.Errorf("%s has no event", where)
	}
}

// parseSSE splits a Server-Sent Events text into its messages; a message
// without an ending blank line is an error.
func parseSSE(text string) ([]sseFrame, error) {
	var (
		frames []sseFrame
		f      sseFrame
		open   bool
	)
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			frames, f, open = append(frames, f), sseFrame{}, false
			continue
		}
		open = true
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			f.Comment = value
		case "id":
			f.ID, f.HasID = value, true
		case "event":
			f.Event = value
		case "data":
			f.Data = value
		default:
			return frames, fmt.Errorf("unknown field in line %q", line)
		}
	}
	if open {
		return frames, fmt.Errorf("the last message does not end with a blank line")
	}
	return frames, nil
}

// TestOpenAPIResponses sends requests to the real handlers (on the test
// fakes) and validates each answer against the response the spec gives for
// its route and status: the schema of its media type, and the headers the
// spec declares. The spec's own request examples are among the requests,
// so the server must accept what the spec shows.
func TestOpenAPIResponses(t *testing.T) {
	s := loadSpec(t)
	e := newTestEnv(t, func(c *Config) { c.ChildJobs = true })
	body := func(name string) string {
		v, ok := s.resolve("#/components/examples/" + name + "/value")
		if !ok {
			t.Fatalf("no example %s", name)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	created := e.createJob(body("CreateJob"))
	batch := e.createJob(body("CreateBatchJob"))
	// Give the batch job a status with every field set, as the controller
	// would.
	j := e.store.get(batch.ID)
	started, finished := testNow.Add(time.Second), testNow.Add(3*time.Second)
	j.Status = jobs.Status{Phase: jobs.PhaseRunning, Reason: jobs.ReasonBackoff, Message: "indexes [2] wait for their backoff",
		StartedAt: &started, Active: 1, Succeeded: 1, Failed: 1, CompletedIndexes: "0", FailedIndexes: "3",
		Conditions: []jobs.Condition{{Type: "Suspended", Status: false, Reason: "Resumed", Time: started}},
		Attempts: []jobs.Attempt{
			{Index: 0, Attempt: 0, Service: "swarmjob-x-0-0", Task: "t0", Node: "vm", State: jobs.AttemptSucceeded, ExitCode: ptrTo(0),
				Reason: jobs.AttemptReasonCompleted, StartedAt: &started, FinishedAt: &finished, LogBytes: 10},
			{Index: 1, Attempt: 0, Service: "swarmjob-x-1-0", State: "running", StartedAt: &started},
			{Index: 2, Attempt: 0, Service: "swarmjob-x-2-0", State: jobs.AttemptFailed, ExitCode: ptrTo(7), Error: "task: non-zero exit (7)",
				Reason: jobs.AttemptReasonFailed, StartedAt: &started, FinishedAt: &finished, LogBytes: 1 << 20, Truncated: true},
			{Index: 3, Attempt: 0, Service: "swarmjob-x-3-0", State: jobs.AttemptStopped, Error: "stopped: job suspended",
				Reason: jobs.AttemptReasonSuspended, FinishedAt: &finished},
		}}
	e.store.put(j)
	done := e.store.get(created.ID)
	done.Status = jobs.Status{Phase: jobs.PhaseSucceeded, Reason: jobs.ReasonCompleted, StartedAt: &started, FinishedAt: &finished, Succeeded: 1,
		Conditions: []jobs.Condition{{Type: "Complete", Status: true, Reason: jobs.ReasonCompleted, Time: finished}}}
	e.store.put(done)
	child := e.store.get(created.ID)
	child.ID, child.ParentID, child.Depth = "child-1", batch.ID, 1
	e.store.put(child)

	tests := []struct {
		method, target, body string
		hdr                  []string
		status               int
	}{
		{"POST", "/v1/jobs", body("CreateBatchJob"), []string{"Idempotency-Key", "k1"}, 201},
		{"POST", "/v1/jobs", body("CreateBatchJob"), []string{"Idempotency-Key", "k1"}, 200},
		{"POST", "/v1/jobs", body("CreateJob"), []string{"Idempotency-Key", "k1"}, 409},
		{"POST", "/v1/jobs", `{"image":"busybox","foo":1}`, nil, 400},
		{"POST", "/v1/jobs", `{"image":"busybox"}`, []string{"Content-Type", "text/plain"}, 415},
		{"POST", "/v1/jobs", `{"image":"busybox"}`, []string{"Authorization", "Bearer nope"}, 401},
		{"GET", "/v1/jobs", "", nil, 200},
		{"GET", "/v1/jobs?limit=1&order=asc&label=team%3Ddata", "", nil, 200},
		{"GET", "/v1/jobs?limit=0", "", nil, 400},
		{"GET", "/v1/jobs/" + batch.ID, "", nil, 200},
		{"GET", "/v1/jobs/" + created.ID, "", nil, 200},
		{"GET", "/v1/jobs/nope", "", nil, 404},
		{"GET", "/v1/jobs/child-1", "", nil, 200},
		{"GET", "/v1/jobs?parent=" + batch.ID, "", nil, 200},
		{"POST", "/v1/jobs", `{"image":"busybox","childJobs":{"maxDepth":1,"maxChildren":3}}`, nil, 201},
		{"GET", "/v1/jobs/" + batch.ID + "/results", "", nil, 200},
		{"GET", "/v1/jobs/" + created.ID + "/results", "", nil, 200},
		{"GET", "/v1/jobs/" + created.ID + "/wait?timeout=0", "", nil, 200},
		{"GET", "/v1/jobs/" + batch.ID + "/wait?timeout=1ms", "", nil, 200},
		{"GET", "/v1/jobs/" + batch.ID + "/wait?timeout=30", "", nil, 400},
		{"GET", "/v1/jobs/" + created.ID + "/logs", "", nil, 200},
		{"GET", "/v1/jobs/" + batch.ID + "/logs?index=9", "", nil, 404},
		{"PATCH", "/v1/jobs/" + batch.ID, body("Patch"), nil, 200},
		{"PATCH", "/v1/jobs/" + created.ID, body("Patch"), nil, 409},
		{"POST", "/v1/jobs/" + batch.ID + "/suspend", "", nil, 202},
		{"POST", "/v1/jobs/" + batch.ID + "/resume", "", nil, 202},
		{"POST", "/v1/jobs/" + created.ID + "/suspend", "", nil, 409},
		{"POST", "/v1/jobs/" + batch.ID + "/cancel", "", nil, 202},
		{"POST", "/v1/tokens", body("CreateToken"), nil, 201},
		{"GET", "/v1/tokens", "", nil, 200},
		{"DELETE", "/v1/tokens/0123456789abcdef", "", nil, 404},
		{"DELETE", "/v1/jobs/" + batch.ID, "", nil, 204},
		{"GET", "/v1/events", "", nil, 503}, // this server keeps no events
		{"GET", "/v1/policy", "", nil, 200},
		{"PUT", "/v1/policy", body("SetPolicy"), nil, 200},
		{"GET", "/v1/policy", "", nil, 200},
		{"PUT", "/v1/policy", `{"defaults":{"maxCpus":-1}}`, nil, 400},
		{"GET", "/v1/policy/tenants/team-a", "", nil, 200},
		{"GET", "/v1/policy/tenants/A_B", "", nil, 400},
		{"PUT", "/v1/policy", `{}`, nil, 200},
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/metrics", "", nil, 404}, // this server has no metrics
		{"GET", "/readyz", "", nil, 200},
		{"GET", "/v1/openapi.json", "", nil, 200},
	}
	specMux := s.mux()
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %d", tt.method, tt.target, tt.status), func(t *testing.T) {
			hdr := tt.hdr
			if tt.body != "" && !slices.Contains(hdr, "Content-Type") {
				hdr = append(hdr, "Content-Type", "application/json")
			}
			rec := e.do(tt.method, tt.target, tt.body, hdr...)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			op := s.checkResponse(t, specMux, tt.method, tt.target, rec)
			seen[op] = true
		})
	}
	// The openapi.json route serves the spec as built in.
	if rec := e.do("GET", "/v1/openapi.json", ""); !bytes.Equal(rec.Body.Bytes(), openAPISpec) {
		t.Error("GET /v1/openapi.json does not serve openapi.json")
	}
	// Events: real frames of a stream, against Event.
	ev := newEventsEnv(t)
	st := ev.open("?since=0")
	ev.createJob(body("CreateJob"))
	ev.rec.Record(context.Background(), jobs.Event{Time: testNow, Type: jobs.EventAttemptFinished, JobID: "job-1", Tenant: "default",
		Labels: map[string]string{"team": "data"}, Reason: jobs.AttemptReasonFailed, Index: 0, Attempt: 1, State: jobs.AttemptFailed,
		ExitCode: ptrTo(3), Message: "task: non-zero exit (3)"})
	ev.rec.Record(context.Background(), jobs.Event{Time: testNow, Type: jobs.EventJobDeleted, JobID: "job-1", Reason: "Expired"})
	if st.resp.StatusCode != http.StatusOK || !strings.HasPrefix(st.resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /v1/events: %d %s", st.resp.StatusCode, st.resp.Header.Get("Content-Type"))
	}
	eventSchema := s.schema(t, "/components/schemas/Event")
	for range 3 {
		f, _ := st.nextEvent()
		data, err := jsonschema.UnmarshalJSON(strings.NewReader(f.Data))
		if err != nil {
			t.Fatal(err)
		}
		if err := eventSchema.Validate(data); err != nil {
			t.Errorf("event %s does not validate against Event:\n%v\n%s", f.ID, err, f.Data)
		}
	}
	seen["GET /v1/events"] = true

	// Every operation was tried at least once.
	var missed []string
	for op := range s.operations() {
		if !seen[op] {
			missed = append(missed, op)
		}
	}
	sort.Strings(missed)
	if len(missed) > 0 {
		t.Errorf("no response of %v was checked against the spec; add a request to TestOpenAPIResponses", missed)
	}
}

// mux routes requests to the spec's operations, as the server's mux does.
func (s *spec) mux() *http.ServeMux {
	m := http.NewServeMux()
	for op := range s.operations() {
		m.HandleFunc(op, func(http.ResponseWriter, *http.Request) {})
	}
	return m
}

// checkResponse validates rec, the answer to method target, against the
// spec, and returns the operation ("METHOD /path") it belongs to.
func (s *spec) checkResponse(t *testing.T, specMux *http.ServeMux, method, target string, rec *httptest.ResponseRecorder) string {
	t.Helper()
	_, pattern := specMux.Handler(httptest.NewRequest(method, target, nil))
	op, ok := s.operations()[pattern]
	if !ok {
		t.Fatalf("%s %s matches no operation of the spec", method, target)
	}
	_, path, _ := strings.Cut(pattern, " ")
	code := strconv.Itoa(rec.Code)
	r, ok := op["responses"].(map[string]any)[code]
	if !ok {
		t.Fatalf("the spec gives %s no response %s", pattern, code)
	}
	ptr := []string{"paths", path, strings.ToLower(method), "responses", code}
	if ref, ok := r.(map[string]any)["$ref"].(string); ok {
		ptr = strings.Split(strings.TrimPrefix(ref, "#/"), "/")
	}
	resp := s.deref(t, r)
	headers, _ := resp["headers"].(map[string]any)
	for name, h := range headers {
		got := rec.Header().Get(name)
		if got == "" {
			t.Errorf("%s %d: header %s is missing", pattern, rec.Code, name)
			continue
		}
		hm := s.deref(t, h)
		sch := hm["schema"].(map[string]any)
		var v any = got
		if sch["type"] == "integer" {
			v = json.Number(got)
		}
		hptr := append(slices.Clone(ptr), "headers", name, "schema")
		if ref, ok := h.(map[string]any)["$ref"].(string); ok {
			hptr = append(strings.Split(strings.TrimPrefix(ref, "#/"), "/"), "schema")
		}
		if err := s.schema(t, pointer(hptr...)).Validate(v); err != nil {
			t.Errorf("%s %d: header %s: %q does not validate:\n%v", pattern, rec.Code, name, got, err)
		}
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if rec.Body.Len() > 0 {
			t.Errorf("%s %d: the spec says no body, got %s", pattern, rec.Code, rec.Body)
		}
		return pattern
	}
	ct := rec.Header().Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("%s %d: Content-Type %q: %v", pattern, rec.Code, ct, err)
	}
	key := ct
	if _, ok := content[key]; !ok {
		key = mt
	}
	if _, ok := content[key]; !ok {
		t.Fatalf("%s %d: Content-Type %q is not one the spec gives (%v)", pattern, rec.Code, ct, content)
	}
	sch := s.schema(t, pointer(append(ptr, "content", key, "schema")...))
	var v any = rec.Body.String()
	if mt == "application/json" {
		if v, err = jsonschema.UnmarshalJSON(bytes.NewReader(rec.Body.Bytes())); err != nil {
			t.Fatalf("%s %d: the body is not JSON: %v", pattern, rec.Code, err)
		}
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s %d: the body does not validate against the spec:\n%v\nbody: %s", pattern, rec.Code, err, rec.Body)
	}
	return pattern
}
