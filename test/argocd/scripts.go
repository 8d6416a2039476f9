package argocd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	lua "github.com/yuin/gopher-lua"
)

// Module and Version name the Argo CD release whose scripts are the reference. v3.5.x is the
// newest line whose go.mod the project's Go toolchain accepts.
const (
	Module  = "github.com/argoproj/argo-cd/v3"
	Version = "v3.5.8"
)

// rolloutScripts is where a Rollout's scripts live inside Argo CD's module.
const rolloutScripts = "resource_customizations/argoproj.io/Rollout"

// Scripts are Argo CD's Rollout health check and actions.
type Scripts struct {
	dir string
}

// LoadScripts downloads Argo CD's module into the module cache (a no-op once it is there) and
// returns its Rollout scripts.
func LoadScripts() (Scripts, error) {
	cmd := exec.Command("go", "mod", "download", "-json", Module+"@"+Version)
	cmd.Dir = os.TempDir() // outside any module: the download must not touch a go.mod
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	switch jerr := json.Unmarshal(out, &info); {
	case err != nil:
	case jerr != nil:
		err = jerr
	case info.Error != "" || info.Dir == "":
		err = fmt.Errorf("go mod download: %q", info.Error)
	}
	if err != nil {
		return Scripts{}, fmt.Errorf("downloading %s@%s for its Rollout scripts (the Go module proxy must be reachable): %w %s",
			Module, Version, err, stderr.String())
	}
	s := Scripts{dir: filepath.Join(info.Dir, rolloutScripts)}
	if _, err := os.Stat(s.path("health.lua")); err != nil {
		return Scripts{}, fmt.Errorf("%s@%s has no Rollout health check: %w", Module, Version, err)
	}
	return s, nil
}

func (s Scripts) path(name string) string { return filepath.Join(s.dir, name) }

// run runs one of Argo CD's Rollout scripts on obj and returns what it returned.
func (s Scripts) run(name string, obj map[string]any) (lua.LValue, error) {
	b, err := os.ReadFile(s.path(name))
	if err != nil {
		return nil, fmt.Errorf("reading Argo CD's %s: %w", name, err)
	}
	return run(string(b), obj)
}
