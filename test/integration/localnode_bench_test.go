package integration

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// benchPods is how many idle pods BenchmarkLocalNodeIdlePods runs; LOCALNODE_BENCH_PODS changes it.
func benchPods() int {
	if n, err := strconv.Atoi(os.Getenv("LOCALNODE_BENCH_PODS")); err == nil && n > 0 {
		return n
	}
	return 2000
}

// BenchmarkLocalNodeIdlePods runs the real local node against the test API server, binds
// 2,000 demo-app pods to it (each serving on its own loopback IP with a readiness probe every
// 10 s), waits until the API reports them all Ready, then measures what one idle pod costs the
// node process: resident memory, Go heap and goroutines per pod, and CPU per pod over an idle
// window. The API server and etcd are other processes and are not counted.
//
//	KUBEBUILDER_ASSETS=$(make -s controlplane | tail -n1) go test -run '^$' -bench LocalNodeIdlePods -benchtime 1x -timeout 20m ./test/integration/
//
// The no-probes case is the baseline: the difference is what readiness probing costs.
func BenchmarkLocalNodeIdlePods(b *testing.B) {
	for i, probe := range []bool{false, true} {
		name := map[bool]string{false: "no-probes", true: "readiness-every-10s"}[probe]
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchmarkIdlePods(b, benchPods(), probe, fmt.Sprintf("aviary-local-bench-%d", i), fmt.Sprintf("127.%d.0.1", 210+i))
			}
		})
	}
}

func benchmarkIdlePods(b *testing.B, pods int, probe bool, nodeName, firstIP string) {
	c := kubernetes.NewForConfigOrDie(env.Config)
	ns := fmt.Sprintf("localnode-bench-%d", time.Now().UnixNano())
	first := netip.MustParseAddr(firstIP)
	last := netip.AddrFrom4([4]byte{first.As4()[0], first.As4()[1], 255, 254})
	startLocalNode(b, nodeName, first.String(), last.String())
	localNodeNamespace(b, c, ns)
	baseRSS, baseHeap, baseG := processFigures()

	start := time.Now()
	createIdlePods(b, c, ns, pods, probe, nodeName)
	created := time.Since(start)
	waitAllReady(b, c, ns, pods)
	ready := time.Since(start)

	time.Sleep(10 * time.Second) // let start-up work (first probes, status writes) finish
	window := 30 * time.Second
	cpu0 := processCPU()
	time.Sleep(window)
	cpu := processCPU() - cpu0
	rss, heap, g := processFigures()

	n := float64(pods)
	b.ReportMetric(float64(rss-baseRSS)/n/1024, "KiB-RSS/pod")
	b.ReportMetric(float64(heap-baseHeap)/n/1024, "KiB-heap/pod")
	b.ReportMetric(float64(g-baseG)/n, "goroutines/pod")
	b.ReportMetric(cpu.Seconds()/window.Seconds()/n*1e6, "µs-CPU/s/pod")
	b.ReportMetric(cpu.Seconds()/window.Seconds()*100, "%core-idle-total")
	b.ReportMetric(ready.Seconds(), "s-to-all-ready")
	b.Logf("%d pods: created in %s, all Ready after %s; RSS %d → %d MiB; idle CPU %.1f%% of a core",
		pods, created.Round(time.Millisecond), ready.Round(time.Millisecond), baseRSS>>20, rss>>20, cpu.Seconds()/window.Seconds()*100)
	b.StopTimer()
	deleteCtx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_ = c.CoreV1().Namespaces().Delete(deleteCtx, ns, metav1.DeleteOptions{})
}

func idlePod(ns string, i int, probe bool, nodeName string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("idle-%04d", i), Labels: map[string]string{"app": "idle"}},
		Spec: corev1.PodSpec{
			NodeName: nodeName,
			Containers: []corev1.Container{{
				Name:  "demo",
				Image: "argoproj/rollouts-demo:blue",
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 10,
				},
			}},
		},
	}
	if !probe {
		pod.Spec.Containers[0].ReadinessProbe = nil
	}
	return pod
}

func createIdlePods(b *testing.B, c kubernetes.Interface, ns string, pods int, probe bool, nodeName string) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= pods {
					return
				}
				if _, err := c.CoreV1().Pods(ns).Create(context.Background(), idlePod(ns, i, probe, nodeName), metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("creating pods: %v", err)
	}
}

func waitAllReady(b *testing.B, c kubernetes.Interface, ns string, pods int) {
	last := ""
	err := wait.PollUntilContextTimeout(context.Background(), 2*time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false, nil //nolint:nilerr // retry: the API server is busy, not broken
		}
		ready := 0
		for i := range list.Items {
			if podCondition(&list.Items[i], corev1.PodReady) == corev1.ConditionTrue {
				ready++
			}
		}
		last = fmt.Sprintf("%d of %d pods Ready", ready, pods)
		return ready == pods, nil
	})
	if err != nil {
		b.Fatalf("waiting for %d pods to be Ready: %v (%s)", pods, err, last)
	}
}

// processFigures are this process's resident memory (bytes), Go heap in use after a GC
// (bytes) and goroutine count.
func processFigures() (rss, heap uint64, goroutines int) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			rss = kb * 1024
		}
	}
	return rss, m.HeapInuse, runtime.NumGoroutine()
}

// processCPU is this process's user plus system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
