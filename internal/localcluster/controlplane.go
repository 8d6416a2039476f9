package localcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ControlPlaneDirEnv names a directory holding the four control-plane binaries, skipping the
// search below.
const ControlPlaneDirEnv = "AVIARY_CONTROLPLANE_DIR"

var controlPlaneBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// findControlPlane returns the directory of etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler: $AVIARY_CONTROLPLANE_DIR; else, inside an Aviary checkout (found from the
// working directory or the aviary binary's directory), what hack/controlplane/build.sh builds
// or reuses, its progress copied to progress; else the newest complete build in the cache.
func findControlPlane(ctx context.Context, progress io.Writer) (string, error) {
	if dir := os.Getenv(ControlPlaneDirEnv); dir != "" {
		if missing := missingBinaries(dir); len(missing) > 0 {
			return "", fmt.Errorf("%s=%s has no %s", ControlPlaneDirEnv, dir, strings.Join(missing, ", "))
		}
		return dir, nil
	}
	if repo := findRepo(); repo != "" {
		return buildControlPlane(ctx, repo, progress)
	}
	if dir := newestCachedControlPlane(); dir != "" {
		return dir, nil
	}
	return "", errors.New("no control-plane binaries: run `make controlplane` in an aviary checkout " +
		"(or `aviary local up` from inside one), or set " + ControlPlaneDirEnv +
		" to a directory holding etcd, kube-apiserver, kube-controller-manager and kube-scheduler")
}

func missingBinaries(dir string) []string {
	var missing []string
	for _, b := range controlPlaneBinaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	return missing
}

// findRepo looks upwards from the working directory, then from the binary's directory, for
// the checkout's hack/controlplane/build.sh.
func findRepo() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			if _, err := os.Stat(filepath.Join(dir, "hack", "controlplane", "build.sh")); err == nil {
				if isAviaryModule(filepath.Join(dir, "go.mod")) {
					return dir
				}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}

func isAviaryModule(goMod string) bool {
	b, err := os.ReadFile(goMod)
	return err == nil && strings.Contains(string(b), "module github.com/aviary-dev/aviary\n")
}

// buildControlPlane runs the build script, which takes about 15 minutes the first time and
// under a second afterwards; its progress (stderr) goes to progress.
func buildControlPlane(ctx context.Context, repo string, progress io.Writer) (string, error) {
	script := filepath.Join(repo, "hack", "controlplane", "build.sh")
	cmd := exec.CommandContext(ctx, script)
	cmd.Dir = repo
	cmd.Stderr = progress
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the control plane with %s: %w", script, err)
	}
	var last string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			last = line
		}
	}
	if last == "" || len(missingBinaries(last)) > 0 {
		return "", fmt.Errorf("%s printed %q as its last line, which is not a directory with the control-plane binaries", script, last)
	}
	return last, nil
}

// newestCachedControlPlane is the most recently built complete directory under
// ${AVIARY_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/aviary}/controlplane.
func newestCachedControlPlane() string {
	root := os.Getenv("AVIARY_CACHE_DIR")
	if root == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return ""
			}
			base = filepath.Join(home, ".cache")
		}
		root = filepath.Join(base, "aviary")
	}
	entries, err := os.ReadDir(filepath.Join(root, "controlplane"))
	if err != nil {
		return ""
	}
	type candidate struct {
		dir   string
		mtime int64
	}
	var found []candidate
	for _, e := range entries {
		dir := filepath.Join(root, "controlplane", e.Name())
		fi, err := os.Stat(filepath.Join(dir, "kube-apiserver"))
		if err != nil || !e.IsDir() || len(missingBinaries(dir)) > 0 {
			continue
		}
		found = append(found, candidate{dir, fi.ModTime().UnixNano()})
	}
	if len(found) == 0 {
		return ""
	}
	sort.Slice(found, func(i, j int) bool { return found[i].mtime > found[j].mtime })
	return found[0].dir
}
