// Package golden is the one way Aviary's tests compare output with files under testdata.
//
// The convention: a translator of YAML reads testdata/<case>.in.yaml and its output is
// testdata/<case>.out.yaml (OutputOf); text output is <case>.out.txt beside its input, or a
// <case>.txt named for a case built in Go. `go test ./pkg -update` rewrites the outputs
// instead of comparing; review the diff before committing it. Inputs are decoded strictly: a
// misspelt field fails the test instead of vanishing from the case.
package golden

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// update is the one -update flag of every golden test.
var update = flag.Bool("update", false, "rewrite the golden files under testdata instead of comparing with them")

// InputSuffix ends the name of a YAML input; OutputOf names its golden output.
const InputSuffix = ".in.yaml"

// Compare fails t when got differs from the file at path, showing the difference; with
// -update it writes got to path instead.
func Compare(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run the test with -update to create it", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("output differs from %s (-want +got); if the change is intended, run the test with -update and review the diff:\n%s", path, diff)
	}
}

// Inputs are the testdata/*.in.yaml files of the package under test; none is a failure.
func Inputs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*"+InputSuffix))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*%s: %v", InputSuffix, err)
	}
	return files
}

// Case is the name of the case an input file holds: testdata/basic.in.yaml is "basic".
func Case(input string) string { return strings.TrimSuffix(filepath.Base(input), InputSuffix) }

// OutputOf is the golden file of a YAML input with extension ext (".yaml" or ".txt"):
// testdata/basic.in.yaml → testdata/basic.out.yaml.
func OutputOf(input, ext string) string { return strings.TrimSuffix(input, InputSuffix) + ".out" + ext }

// ReadYAML decodes the one-document YAML file at path into v strictly.
func ReadYAML(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Documents are the non-empty documents of the multi-document YAML file at path.
func Documents(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var probe map[string]any
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(probe) > 0 {
			docs = append(docs, doc)
		}
	}
}

// Decode decodes one YAML document into v strictly: a field v's type does not have, or a key
// given twice, fails the test.
func Decode(t testing.TB, doc []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%v in:\n%s", err, doc)
	}
}

// KindOf is the apiVersion and kind a YAML document declares, to choose the type to Decode
// it into.
func KindOf(t testing.TB, doc []byte) schema.GroupVersionKind {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatalf("%v in:\n%s", err, doc)
	}
	return tm.GroupVersionKind()
}
