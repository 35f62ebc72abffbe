package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/internal/jsonfield"
	"github.com/swarmjob/swarmjob/jobs"
)

// createJob is a decoded, converted, defaulted and validated body of
// POST /v1/jobs.
type createJob struct {
	Name   string
	Labels map[string]string
	Spec   jobs.Spec
}

// decodeCreateJob reads one types.CreateJobRequest from body and turns it
// into a valid createJob. Every problem of the input is a *jobs.Error whose
// message names the offending field: EINVALID, or ETOOLARGE when body is an
// http.MaxBytesReader that hit its limit. It never panics, whatever body
// holds (FuzzDecodeCreateJob).
func decodeCreateJob(body io.Reader) (createJob, error) {
	req, err := DecodeJobRequest(body)
	if err != nil {
		return createJob{}, err
	}
	spec, err := specFromWire(req.JobSpec)
	if err != nil {
		return createJob{}, err
	}
	spec.Defaults()
	if err := jobs.Validate(req.Name, req.Labels, spec); err != nil {
		return createJob{}, err
	}
	return createJob{Name: req.Name, Labels: req.Labels, Spec: spec}, nil
}

// DecodeJobRequest reads one types.CreateJobRequest from r as strictly as
// POST /v1/jobs does (unknown fields and trailing data are rejected), but
// neither converts nor validates it: the server does that. It is exported
// for clients of the same binary that read job files, so that their
// messages match the server's. Errors are *jobs.Error values (EINVALID, or
// ETOOLARGE when r is an http.MaxBytesReader that hit its limit) whose
// message names the field or the byte offset of the problem.
func DecodeJobRequest(r io.Reader) (types.CreateJobRequest, error) {
	var req types.CreateJobRequest
	if err := decodeJSON(r, &req); err != nil {
		return types.CreateJobRequest{}, err
	}
	return req, nil
}

// decodeJobPatch reads one types.JobPatch from body, strictly, and returns
// the domain patch it asks for. parallelism is required and checked with
// jobs.ValidateParallelism. Errors are as decodeCreateJob's.
func decodeJobPatch(body io.Reader) (jobs.SpecPatch, error) {
	var p types.JobPatch
	if err := decodeJSON(body, &p); err != nil {
		return jobs.SpecPatch{}, err
	}
	if p.Parallelism == nil {
		return jobs.SpecPatch{}, jobs.Errorf(jobs.EINVALID, "parallelism: is required; it is the one field PATCH changes")
	}
	if err := jobs.ValidateParallelism(*p.Parallelism); err != nil {
		return jobs.SpecPatch{}, err
	}
	return jobs.SpecPatch{Parallelism: clonePtr(p.Parallelism)}, nil
}

// decodeJSON decodes exactly one JSON object from body into v, rejecting
// unknown fields and anything but white space after the object. The body
// is read whole first (the caller's limit bounds it), so that an error can
// be placed in it and an unknown field located.
func decodeJSON(body io.Reader, v any) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		return decodeError(err, int64(len(raw)))
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		// Decoding null into a struct is no error, and changes nothing.
		return jobs.Errorf(jobs.EINVALID, "request body: must be a JSON object, got null")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := jsonfield.UnknownName(err); ok {
			return jobs.Errorf(jobs.EINVALID, "%s", jsonfield.ExplainUnknown(raw, reflect.TypeOf(v), name))
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			if key, got, ok := badMapValue(raw, wireFieldPath(typeErr.Field)); ok {
				return jobs.Errorf(jobs.EINVALID, "%s.%s: must be %s, got %s", wireFieldPath(typeErr.Field), key, jsonfield.TypeName(typeErr.Type), got)
			}
		}
		return decodeError(err, int64(len(raw)))
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return jobs.Errorf(jobs.EINVALID, "request body: unexpected data after the JSON object at byte offset %d", end)
	}
	return nil
}

