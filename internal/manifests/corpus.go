// Package manifests reads the test corpora under test/manifests: one Kubernetes object per
// YAML file, and for invalid ones the expected error written in a header comment.
package manifests

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Case is one manifest of a corpus.
type Case struct {
	// Name is the file name, for test names.
	Name string
	// Object is the manifest as sent to the API server.
	Object *unstructured.Unstructured
	// Raw is the file's YAML.
	Raw []byte
	// Expect is the text the API server's rejection must contain (invalid corpus only).
	Expect string
	// Mistake describes the error in the manifest (invalid corpus only).
	Mistake string
}

// Load reads every *.yaml file of dir, sorted by name.
func Load(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.yaml manifests in %s", dir)
	}
	sort.Strings(files)
	cases := make([]Case, 0, len(files))
	for _, f := range files {
		c, err := loadFile(f)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func loadFile(path string) (Case, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Case{}, err
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
		return Case{}, fmt.Errorf("%s: not valid YAML: %w", path, err)
	}
	if obj.GetKind() == "" || obj.GetName() == "" {
		return Case{}, fmt.Errorf("%s: want one object with a kind and metadata.name", path)
	}
	c := Case{Name: filepath.Base(path), Object: obj, Raw: raw}
	c.Expect, c.Mistake = headers(raw)
	return c, nil
}

// headers reads the leading "# expect: …" and "# mistake: …" comment lines.
func headers(raw []byte) (expect, mistake string) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "#") {
			break
		}
		body := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		if v, ok := strings.CutPrefix(body, "expect:"); ok {
			expect = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(body, "mistake:"); ok {
			mistake = strings.TrimSpace(v)
		}
	}
	return expect, mistake
}
