package localcluster

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fakeProc writes a /proc with the given processes, keyed by the pid /proc shows, each with
// the NSpid line given, and "self" pointing at selfEntry.
func fakeProc(t *testing.T, procs map[string]string, selfEntry string) string {
	t.Helper()
	root := t.TempDir()
	for entry, nspid := range procs {
		dir := filepath.Join(root, entry)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		status := "Name:\tsleep\nPid:\t" + entry + "\nNSpid:\t" + nspid + "\n"
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(selfEntry, filepath.Join(root, "self")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestProcDirTranslatesPidsWhenProcShowsAParentNamespace(t *testing.T) {
	// We are pid 1 in our namespace and 4100 in the parent one whose /proc is mounted; our
	// child is pid 7 here and 4107 there; the parent's own pid 7 is somebody else.
	root := fakeProc(t, map[string]string{
		"4100": "4100\t1",
		"4107": "4107\t7",
		"7":    "7",
	}, "4100")
	ns := detectProcNamespace(root, 1)
	if !ns.foreign || ns.level != 1 {
		t.Fatalf("namespace %+v, want foreign at level 1", ns)
	}
	if got, want := procDirIn(root, ns, 7), filepath.Join(root, "4107"); got != want {
		t.Errorf("procDir(7) = %q, want %q (not the parent's pid 7)", got, want)
	}
	if got := procDirIn(root, ns, 99); got != "" {
		t.Errorf("procDir of a pid nobody has = %q, want none", got)
	}
	if got := ourPidIn(ns, filepath.Join(root, "7")); got != 0 {
		t.Errorf("a process outside our namespace maps to pid %d, want 0", got)
	}
}

func TestProcDirIsPlainWhenProcIsOurs(t *testing.T) {
	root := fakeProc(t, map[string]string{"4100": "4100", "7": "7"}, "4100")
	ns := detectProcNamespace(root, 4100)
	if ns.foreign {
		t.Fatalf("our own /proc taken for a foreign one: %+v", ns)
	}
	if got, want := procDirIn(root, ns, 7), filepath.Join(root, "7"); got != want {
		t.Errorf("procDir(7) = %q, want %q", got, want)
	}
}

func TestParseNSpid(t *testing.T) {
	cases := map[string][]int{
		"Name:\tx\nNSpid:\t12\t3\t1\n": {12, 3, 1},
		"Name:\tx\nNSpid:\t12\n":       {12},
		"Name:\tx\n":                   nil,
		"NSpid:\t12\tx\n":              nil,
	}
	for in, want := range cases {
		if got := parseNSpid([]byte(in)); !slices.Equal(got, want) {
			t.Errorf("parseNSpid(%q) = %v, want %v", in, got, want)
		}
	}
}
