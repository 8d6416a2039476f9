package validation

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aviary-dev/aviary/internal/manifests"
)

func load(t *testing.T, dir string) []manifests.Case {
	t.Helper()
	cases, err := manifests.Load(filepath.Join("..", "..", "test", "manifests", dir))
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestValidCorpus(t *testing.T) {
	crds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range load(t, "valid") {
		if _, problems := crds.Validate(t.Context(), c.Object.Object); len(problems) > 0 {
			t.Errorf("%s: a valid manifest was rejected:\n%s", c.Name, String(problems))
		}
	}
}

func TestInvalidCorpus(t *testing.T) {
	crds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range load(t, "invalid") {
		_, problems := crds.Validate(t.Context(), c.Object.Object)
		if len(problems) == 0 {
			// The controller's checks may be what catches it; the CLI test covers those.
			t.Logf("%s: accepted by the CRD rules (expect %s)", c.Name, c.Expect)
			continue
		}
		if !strings.Contains(String(problems), c.Expect) {
			t.Errorf("%s: want %q in:\n%s", c.Name, c.Expect, String(problems))
		}
	}
}
