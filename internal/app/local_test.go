package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aviary-dev/aviary/internal/localcluster"
)

func runLocal(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := NewRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"local"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestLocalCommandsWithoutASandboxSayHowToStartOne(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv(localcluster.StateDirEnv, state)
	for _, cmd := range [][]string{{"kubeconfig"}, {"status"}, {"demo"}} {
		_, err := runLocal(t, cmd...)
		if err == nil || !strings.Contains(err.Error(), "aviary local up") {
			t.Errorf("local %s without a sandbox: %v; want an error naming `aviary local up`", cmd[0], err)
		}
	}
	out, err := runLocal(t, "down")
	if err != nil || !strings.Contains(out, "nothing to do") {
		t.Errorf("local down without a sandbox: %q, %v; want nothing to do", out, err)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("commands without a sandbox created %s", state)
	}
}

func TestLocalUpRefusesABadPortBaseBeforeWritingAnything(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv(localcluster.StateDirEnv, state)
	t.Setenv(localcluster.PortBaseEnv, "99999")
	_, err := runLocal(t, "up")
	if err == nil || !strings.Contains(err.Error(), localcluster.PortBaseEnv) {
		t.Fatalf("local up with a bad port base: %v; want an error naming %s", err, localcluster.PortBaseEnv)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("a refused up created %s", state)
	}
}

func TestLocalDemoRefusesANonLoopbackAddress(t *testing.T) {
	t.Setenv(localcluster.StateDirEnv, t.TempDir())
	if _, err := runLocal(t, "demo", "--gateway-address=10.1.2.3"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("demo --gateway-address=10.1.2.3: %v; want an error asking for a loopback address", err)
	}
}
