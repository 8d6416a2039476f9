//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/aviary-dev/aviary/internal/localcluster"
)

// The sandbox under test keeps away from one a developer may be running: its own state
// directory, ports from 26000 and its own gateway address.
const (
	portBase       = "26000"
	gatewayAddress = "127.0.100.210"
	commandTimeout = 5 * time.Minute
)

type sandbox struct {
	t     *testing.T
	bin   string
	state string
	// ports is the sandbox's port base; empty means portBase.
	ports string
}

// run runs `aviary local <args>` and returns its combined output; it fails the test when the
// command fails.
func (s *sandbox) run(args ...string) string {
	s.t.Helper()
	out, err := s.try(args...)
	if err != nil {
		s.t.Fatalf("aviary local %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *sandbox) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, append([]string{"local"}, args...)...)
	base := s.ports
	if base == "" {
		base = portBase
	}
	cmd.Env = append(os.Environ(),
		localcluster.StateDirEnv+"="+s.state,
		localcluster.PortBaseEnv+"="+base)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	s.t.Logf("aviary local %s (%s):\n%s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), out.String())
	return out.String(), err
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func buildAviary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "aviary")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/aviary")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSandbox starts the sandbox, deploys the demo, checks pods, EndpointSlices and the demo
// through the gateway, recovers from a killed component, and checks that down leaves nothing
// behind.
func TestSandbox(t *testing.T) {
	tmp := t.TempDir()
	s := &sandbox{t: t, bin: buildAviary(t, tmp), state: filepath.Join(tmp, "state")}

	var pids []pidRecord
	var ports []int
	t.Cleanup(func() {
		// Always tear down, even after a failure; then nothing may be left.
		if _, err := os.Stat(s.state); err == nil {
			if t.Failed() {
				dumpLogs(t, s.state)
			}
			pids = append(pids, readPids(t, s.state)...)
			s.run("down")
		}
		assertNothingLeft(t, pids, ports, s.state)
	})

	s.run("up")
	cfg := readConfig(t, s.state)
	ports = allPorts(cfg.Ports)
	pids = readPids(t, s.state)

	// A second up changes nothing and says what runs.
	out := s.run("up")
	if strings.Contains(out, " started (pid") {
		t.Errorf("a second up started processes again:\n%s", out)
	}
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "node", "controller", "gateway"} {
		if !strings.Contains(out, fmt.Sprintf("%-24s running (pid", name)) {
			t.Errorf("a second up does not report %s running:\n%s", name, out)
		}
	}

	kubeconfig := strings.TrimSpace(s.run("kubeconfig"))
	cs := clientset(t, kubeconfig)

	s.run("demo", "--gateway-address="+gatewayAddress)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	assertPodsServe(ctx, t, cs)
	assertEndpointSlices(ctx, t, cs, "demo-stable", "demo-canary")
	gatewayURL := "http://" + gatewayAddress + ":8080"
	assertAnswers(ctx, t, gatewayURL+"/color", "", "blue")
	assertAnswers(ctx, t, gatewayURL+"/color", "stable.demo.local", "blue")
	assertAnswers(ctx, t, gatewayURL+"/", "", "")

	status := s.run("status")
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "node", "controller", "gateway"} {
		if !regexpLine(status, name, "ready") {
			t.Errorf("status does not show %s ready:\n%s", name, status)
		}
	}
	if !strings.Contains(status, gatewayURL) {
		t.Errorf("status does not show the gateway URL %s:\n%s", gatewayURL, status)
	}

	// A killed component is found and restarted by the next up.
	sched := findPid(t, s.state, "kube-scheduler")
	if err := syscall.Kill(sched.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExited(t, sched.Pid)
	out = s.run("up")
	if !strings.Contains(out, fmt.Sprintf("%-24s was not running", "kube-scheduler")) ||
		!strings.Contains(out, fmt.Sprintf("%-24s started", "kube-scheduler")) {
		t.Errorf("up after killing kube-scheduler did not restart it:\n%s", out)
	}
	if !regexpLine(s.run("status"), "kube-scheduler", "ready") {
		t.Error("kube-scheduler is not ready after the recovering up")
	}
	// The recovered scheduler still places pods: a new pod of the Rollout gets a node.
	assertSchedules(ctx, t, cs)
}

type pidRecord struct {
	Pid  int      `json:"pid"`
	Args []string `json:"args"`
}

func readPids(t *testing.T, state string) []pidRecord {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(state, "run", "*.pid"))
	var recs []pidRecord
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var r pidRecord
		if json.Unmarshal(b, &r) == nil && r.Pid > 0 {
			recs = append(recs, r)
		}
	}
	return recs
}

