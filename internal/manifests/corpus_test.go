package manifests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadReadsHeadersAndObject(t *testing.T) {
	dir := t.TempDir()
	doc := "# expect: spec.replicas\n# mistake: negative replicas\napiVersion: argoproj.io/v1alpha1\n" +
		"kind: Rollout\nmetadata:\n  name: shop\nspec:\n  replicas: -1\n"
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cases, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 {
		t.Fatalf("got %d cases", len(cases))
	}
	c := cases[0]
	if c.Expect != "spec.replicas" || c.Mistake != "negative replicas" || c.Object.GetName() != "shop" {
		t.Errorf("got expect %q, mistake %q, name %q", c.Expect, c.Mistake, c.Object.GetName())
	}
}

func TestLoadRefusesEmptyDirsAndNamelessObjects(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil {
		t.Error("an empty corpus must be an error, or a test would pass on nothing")
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("kind: Rollout\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("an object without metadata.name must be an error")
	}
}

func TestDropZero(t *testing.T) {
	in := map[string]any{
		"keep":    map[string]any{"a": 1.0, "b": true, "c": "x"},
		"zeros":   map[string]any{"a": 0.0, "b": false, "c": "", "d": nil, "e": []any{}},
		"list":    []any{0.0, 2.0},
		"nothing": map[string]any{},
	}
	want := map[string]any{
		"keep": map[string]any{"a": 1.0, "b": true, "c": "x"},
		"list": []any{nil, 2.0},
	}
	if diff := cmp.Diff(want, DropZero(in)); diff != "" {
		t.Errorf("DropZero (-want +got):\n%s", diff)
	}
}
