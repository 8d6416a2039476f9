package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a test to see what a helper reports; Fatalf ends the helper's
// goroutine as it would end a test's.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.fatals = append(r.fatals, fmt.Sprint(args...))
	runtime.Goexit()
}

// run calls helper as a test would, and returns what it reported.
func run(helper func(t testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		helper(r)
	}()
	<-done
	return r
}

func TestCompare(t *testing.T) {
	path := filepath.Join(t.TempDir(), "case.out.txt")
	if err := os.WriteFile(path, []byte("one\ntwo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(func(tb testing.TB) { Compare(tb, path, []byte("one\ntwo\n")) }); len(r.errors)+len(r.fatals) > 0 {
		t.Errorf("equal output reported %v %v", r.errors, r.fatals)
	}
	r := run(func(tb testing.TB) { Compare(tb, path, []byte("one\nthree\n")) })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], path) || !strings.Contains(r.errors[0], "+") || !strings.Contains(r.errors[0], "three") {
		t.Errorf("different output reported %q; want one error naming the file with a diff", r.errors)
	}
	missing := filepath.Join(t.TempDir(), "none.out.txt")
	r = run(func(tb testing.TB) { Compare(tb, missing, []byte("x")) })
	if len(r.fatals) != 1 || !strings.Contains(r.fatals[0], "-update") {
		t.Errorf("missing golden file reported %q; want a failure saying to run with -update", r.fatals)
	}
}

func TestCompareWithUpdateWritesTheFile(t *testing.T) {
	*update = true
	t.Cleanup(func() { *update = false })
	path := filepath.Join(t.TempDir(), "sub", "case.out.yaml")
	if r := run(func(tb testing.TB) { Compare(tb, path, []byte("a: 1\n")) }); len(r.errors)+len(r.fatals) > 0 {
		t.Fatalf("update reported %v %v", r.errors, r.fatals)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "a: 1\n" {
		t.Errorf("update wrote %q, %v", got, err)
	}
}

func TestNames(t *testing.T) {
	in := filepath.Join("testdata", "basic.in.yaml")
	if got := Case(in); got != "basic" {
		t.Errorf("Case = %q", got)
	}
	if got, want := OutputOf(in, ".yaml"), filepath.Join("testdata", "basic.out.yaml"); got != want {
		t.Errorf("OutputOf(.yaml) = %q, want %q", got, want)
	}
	if got, want := OutputOf(in, ".txt"), filepath.Join("testdata", "basic.out.txt"); got != want {
		t.Errorf("OutputOf(.txt) = %q, want %q", got, want)
	}
}

type spec struct {
	Name  string `json:"name"`
	Ports []int  `json:"ports"`
}

// TestDecodeIsStrict: a misspelt field or a key given twice fails instead of vanishing.
func TestDecodeIsStrict(t *testing.T) {
	var ok spec
	if r := run(func(tb testing.TB) { Decode(tb, []byte("name: a\nports: [80]\n"), &ok) }); len(r.fatals) > 0 || ok.Name != "a" || len(ok.Ports) != 1 {
		t.Errorf("valid document: %v, decoded %+v", r.fatals, ok)
	}
	for _, doc := range []string{"name: a\nprots: [80]\n", "name: a\nname: b\n"} {
		var s spec
		if r := run(func(tb testing.TB) { Decode(tb, []byte(doc), &s) }); len(r.fatals) != 1 {
			t.Errorf("%q decoded without failing: %+v", doc, s)
		}
	}
}

// TestDocumentsSkipsEmptyOnes: separators, comments and blank documents are not cases.
func TestDocumentsSkipsEmptyOnes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.in.yaml")
	data := "# a world\n---\nkind: A\n---\n# nothing\n---\n\n---\nkind: B\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, doc := range Documents(t, path) {
		kinds = append(kinds, KindOf(t, doc).Kind)
	}
	if strings.Join(kinds, ",") != "A,B" {
		t.Errorf("documents of kinds %v, want A,B", kinds)
	}
}
