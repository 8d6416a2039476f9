// Package localcluster runs the local sandbox: a real single-machine Kubernetes made of etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler (built from source by
// hack/controlplane), the local node, the Aviary controller and gateway, and Prometheus when it
// is installed. Every process is a detached child with a pid file and a log file in one state
// directory, so that a later `aviary local up`, `status` or `down` finds them again.
package localcluster

import (
	"os"
	"path/filepath"
)

// StateDirEnv overrides where the sandbox keeps its state.
const StateDirEnv = "AVIARY_STATE_DIR"

// DefaultStateDir is $AVIARY_STATE_DIR, else $XDG_STATE_HOME/aviary/local, else
// ~/.local/state/aviary/local.
func DefaultStateDir() string {
	if dir := os.Getenv(StateDirEnv); dir != "" {
		return dir
	}
	if dir := os.Getenv("XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "aviary", "local")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".local", "state", "aviary", "local")
}

// Layout names every file and directory of the sandbox inside its state directory. Down
// removes exactly these names, so a state directory pointed at a directory with other files
// in it loses only what the sandbox wrote there.
type Layout struct {
	Dir string
}

func (l Layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.Dir}, elem...)...)
}

// PKIDir holds the CA, serving and client certificates and the service-account key.
func (l Layout) PKIDir() string { return l.path("pki") }

// EtcdDataDir is etcd's data directory.
func (l Layout) EtcdDataDir() string { return l.path("etcd") }

// LogDir holds one log file per process.
func (l Layout) LogDir() string { return l.path("logs") }

// RunDir holds one pid file per process.
func (l Layout) RunDir() string { return l.path("run") }

// KubeconfigDir holds one kubeconfig per identity.
func (l Layout) KubeconfigDir() string { return l.path("kubeconfig") }

// ComponentDir is a component's private working directory (certificates it writes itself,
// Prometheus' configuration and data).
func (l Layout) ComponentDir(name string) string { return l.path("work", name) }

// AdminKubeconfig is the kubeconfig `aviary local kubeconfig` prints.
func (l Layout) AdminKubeconfig() string { return l.path("kubeconfig", "admin.kubeconfig") }

// Kubeconfig is the kubeconfig of one identity.
func (l Layout) Kubeconfig(identity string) string {
	return l.path("kubeconfig", identity+".kubeconfig")
}

// ConfigFile records the settings `up` started the sandbox with (ports, binaries).
func (l Layout) ConfigFile() string { return l.path("sandbox.json") }

// LockFile serialises concurrent up and down commands.
func (l Layout) LockFile() string { return l.path("lock") }

// LogFile is a component's log.
func (l Layout) LogFile(name string) string { return l.path("logs", name+".log") }

// PidFile is a component's pid file.
func (l Layout) PidFile(name string) string { return l.path("run", name+".pid") }

// owned lists the top-level names the sandbox creates, for Down to remove.
func (l Layout) owned() []string {
	return []string{
		l.PKIDir(), l.EtcdDataDir(), l.LogDir(), l.RunDir(), l.KubeconfigDir(), l.path("work"),
		l.ConfigFile(), l.LockFile(),
	}
}
