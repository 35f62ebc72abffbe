// Package jsonfield explains the unknown fields that a strict JSON decoder
// (encoding/json with DisallowUnknownFields) refuses: it finds where the
// field is in the document and which known field it probably misspells, as
// encoding/json names the key only. The API's request decoder and the policy
// file parser use it, so that both speak alike.
package jsonfield

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// UnknownName returns the field of encoding/json's error for an unknown
// field (`json: unknown field "x"`), and false for any other error.
func UnknownName(err error) (string, bool) {
	var name string
	if err == nil {
		return "", false
	}
	if _, scanErr := fmt.Sscanf(err.Error(), "json: unknown field %q", &name); scanErr != nil {
		return "", false
	}
	return name, true
}

// ExplainUnknown says where the unknown field name is in the JSON document
// raw, which was decoded into a value of type t, and, when a known field
// there is spelled alike, which one was probably meant:
// `resources.limits: unknown field "memory"; did you mean "memoryBytes"?`.
// Without a document it can read, it says `unknown field "name"`.
func ExplainUnknown(raw []byte, t reflect.Type, name string) string {
	var doc any
	path, known, found := "", []string(nil), false
	if json.Unmarshal(raw, &doc) == nil {
		path, known, found = findUnknown(doc, t, "", name)
	}
	msg := fmt.Sprintf("unknown field %q", name)
	if found && path != "" {
		msg = path + ": " + msg
	}
	if s := closest(name, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg
}

// findUnknown walks v, decoded from JSON, along the Go type t, and returns
// the path of the first object (in key order) that holds the unknown key
// name, with the field names that object may hold.
func findUnknown(v any, t reflect.Type, path, name string) (string, []string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return "", nil, false
		}
		fields := jsonFields(t)
		names := make([]string, 0, len(fields))
		for _, f := range fields {
			names = append(names, f.name)
		}
		keys := slices.Sorted(maps.Keys(obj))
		for _, k := range keys {
			if _, ok := fieldNamed(fields, k); !ok && k == name {
				return path, names, true
			}
		}
		for _, k := range keys {
			if f, ok := fieldNamed(fields, k); ok {
				if p, n, found := findUnknown(obj[k], f.typ, joinPath(path, f.name), name); found {
					return p, n, true
				}
			}
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if p, n, found := findUnknown(obj[k], t.Elem(), joinPath(path, k), name); found {
				return p, n, true
			}
		}
	case reflect.Slice, reflect.Array:
		arr, _ := v.([]any)
		for i, e := range arr {
			if p, n, found := findUnknown(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), name); found {
				return p, n, true
			}
		}
	}
	return "", nil, false
}

type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the JSON fields of struct type t, promoted ones
// included, as encoding/json sees them.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch tag {
		case "-":
			continue
		case "":
			tag = f.Name
		}
		out = append(out, jsonField{name: tag, typ: f.Type})
	}
	return out
}

// fieldNamed finds the field key names, as encoding/json does: an exact
// match first, else one that differs in case only.
func fieldNamed(fields []jsonField, key string) (jsonField, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return jsonField{}, false
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// closest returns the name of known that name most likely misspells: one
// within an edit distance of a third of its length (at least 1, at most
// 3), or one that starts with name or that name starts with; "" when none.
func closest(name string, known []string) string {
	best, bestDist := "", 0
	lower := strings.ToLower(name)
	for _, k := range known {
		kl := strings.ToLower(k)
		d := editDistance(lower, kl)
		limit := min(3, max(1, len(k)/3))
		if d > limit && !(len(lower) >= 3 && (strings.HasPrefix(kl, lower) || strings.HasPrefix(lower, kl))) {
			continue
		}
		if best == "" || d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// TypeName says in words which JSON value a Go type takes.
func TypeName(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("an integer (%d-bit)", t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a non-negative integer (%d-bit)", t.Bits())
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}
