package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// memStore is a Store in memory; fail makes SetPolicyDocument fail.
type memStore struct {
	doc   []byte
	setAt time.Time
	fail  bool
}

func (m *memStore) PolicyDocument(context.Context) ([]byte, time.Time, bool, error) {
	return m.doc, m.setAt, m.doc != nil, nil
}

func (m *memStore) SetPolicyDocument(_ context.Context, doc []byte, setAt time.Time) error {
	if m.fail {
		return errors.New("disk full")
	}
	m.doc, m.setAt = doc, setAt
	return nil
}

func TestKeeperReplaceIsKeptAcrossRestarts(t *testing.T) {
	store := &memStore{}
	var changes []Source
	k, err := NewKeeper(t.Context(), KeeperConfig{Store: store, OnChange: func(st State) { changes = append(changes, st.Source) }})
	if err != nil {
		t.Fatal(err)
	}
	if st := k.State(); st.Source != SourceDefault || !reflect.DeepEqual(st.Policy.File(), Default().File()) {
		t.Fatalf("a new store: %+v", st)
	}
	// An empty list allows nothing: it must survive the store, where an
	// unset list (any image) would not be the same policy at all.
	f := File{
		Defaults: Rules{AllowedImages: []string{}, MaxParallelism: new(3)},
		Tenants:  map[string]Rules{"a": {AllowedImages: []string{"registry.example.com/*"}, MaxActiveAttempts: new(2)}},
	}
	st, err := k.Replace(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if st.Source != SourceAPI || !reflect.DeepEqual(k.Policy().File(), f) {
		t.Fatalf("after Replace: %+v, %+v", st, k.Policy().File())
	}
	if !reflect.DeepEqual(changes, []Source{SourceAPI}) {
		t.Errorf("OnChange calls: %v", changes)
	}
	if k.Policy().ActiveAttemptLimit("a") != 2 {
		t.Errorf("the new policy is not in force")
	}

	restarted, err := NewKeeper(t.Context(), KeeperConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	got := restarted.State()
	if got.Source != SourceAPI || !got.Since.Equal(st.Since) || !reflect.DeepEqual(got.Policy.File(), f) {
		t.Fatalf("after a restart: %+v %+v, want %+v", got, got.Policy.File(), f)
	}
	if got.Policy.For("b").AllowedImages == nil || len(got.Policy.For("b").AllowedImages) != 0 {
		t.Errorf("the empty allowedImages became %v after a restart", got.Policy.For("b").AllowedImages)
	}
}

func TestKeeperKeepsThePolicyInForceOnErrors(t *testing.T) {
	store := &memStore{}
	k, err := NewKeeper(t.Context(), KeeperConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	good := File{Defaults: Rules{MaxCPUs: new(2.0)}}
	if _, err := k.Replace(t.Context(), good); err != nil {
		t.Fatal(err)
	}
	var invalid *InvalidError
	if _, err := k.Replace(t.Context(), File{Defaults: Rules{MaxCPUs: new(-1.0)}}); !errors.As(err, &invalid) {
		t.Errorf("a negative ceiling: %v, want an InvalidError", err)
	}
	store.fail = true
	if _, err := k.Replace(t.Context(), File{}); err == nil || errors.As(err, &invalid) {
		t.Errorf("a failing store: %v, want its error", err)
	}
	if !reflect.DeepEqual(k.Policy().File(), good) {
		t.Errorf("after refused changes: %+v, want the last good policy", k.Policy().File())
	}
}

func TestKeeperFromFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("defaults:\n  maxParallelism: 2\n")
	// A stored policy is ignored while a file governs, even one that no
	// longer parses.
	store := &memStore{doc: []byte(`{"defaults":{"maxParallelism":-5}}`), setAt: time.Now()}
	if _, err := NewKeeper(t.Context(), KeeperConfig{Store: store}); err == nil {
		t.Error("a stored policy that no longer parses: no error (the defaults would loosen it)")
	}
	adjusted := 0
	k, err := NewKeeper(t.Context(), KeeperConfig{File: file, Store: store, Adjust: func(p *Policy) *Policy { adjusted++; return p }})
	if err != nil {
		t.Fatal(err)
	}
	if st := k.State(); st.Source != SourceFile || st.File != file || *st.Policy.For("a").MaxParallelism != 2 {
		t.Fatalf("from a file: %+v", st)
	}
	if _, err := k.Replace(t.Context(), File{}); !errors.Is(err, ErrFromFile) {
		t.Errorf("Replace with a file: %v, want ErrFromFile", err)
	}
	write("defaults:\n  maxParalelism: 3\n")
	if _, err := k.Reload(); err == nil {
		t.Error("reloading a broken file: no error")
	}
	if *k.Policy().For("a").MaxParallelism != 2 {
		t.Error("a broken file replaced the policy in force")
	}
	if st := k.State(); !strings.Contains(st.ReloadError, "maxParalelism") || st.ReloadFailedAt.IsZero() {
		t.Errorf("after a failed reload: %q at %v, want the error said", st.ReloadError, st.ReloadFailedAt)
	}
	write("defaults:\n  maxParallelism: 4\n")
	if _, err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if *k.Policy().For("a").MaxParallelism != 4 {
		t.Error("the reloaded file is not in force")
	}
	if st := k.State(); st.ReloadError != "" {
		t.Errorf("a good reload left the error %q", st.ReloadError)
	}
	if adjusted != 2 {
		t.Errorf("Adjust ran %d times, want once per policy put in force (2)", adjusted)
	}
}

func TestPolicyFileSharesNothing(t *testing.T) {
	p, err := New(File{Defaults: Rules{AllowedImages: []string{"a/*"}, MaxCPUs: new(1.0)}, Tenants: map[string]Rules{"t": {}}})
	if err != nil {
		t.Fatal(err)
	}
	f := p.File()
	f.Defaults.AllowedImages[0] = "*"
	*f.Defaults.MaxCPUs = 64
	f.Tenants["u"] = Rules{}
	g := p.File()
	if g.Defaults.AllowedImages[0] != "a/*" || *g.Defaults.MaxCPUs != 1 || len(g.Tenants) != 1 {
		t.Errorf("changing File's result changed the policy: %+v", g)
	}
}
