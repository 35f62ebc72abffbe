package jobs

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in      string
		want    Selector
		wantErr string // substring of the message; "" for valid
	}{
		{in: "", want: nil},
		{in: "   ", want: nil},
		{in: "team=a", want: Selector{{Key: "team", Op: SelectEquals, Value: "a"}}},
		{in: "team==a", want: Selector{{Key: "team", Op: SelectEquals, Value: "a"}}},
		{in: "team!=a", want: Selector{{Key: "team", Op: SelectNotEquals, Value: "a"}}},
		{in: "team", want: Selector{{Key: "team", Op: SelectExists}}},
		{in: "!team", want: Selector{{Key: "team", Op: SelectNotExists}}},
		{in: "team=", want: Selector{{Key: "team", Op: SelectEquals, Value: ""}}},
		{in: "team!=", want: Selector{{Key: "team", Op: SelectNotEquals, Value: ""}}},
		{in: "k=v,k2!=v", want: Selector{{Key: "k", Op: SelectEquals, Value: "v"}, {Key: "k2", Op: SelectNotEquals, Value: "v"}}},
		{in: " a = 1 , b != 2 , c , ! d ", want: Selector{
			{Key: "a", Op: SelectEquals, Value: "1"}, {Key: "b", Op: SelectNotEquals, Value: "2"},
			{Key: "c", Op: SelectExists}, {Key: "d", Op: SelectNotExists},
		}},
		{in: "team=x=y", want: Selector{{Key: "team", Op: SelectEquals, Value: "x=y"}}},
		{in: "team===x", want: Selector{{Key: "team", Op: SelectEquals, Value: "=x"}}},
		{in: "team!==x", want: Selector{{Key: "team", Op: SelectNotEquals, Value: "=x"}}},
		{in: "team=a!=b", want: Selector{{Key: "team", Op: SelectEquals, Value: "a!=b"}}},
		{in: "team=a b", want: Selector{{Key: "team", Op: SelectEquals, Value: "a b"}}},
		{in: "example.com/tier=gold", want: Selector{{Key: "example.com/tier", Op: SelectEquals, Value: "gold"}}},
		{in: "a=1,a=1", want: Selector{{Key: "a", Op: SelectEquals, Value: "1"}, {Key: "a", Op: SelectEquals, Value: "1"}}},
		{in: "a=1,a!=1", want: Selector{{Key: "a", Op: SelectEquals, Value: "1"}, {Key: "a", Op: SelectNotEquals, Value: "1"}}},

		{in: "a=1,a=2", wantErr: `key "a" is given with two values, "1" and "2"`},
		{in: "=x", wantErr: `requirement "=x": key is empty`},
		{in: "!=x", wantErr: `requirement "!=x": key is empty`},
		{in: "!", wantErr: `requirement "!": key is empty`},
		{in: "a=1,", wantErr: "empty requirement"},
		{in: ",a=1", wantErr: "empty requirement"},
		{in: "a=1,,b=2", wantErr: "empty requirement"},
		{in: "a!b", wantErr: `requirement "a!b": '!' must start the requirement`},
		{in: "team x=1", wantErr: `key "team x" must be`},
		{in: "-team=1", wantErr: `key "-team" must be`},
		{in: "env in (a,b)", wantErr: `key "env in (a" must be`},
		{in: "a=b\x01", wantErr: "value must be at most 256 printable characters"},
		{in: "a=" + strings.Repeat("v", MaxLabelValueLen+1), wantErr: "value must be at most"},
		{in: strings.Repeat("k", MaxLabelKeyLen+1), wantErr: "must be 1-253 characters"},
		{in: strings.Repeat("a,", MaxSelectorRequirements) + "a", wantErr: "at most 32 requirements"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSelector(tt.in)
			if tt.wantErr != "" {
				if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.wantErr) {
					t.Fatalf("ParseSelector(%q) = %v, %v; want EINVALID containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSelector(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSelector(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSelectorMatches(t *testing.T) {
	labels := map[string]string{"team": "a", "env": "prod", "empty": ""}
	tests := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"team=a", true},
		{"team=b", false},
		{"team!=b", true},
		{"team!=a", false},
		{"owner!=a", true}, // absent counts as not equal, as in Kubernetes
		{"owner=a", false},
		{"team", true},
		{"owner", false},
		{"!owner", true},
		{"!team", false},
		{"empty=", true},
		{"empty", true},
		{"empty!=", false},
		{"owner=", false}, // an empty value does not match an absent label
		{"team=a,env=prod", true},
		{"team=a,env=dev", false},
		{"team=a,env!=dev,!owner", true},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := ParseSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Matches(labels); got != tt.want {
				t.Errorf("%q matches %v = %v, want %v", tt.sel, labels, got, tt.want)
			}
		})
	}
	if !Selector(nil).Matches(nil) {
		t.Error("the empty selector must match a job without labels")
	}
}

func TestSelectorString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{" a = 1 , b != 2 , c , ! d ", "a=1,b!=2,c,!d"},
		{"a==1", "a=1"},
		{"a===1", "a===1"}, // the value "=1" needs "==" to survive
		{"a!==1", "a!==1"},
	}
	for _, tt := range tests {
		sel, err := ParseSelector(tt.in)
		if err != nil {
			t.Fatalf("ParseSelector(%q): %v", tt.in, err)
		}
		if got := sel.String(); got != tt.want {
			t.Errorf("ParseSelector(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseSelector checks that ParseSelector never panics, that what it
// accepts prints back to a selector that parses to the same requirements,
// and that matching never panics.
func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{
		"", "a=1", "a==1", "a!=1", "a", "!a", "a=1,b!=2,c,!d", " a = 1 ", "a=x=y", "a===x", "a!==x",
		"a=1,a=2", "=x", "a!b", "a,,b", "env in (a,b)", "a=\x00", "k=\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("ParseSelector(%q) error %v is not EINVALID", s, err)
			}
			return
		}
		again, err := ParseSelector(sel.String())
		if err != nil {
			t.Fatalf("ParseSelector(%q).String() = %q does not parse: %v", s, sel.String(), err)
		}
		if len(sel) == 0 {
			sel = nil
		}
		if diff := cmp.Diff(sel, again); diff != "" {
			t.Fatalf("round trip of %q through %q (-first +second):\n%s", s, sel.String(), diff)
		}
		labels := map[string]string{}
		for _, r := range sel {
			labels[r.Key] = r.Value
		}
		sel.Matches(labels)
		sel.Matches(nil)
	})
}
