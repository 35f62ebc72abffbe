package sqlite

import (
	"testing"
	"time"
)

func TestPolicyDocument(t *testing.T) {
	db := openTest(t)
	if _, _, ok, err := db.PolicyDocument(t.Context()); ok || err != nil {
		t.Fatalf("a new store: ok %v, %v; want no policy", ok, err)
	}
	at := time.Date(2026, 11, 26, 12, 0, 0, 123, time.UTC)
	for _, doc := range []string{`{"defaults":{"maxCpus":2}}`, `{"defaults":{"allowedImages":[]}}`} {
		if err := db.SetPolicyDocument(t.Context(), []byte(doc), at); err != nil {
			t.Fatal(err)
		}
		got, setAt, ok, err := db.PolicyDocument(t.Context())
		if err != nil || !ok || string(got) != doc || !setAt.Equal(at) {
			t.Errorf("after setting %s: %s, %v, %v, %v", doc, got, setAt, ok, err)
		}
		at = at.Add(time.Hour)
	}
	// Half a policy is a damaged store, not "no policy".
	if _, err := db.w.ExecContext(t.Context(), `DELETE FROM meta WHERE key = 'policy_set_at'`); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := db.PolicyDocument(t.Context()); ok || err == nil {
		t.Errorf("a policy without its time: ok %v, %v; want an error", ok, err)
	}
}
