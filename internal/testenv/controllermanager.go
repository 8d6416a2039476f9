package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/aviary-dev/aviary/internal/pki"
)

const (
	controllerManagerLogName = "kube-controller-manager.log"
	// controllerManagerStartTimeout bounds the wait for kube-controller-manager to serve /healthz
	// and for its serviceaccount controller to create default/default. It starts in a few
	// seconds; the margin is for a loaded 2-core machine.
	controllerManagerStartTimeout = 90 * time.Second
	controllerManagerStopTimeout  = 20 * time.Second
)

// controllerManagerControllers are the only controllers started. Canonical names are used (the
// short ones like "replicaset" are aliases):
//   - replicaset, deployment: turn ReplicaSets (and Deployments) into pods and report their
//     availability;
//   - garbage-collector: deletes what ownerReferences say is orphaned (pods of a deleted
//     ReplicaSet, ReplicaSets of a deleted Rollout);
//   - namespace: finishes deleting namespaces;
//   - serviceaccount, serviceaccount-token: create the default ServiceAccount in every namespace
//     (needed as soon as the ServiceAccount admission plugin is on) and its legacy tokens.
//
// Node lifecycle, pod GC and the rest are left off: with no kubelet heartbeating they would only
// taint the fixture's node and evict or delete its pods.
var controllerManagerControllers = []string{
	"replicaset-controller",
	"deployment-controller",
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"job-controller",
}

// controllerManager is a running kube-controller-manager process.
type controllerManager struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // set before exited is closed
}

// writeServiceAccountKey writes a fresh service-account signing key into dir and returns its
// path. kube-apiserver reads the public half from the same file for --service-account-key-file.
func writeServiceAccountKey(dir string) (string, error) {
	path := filepath.Join(dir, "sa-signer.key")
	return path, pki.WriteSigningKey(path)
}

func (e *Env) startControllerManager(binary, saKey string) (*controllerManager, error) {
	admin, err := e.env.AddUser(envtest.User{
		Name:   "aviary:kube-controller-manager",
		Groups: []string{"system:masters"},
	}, e.Config)
	if err != nil {
		return nil, fmt.Errorf("adding an admin user for kube-controller-manager: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return nil, err
	}
	kubeconfigPath := filepath.Join(e.workDir, "kube-controller-manager.kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	certDir := filepath.Join(e.workDir, "kube-controller-manager-certs")
	if err := os.Mkdir(certDir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(e.workDir, controllerManagerLogName)

	// The secure port is picked free and then released, so another process can take it before
	// kube-controller-manager binds it: retry a few times when that is why it exited.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args := []string{
			"--kubeconfig=" + kubeconfigPath,
			"--controllers=" + strings.Join(controllerManagerControllers, ","),
			"--service-account-private-key-file=" + saKey,
			"--leader-elect=false",
			"--use-service-account-credentials=false",
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--cert-dir=" + certDir,
			// Speed: the defaults (5 workers, 20 QPS / 30 burst) throttle a test suite that
			// creates many ReplicaSets and pods at once.
			"--concurrent-replicaset-syncs=20",
			"--concurrent-deployment-syncs=20",
			"--concurrent-gc-syncs=20",
			"--concurrent-namespace-syncs=20",
			"--concurrent-serviceaccount-token-syncs=10",
			"--kube-api-qps=500",
			"--kube-api-burst=1000",
			"--v=2",
		}
		kcm, err := startControllerManagerProcess(binary, args, logPath)
		if err != nil {
			return nil, err
		}
		err = kcm.waitReady(port, e.Client)
		if err == nil {
			return kcm, nil
		}
		stopErr := kcm.stop()
		logText, _ := os.ReadFile(logPath)
		if attempt < 3 && bytes.Contains(logText, []byte("address already in use")) {
			continue
		}
		return nil, fmt.Errorf("%w\nkube-controller-manager log: %s\n%s",
			errors.Join(err, stopErr), logPath, tail(logText, 30))
	}
}

func startControllerManagerProcess(binary string, args []string, logPath string) (*controllerManager, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logFile, "### %s %s\n", binary, strings.Join(args, " "))
	cmd := exec.Command(binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	kcm := &controllerManager{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		kcm.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(kcm.exited)
	}()
	return kcm, nil
}

// waitReady waits until /healthz answers ok and the serviceaccount controller has created the
// default ServiceAccount in the default namespace, which shows the controllers are running
// against the API server.
func (kcm *controllerManager) waitReady(port int, c client.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), controllerManagerStartTimeout)
	defer cancel()
	httpClient := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			// kube-controller-manager serves a self-signed certificate.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // local test process
		},
	}
	defer httpClient.CloseIdleConnections()
	healthz := "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz"

	healthy := false
	var last error
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		// An error caused by the deadline itself would hide the interesting one before it.
		if !healthy {
			err := probe(ctx, httpClient, healthz)
			healthy = err == nil
			if ctx.Err() == nil || last == nil {
				last = err
			}
		}
		if healthy {
			err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})
			if err == nil {
				return nil
			}
			if ctx.Err() == nil || last == nil {
				last = fmt.Errorf("/healthz is ok, but the serviceaccount controller has not created default/default: %w", err)
			}
		}
		select {
		case <-kcm.exited:
			if kcm.waitErr == nil {
				return errors.New("kube-controller-manager exited while starting, with status 0")
			}
			return fmt.Errorf("kube-controller-manager exited while starting: %w", kcm.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("kube-controller-manager not ready within %s: %w", controllerManagerStartTimeout, last)
		case <-tick.C:
		}
	}
}

func probe(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// stop sends SIGTERM, then SIGKILL if the process has not exited within
// controllerManagerStopTimeout, and waits for it.
func (kcm *controllerManager) stop() error {
	select {
	case <-kcm.exited:
		return nil
	default:
	}
	if err := kcm.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-kcm.exited:
		return nil
	case <-time.After(controllerManagerStopTimeout):
	}
	if err := kcm.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-kcm.exited
	return fmt.Errorf("kube-controller-manager did not stop within %s of SIGTERM and was killed; log: %s",
		controllerManagerStopTimeout, kcm.logPath)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of text.
func tail(text []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(text), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
