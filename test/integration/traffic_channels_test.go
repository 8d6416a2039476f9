package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/internal/testenv"
)

// createGoldenRoutes creates every route the golden route-edit tests produce in a namespace
// of the given API server: the edits must pass the real CRD schemas and CEL rules.
func createGoldenRoutes(t *testing.T, e *testenv.Env) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "internal", "traffic", "gatewayapi", "testdata", "*.out.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden routes: %v", err)
	}
	ns := newNamespaceIn(t, e, "golden")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatal(err)
		}
		u.SetNamespace(ns)
		u.SetName(strings.TrimSuffix(filepath.Base(f), ".out.yaml")) // several share a name
		written := u.DeepCopy()
		if err := e.Client.Create(t.Context(), u); err != nil {
			t.Errorf("%s is refused by the API server: %v", filepath.Base(f), err)
			continue
		}
		// The rules the controller builds must come back exactly as written, or a server
		// default would make every reconcile rewrite them.
		for _, name := range []string{"beta-testers", "beta-testers-1", "mirror", "mirror-1"} {
			if w, g := rule(written, name), rule(u, name); !equality.Semantic.DeepEqual(w, g) {
				t.Errorf("%s: rule %s changed on the way through the API server:\n wrote %v\n  read %v", filepath.Base(f), name, w, g)
			}
		}
	}
}

// TestGoldenRoutesValidExperimentalChannel checks the edited routes against the experimental
// channel's CRDs (the suite's shared API server).
func TestGoldenRoutesValidExperimentalChannel(t *testing.T) {
	createGoldenRoutes(t, env)
}

// TestGoldenRoutesValidStandardChannel checks them against the standard channel's CRDs, on an
// API server of its own.
func TestGoldenRoutesValidStandardChannel(t *testing.T) {
	std, err := testenv.Start(testenv.WithGatewayAPI(testenv.GatewayAPIStandard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := std.Stop(); err != nil {
			t.Errorf("stopping the standard-channel control plane: %v", err)
		}
	})
	createGoldenRoutes(t, std)
}

func newNamespaceIn(t *testing.T, e *testenv.Env, prefix string) string {
	t.Helper()
	ns := strings.ToLower(prefix) + "-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(ns) > 63 {
		ns = ns[:63]
	}
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion("v1")
	obj.SetKind("Namespace")
	obj.SetName(ns)
	if err := e.Client.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating namespace %s: %v", ns, err)
	}
	return ns
}
