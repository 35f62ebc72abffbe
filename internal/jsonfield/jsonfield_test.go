package jsonfield

import (
	"errors"
	"reflect"
	"testing"
)

type limits struct {
	CPUs        float64 `json:"cpus"`
	MemoryBytes int64   `json:"memoryBytes"`
}

type rule struct {
	Action      string `json:"action"`
	OnExitCodes []int  `json:"onExitCodes,omitempty"`
}

type embedded struct {
	Image   string   `json:"image"`
	Command []string `json:"command"`
}

type doc struct {
	embedded
	Name    string            `json:"name"`
	Limits  *limits           `json:"limits"`
	Rules   []rule            `json:"rules"`
	Tenants map[string]limits `json:"tenants"`
	Env     map[string]string `json:"env"`
	Skip    string            `json:"-"`
}

func TestExplainUnknown(t *testing.T) {
	typ := reflect.TypeFor[doc]()
	for _, tt := range []struct {
		name, raw, field, want string
	}{
		{"top level, misspelled", `{"comand":["x"]}`, "comand", `unknown field "comand"; did you mean "command"?`},
		{"top level, nothing alike", `{"restartPolicy":"x"}`, "restartPolicy", `unknown field "restartPolicy"`},
		{"promoted field matched case-insensitively", `{"IMAGE":"x","imag":1}`, "imag", `unknown field "imag"; did you mean "image"?`},
		{"nested through a pointer", `{"limits":{"memory":5}}`, "memory", `limits: unknown field "memory"; did you mean "memoryBytes"?`},
		{"in an array element", `{"rules":[{"action":"a"},{"onExitCode":[1]}]}`, "onExitCode", `rules[1]: unknown field "onExitCode"; did you mean "onExitCodes"?`},
		{"in a map of structs", `{"tenants":{"a":{"cpus":1},"b":{"cpu":2}}}`, "cpu", `tenants.b: unknown field "cpu"; did you mean "cpus"?`},
		{"a key of a plain map is no field", `{"env":{"cpu":"1"},"limits":{"cpu":1}}`, "cpu", `limits: unknown field "cpu"; did you mean "cpus"?`},
		{"a field tagged - is unknown", `{"Skip":"x"}`, "Skip", `unknown field "Skip"`},
		{"unreadable document", `{`, "x", `unknown field "x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExplainUnknown([]byte(tt.raw), typ, tt.field); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	known := []string{"completions", "parallelism", "command", "args"}
	for name, want := range map[string]string{
		"completion": "completions", "paralelism": "parallelism", "cmd": "", "arg": "args", "Command": "command", "zzz": "",
	} {
		if got := closest(name, known); got != want {
			t.Errorf("closest(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestUnknownName(t *testing.T) {
	for err, want := range map[error]string{
		errors.New(`json: unknown field "comand"`):  "comand",
		errors.New(`json: cannot unmarshal string`): "",
		nil: "",
	} {
		if got, ok := UnknownName(err); got != want || ok != (want != "") {
			t.Errorf("UnknownName(%v) = %q, %v", err, got, ok)
		}
	}
}