func findPid(t *testing.T, state, name string) pidRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "run", name+".pid"))
	if err != nil {
		t.Fatalf("no pid file for %s: %v", name, err)
	}
	var r pidRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func readConfig(t *testing.T, state string) localcluster.Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "sandbox.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c localcluster.Config
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func allPorts(p localcluster.Ports) []int {
	return []int{p.EtcdClient, p.EtcdPeer, p.APIServer, p.ControllerManager, p.Scheduler, p.Kubelet,
		p.ControllerMetrics, p.ControllerHealth, p.GatewayMetrics, p.GatewayHealth, p.Prometheus}
}

func waitExited(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); localcluster.Alive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still runs 10s after SIGKILL", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func listening(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

func assertNothingLeft(t *testing.T, pids []pidRecord, ports []int, state string) {
	t.Helper()
	for _, r := range pids {
		if localcluster.Alive(r.Pid) {
			t.Errorf("pid %d (%s) still runs after down", r.Pid, strings.Join(r.Args, " "))
		}
	}
	for _, p := range ports {
		if listening("127.0.0.1:" + strconv.Itoa(p)) {
			t.Errorf("127.0.0.1:%d still accepts connections after down", p)
		}
	}
	if listening(gatewayAddress + ":8080") {
		t.Errorf("the gateway's %s:8080 still accepts connections after down", gatewayAddress)
	}
	if _, err := os.Stat(state); err == nil {
		t.Errorf("down left the state directory %s", state)
	}
}

func clientset(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// assertPodsServe: every demo pod is Running and Ready on the sandbox's node, with an IP that
// answers HTTP on the container port.
func assertPodsServe(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=demo"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Fatalf("want the Rollout's 3 pods, got %d", len(pods.Items))
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase != corev1.PodRunning || !podReady(p) {
			t.Errorf("pod %s: phase %s, ready %v; want Running and Ready", p.Name, p.Status.Phase, podReady(p))
		}
		if p.Spec.NodeName != localcluster.NodeName {
			t.Errorf("pod %s is on node %q, want %s", p.Name, p.Spec.NodeName, localcluster.NodeName)
		}
		if p.Status.PodIP == "" {
			t.Errorf("pod %s has no IP", p.Name)
			continue
		}
		assertAnswers(ctx, t, "http://"+net.JoinHostPort(p.Status.PodIP, "8080")+"/color", "", "blue")
	}
}

func assertEndpointSlices(ctx context.Context, t *testing.T, cs kubernetes.Interface, services ...string) {
	t.Helper()
	for _, svc := range services {
		var ready int
		for {
			slices, err := cs.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{
				LabelSelector: discoveryv1.LabelServiceName + "=" + svc,
			})
			if err != nil {
				t.Fatal(err)
			}
			ready = 0
			for _, sl := range slices.Items {
				for _, ep := range sl.Endpoints {
					if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
						ready += len(ep.Addresses)
					}
				}
			}
			if ready > 0 || ctx.Err() != nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if ready == 0 {
			t.Errorf("Service %s has no EndpointSlice with a ready endpoint", svc)
		}
	}
}

// assertAnswers GETs url until it answers 200 with a body containing want.
func assertAnswers(ctx context.Context, t *testing.T, url, host, want string) {
	t.Helper()
	client := &http.Client{Timeout: 3 * time.Second}
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
		req.Host = host
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
				return
			}
			last = fmt.Sprintf("%s: %.200s", resp.Status, body)
		} else {
			last = err.Error()
		}
		if ctx.Err() != nil {
			t.Errorf("GET %s (Host %q): want 200 with %q, last: %s", url, host, want, last)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// assertSchedules deletes one demo pod and waits for its replacement to be scheduled, ready.
func assertSchedules(ctx context.Context, t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=demo"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("listing demo pods: %v (%d)", err, len(pods.Items))
	}
	victim := pods.Items[0].Name
	if err := cs.CoreV1().Pods("default").Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=demo"})
		if err == nil {
			ready := 0
			for i := range pods.Items {
				p := &pods.Items[i]
				if p.Name != victim && p.Spec.NodeName != "" && podReady(p) {
					ready++
				}
			}
			if ready == 3 {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("no ready replacement for deleted pod %s after the scheduler's restart", victim)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// regexpLine: a line starting with name contains want.
func regexpLine(text, name, want string) bool {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, name+" ") && strings.Contains(line, want) {
			return true
		}
	}
	return false
}

func dumpLogs(t *testing.T, state string) {
	logs, _ := filepath.Glob(filepath.Join(state, "logs", "*.log"))
	for _, f := range logs {
		b, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("--- %s (last 40 lines)\n%s", f, strings.Join(lines, "\n"))
	}
}