// decodeError turns an error of json.Decoder.Decode into a *jobs.Error that
// names the field or the byte offset of the problem. read is the number of
// bytes read from the body when the error happened.
func decodeError(err error, read int64) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return jobs.Errorf(jobs.ETOOLARGE, "request body: must be at most %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return jobs.Errorf(jobs.EINVALID, "request body: is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return jobs.Errorf(jobs.EINVALID, "request body: malformed JSON: unexpected end of input at byte offset %d", read)
	case errors.As(err, &syntaxErr):
		return jobs.Errorf(jobs.EINVALID, "request body: malformed JSON at byte offset %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.As(err, &typeErr):
		field := wireFieldPath(typeErr.Field)
		if field == "" {
			return jobs.Errorf(jobs.EINVALID, "request body: must be a JSON object, got %s", typeErr.Value)
		}
		// encoding/json names a map or array field when one of its
		// values has the wrong type; say so.
		if ft := requestFieldType(field); ft != nil && typeErr.Type != nil && ft.Elem() == typeErr.Type {
			what := "element"
			if ft.Kind() == reflect.Map {
				what = "value"
			}
			return jobs.Errorf(jobs.EINVALID, "%s: each %s must be %s, got %s", field, what, jsonfield.TypeName(typeErr.Type), typeErr.Value)
		}
		return jobs.Errorf(jobs.EINVALID, "%s: must be %s, got %s", field, jsonfield.TypeName(typeErr.Type), typeErr.Value)
	}
	// Unknown fields are explained by decodeJSON (jsonfield).
	msg := strings.TrimPrefix(err.Error(), "json: ")
	// Anything else is a failure to read the body, such as a client that
	// hung up; it is still the request that is bad.
	return jobs.Errorf(jobs.EINVALID, "request body: %s", msg)
}

// wireFieldPath turns the Go-side path of json.UnmarshalTypeError.Field
// into the JSON path users wrote: encoding/json names a field promoted from
// an embedded struct with the struct's Go name in front ("JobSpec.image").
func wireFieldPath(field string) string {
	return strings.TrimPrefix(field, "JobSpec.")
}

// requestFieldType returns the type of the map or slice field at the JSON
// path (such as "placement.constraints") of types.CreateJobRequest, or nil
// when the path names no such field. encoding/json leaves array indexes out
// of its paths ("failurePolicy.rules.onReasons"), so a path steps through
// arrays of objects to their elements' fields.
func requestFieldType(path string) reflect.Type {
	t := reflect.TypeFor[types.CreateJobRequest]()
	for name := range strings.SplitSeq(path, ".") {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		found := false
		for _, f := range reflect.VisibleFields(t) {
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
				t, found = f.Type, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	if t.Kind() != reflect.Map && t.Kind() != reflect.Slice {
		return nil
	}
	return t
}

// checkJSONContentType accepts a request without Content-Type or with
// application/json (parameters such as charset allowed).
func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return jobs.Errorf(types.CodeUnsupported, "Content-Type: must be application/json, got %q", ct)
	}
	return nil
}

// badMapValue finds, in the JSON document raw, the first key (in key order)
// of the object at path (such as "env") whose value is not a string, and
// the JSON type of that value: the key encoding/json does not name when a
// map[string]string value has the wrong type. ok is false unless path names
// such an object.
func badMapValue(raw []byte, path string) (key, got string, ok bool) {
	if ft := requestFieldType(path); ft == nil || ft.Kind() != reflect.Map || ft.Elem().Kind() != reflect.String {
		return "", "", false
	}
	var doc any
	if json.Unmarshal(raw, &doc) != nil {
		return "", "", false
	}
	for name := range strings.SplitSeq(path, ".") {
		obj, isObj := doc.(map[string]any)
		if !isObj {
			return "", "", false
		}
		doc = obj[name]
	}
	obj, isObj := doc.(map[string]any)
	if !isObj {
		return "", "", false
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		switch obj[k].(type) {
		case string, nil:
		case bool:
			return k, "bool", true
		case float64:
			return k, "number", true
		case []any:
			return k, "array", true
		default:
			return k, "object", true
		}
	}
	return "", "", false
}
