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

// acceptedOffline lists the invalid manifests that the CRD's rules alone accept although the
// API server refuses them, each with the reason. Today there are none; a new one fails
// TestInvalidCorpus until the validator learns the rule or the manifest is listed here.
var acceptedOffline = map[string]string{}

// TestInvalidCorpus checks that the offline validator refuses every manifest of the invalid
// corpus with the server's message, except those listed in acceptedOffline.
func TestInvalidCorpus(t *testing.T) {
	crds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range load(t, "invalid") {
		seen[c.Name] = true
		_, problems := crds.Validate(t.Context(), c.Object.Object)
		reason, known := acceptedOffline[c.Name]
		switch {
		case len(problems) == 0 && !known:
			t.Errorf("%s: accepted by the CRD rules, but the API server says %q: teach internal/validation the rule, or list it in acceptedOffline with the reason", c.Name, c.Expect)
		case len(problems) > 0 && known:
			t.Errorf("%s: now refused offline, but acceptedOffline says %q: remove it from acceptedOffline", c.Name, reason)
		case len(problems) > 0 && !strings.Contains(String(problems), c.Expect):
			t.Errorf("%s: want %q in:\n%s", c.Name, c.Expect, String(problems))
		}
	}
	for name := range acceptedOffline {
		if !seen[name] {
			t.Errorf("acceptedOffline names %s, which is not in test/manifests/invalid: remove it", name)
		}
	}
}
