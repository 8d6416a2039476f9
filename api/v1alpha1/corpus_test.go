package v1alpha1_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/manifests"
)

// TestValidCorpusDecodesIntoGoTypes: every valid manifest decodes strictly into the Go types
// (no field unknown to them) and encodes back to the same document, so the controller, which
// reads objects through these types, loses nothing a user wrote.
func TestValidCorpusDecodesIntoGoTypes(t *testing.T) {
	scheme := k8sruntime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cases, err := manifests.Load(filepath.Join("..", "..", "test", "manifests", "valid"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			typed, err := scheme.New(c.Object.GroupVersionKind())
			if err != nil {
				t.Fatalf("no Go type for %s: %v", c.Object.GroupVersionKind(), err)
			}
			if err := yaml.UnmarshalStrict(c.Raw, typed); err != nil {
				t.Fatalf("strict decode into %T: %v", typed, err)
			}
			want, err := manifests.Canonical(c.Object.Object)
			if err != nil {
				t.Fatal(err)
			}
			have, err := manifests.Canonical(typed)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(manifests.DropZero(want), manifests.DropZero(have)); diff != "" {
				t.Errorf("the Go types changed the manifest (-file +re-encoded):\n%s", diff)
			}
		})
	}
}
