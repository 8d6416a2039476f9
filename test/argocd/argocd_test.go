package argocd

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// These tests run Argo CD's own test cases for its Rollout scripts through this package, so
// that a fault in how we run the scripts (the Lua conversions) cannot pass for Aviary's.

func loadScripts(t *testing.T) Scripts {
	t.Helper()
	s, err := LoadScripts()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	readYAML(t, path, &u.Object)
	return u
}

func TestArgoCDsHealthCasesAgree(t *testing.T) {
	s := loadScripts(t)
	var cases struct {
		Tests []struct {
			HealthStatus Health `json:"healthStatus"`
			InputPath    string `json:"inputPath"`
		} `json:"tests"`
	}
	readYAML(t, s.path("health_test.yaml"), &cases)
	if len(cases.Tests) < 10 {
		t.Fatalf("only %d health cases in Argo CD's health_test.yaml", len(cases.Tests))
	}
	for _, tc := range cases.Tests {
		got, err := s.Health(readObject(t, s.path(tc.InputPath)))
		if err != nil {
			t.Errorf("%s: %v", tc.InputPath, err)
			continue
		}
		if got != tc.HealthStatus {
			t.Errorf("%s: health %+v, Argo CD expects %+v", tc.InputPath, got, tc.HealthStatus)
		}
	}
}

func TestArgoCDsActionCasesAgree(t *testing.T) {
	s := loadScripts(t)
	var cases struct {
		ActionTests []struct {
			Action             string `json:"action"`
			InputPath          string `json:"inputPath"`
			ExpectedOutputPath string `json:"expectedOutputPath"`
		} `json:"actionTests"`
	}
	dir := filepath.Join(s.dir, "actions")
	readYAML(t, filepath.Join(dir, "action_test.yaml"), &cases)
	if len(cases.ActionTests) < 5 {
		t.Fatalf("only %d action cases in Argo CD's action_test.yaml", len(cases.ActionTests))
	}
	for _, tc := range cases.ActionTests {
		got, err := s.Action(tc.Action, readObject(t, filepath.Join(dir, tc.InputPath)))
		if err != nil {
			t.Errorf("%s on %s: %v", tc.Action, tc.InputPath, err)
			continue
		}
		want := readObject(t, filepath.Join(dir, tc.ExpectedOutputPath))
		if tc.Action == "restart" {
			// The action stamps the time it ran.
			at, _, _ := unstructured.NestedString(got.Object, "spec", "restartAt")
			if _, err := time.Parse(time.RFC3339, at); err != nil {
				t.Errorf("restart wrote spec.restartAt %q: %v", at, err)
			}
			unstructured.RemoveNestedField(got.Object, "spec", "restartAt")
			unstructured.RemoveNestedField(want.Object, "spec", "restartAt")
		}
		if !reflect.DeepEqual(normal(t, got), normal(t, want)) {
			t.Errorf("%s on %s:\n got %v\nwant %v", tc.Action, tc.InputPath, normal(t, got), normal(t, want))
		}
	}
}

// normal puts an object through YAML so that numbers compare alike, and drops null fields:
// the fixtures write some as null where a script removed them, and a merge patch treats an
// absent field and a null one alike.
func normal(t *testing.T, u *unstructured.Unstructured) map[string]any {
	t.Helper()
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := yaml.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	dropNulls(out)
	return out
}

func dropNulls(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			dropNulls(v)
		case []any:
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					dropNulls(em)
				}
			}
		}
	}
}
