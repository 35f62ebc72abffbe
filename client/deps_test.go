package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the client importable without the server: besides
// the standard library it may depend only on the wire types.
func TestDependencies(t *testing.T) {
	// go test puts its own go command first in PATH.
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps",
		"-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"github.com/swarmjob/swarmjob/client":    true,
		"github.com/swarmjob/swarmjob/api/types": true,
	}
	for _, pkg := range strings.Fields(string(out)) {
		if !allowed[pkg] {
			t.Errorf("client depends on %s; it may import only the standard library and api/types", pkg)
		}
	}
}
