package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/internal/echo"
	"github.com/aviary-dev/aviary/internal/localnode"
)

// startLocalNode runs the real local node in-process against the test API server, with pod IPs
// from a range of its own, until the test ends.
func startLocalNode(t testing.TB, name string, first, last string) *localnode.Node {
	t.Helper()
	o := localnode.DefaultOptions()
	o.NodeName = name
	o.FirstIP, o.LastIP = netip.MustParseAddr(first), netip.MustParseAddr(last)
	o.Listen = "127.0.0.1:0"
	o.MaxPods = 110
	n, err := localnode.New(env.Config, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("local node stopped with: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("local node did not stop within 30s")
		}
	})
	if err := n.WaitReady(t.Context(), settle); err != nil {
		t.Fatalf("local node not ready: %v", err)
	}
	return n
}

func localNodeNamespace(t testing.TB, c kubernetes.Interface, ns string) {
	t.Helper()
	if _, err := c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	// Pods need the namespace's default ServiceAccount, which kube-controller-manager creates.
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, settle, true, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("no default ServiceAccount in %s: %v", ns, err)
	}
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func describePod(pod *corev1.Pod) string {
	b, _ := json.Marshal(pod.Status)
	return string(b)
}

// waitPod waits until cond holds for the pod and returns it.
func waitPod(t *testing.T, c kubernetes.Interface, ns, name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	waitFor(t.Context(), t, what, func(ctx context.Context) (bool, string, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		pod = p
		return cond(p), describePod(p), nil
	})
	return pod
}

func running(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP != "" &&
		len(pod.Status.ContainerStatuses) > 0 && pod.Status.ContainerStatuses[0].State.Running != nil
}

func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestLocalNodeRunsEchoPodsWithProbesLogsAndDeletion(t *testing.T) {
	c := kubernetes.NewForConfigOrDie(env.Config)
	n := startLocalNode(t, "aviary-local-echo", "127.201.0.1", "127.201.0.254")
	const ns = "localnode-echo"
	localNodeNamespace(t, c, ns)

	node, err := c.CoreV1().Nodes().Get(t.Context(), "aviary-local-echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodeReady := false
	for _, cond := range node.Status.Conditions {
		nodeReady = nodeReady || (cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue)
	}
	if !nodeReady {
		t.Errorf("node conditions %+v: want Ready=True", node.Status.Conditions)
	}
	if got := node.Status.Allocatable.Pods().Value(); got != 110 {
		t.Errorf("node allocatable pods = %d, want 110", got)
	}
	if node.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 || len(node.Status.Addresses) != 1 || node.Status.Addresses[0].Address != "127.0.0.1" {
		t.Errorf("node addresses %v, kubelet port %d: want InternalIP 127.0.0.1 and the kubelet API's port", node.Status.Addresses, node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	}

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "echo"},
		Spec: corev1.PodSpec{
			NodeName:                      "aviary-local-echo",
			TerminationGracePeriodSeconds: ptr.To[int64](5),
			Containers: []corev1.Container{{
				Name:  "echo",
				Image: "registry.k8s.io/gateway-api/conformance/echo-basic:v0.1.0",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 3000}},
				Env: []corev1.EnvVar{
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
				},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("http")}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
	if _, err := c.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod = waitPod(t, c, ns, "echo", "echo pod Running and Ready", func(p *corev1.Pod) bool {
		return running(p) && podCondition(p, corev1.PodReady) == corev1.ConditionTrue
	})
	ip, err := netip.ParseAddr(pod.Status.PodIP)
	if err != nil || ip.Less(netip.MustParseAddr("127.201.0.1")) || netip.MustParseAddr("127.201.0.254").Less(ip) {
		t.Fatalf("pod IP %q is not from the node's range 127.201.0.1-127.201.0.254", pod.Status.PodIP)
	}
	if pod.Status.StartTime == nil || pod.Status.HostIP != "127.0.0.1" || podCondition(pod, corev1.ContainersReady) != corev1.ConditionTrue {
		t.Errorf("pod status lacks startTime, hostIP or ContainersReady: %s", describePod(pod))
	}

	// The pod IP answers HTTP with echo-basic's JSON naming this pod.
	code, body := httpGet(t, "http://"+net.JoinHostPort(pod.Status.PodIP, "3000")+"/some/path?x=1")
	var got echo.Response
	if err := json.Unmarshal(body, &got); err != nil || code != http.StatusOK {
		t.Fatalf("echo answered %d %q: %v", code, body, err)
	}
	if got.Pod != "echo" || got.Namespace != ns || got.Path != "/some/path?x=1" || got.Method != http.MethodGet || !strings.Contains(got.Image, "echo-basic") {
		t.Errorf("echo JSON = %+v, want pod echo in %s, path /some/path?x=1, its image", got, ns)
	}

	// kubectl logs: through the API server to the node's kubelet API.
	logs, err := c.CoreV1().Pods(ns).GetLogs("echo", &corev1.PodLogOptions{Container: "echo"}).DoRaw(t.Context())
	if err != nil {
		t.Fatalf("reading the pod's logs through the API server: %v", err)
	}
	if !bytes.Contains(logs, []byte("Echoing back request made to /some/path?x=1")) {
		t.Errorf("pod logs lack the access line for /some/path?x=1:\n%s", logs)
	}

	// Graceful deletion stops the server, frees the IP and removes the pod.
	inUse := n.Provider.PodCount()
	if err := c.CoreV1().Pods(ns).Delete(t.Context(), "echo", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t.Context(), t, "echo pod gone from the API", func(ctx context.Context) (bool, string, error) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, "echo", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, describePod(p), nil
	})
	if got := n.Provider.PodCount(); got != inUse-1 {
		t.Errorf("node runs %d pods after the deletion, want %d", got, inUse-1)
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(pod.Status.PodIP, "3000"), 2*time.Second)
	if err == nil {
		_ = conn.Close()
		t.Errorf("%s:3000 still accepts connections after the pod was deleted", pod.Status.PodIP)
	}
}

func TestLocalNodeRestartsContainersFailingLiveness(t *testing.T) {
	c := kubernetes.NewForConfigOrDie(env.Config)
	startLocalNode(t, "aviary-local-liveness", "127.202.0.1", "127.202.0.254")
	const ns = "localnode-liveness"
	localNodeNamespace(t, c, ns)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sick"},
		Spec: corev1.PodSpec{
			NodeName: "aviary-local-liveness",
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "example.com/anything:1",
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				// echo answers /status/500 with 500: the probe always fails.
				LivenessProbe: &corev1.Probe{
					ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/status/500", Port: intstr.FromInt32(8080)}},
					PeriodSeconds:    1,
					FailureThreshold: 2,
				},
			}},
		},
	}
	if _, err := c.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod = waitPod(t, c, ns, "sick", "a restart after failed liveness probes", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	last := pod.Status.ContainerStatuses[0].LastTerminationState.Terminated
	if last == nil || last.ExitCode != 137 || !strings.Contains(last.Message, "Liveness probe failed") {
		t.Errorf("last termination = %+v, want exit 137 with the liveness failure", last)
	}
	if pod.Status.Phase != corev1.PodRunning {
		t.Errorf("phase = %s after a restart, want Running", pod.Status.Phase)
	}
	logs, err := c.CoreV1().Pods(ns).GetLogs("sick", &corev1.PodLogOptions{Container: "app", Previous: true}).DoRaw(t.Context())
	if err != nil || !bytes.Contains(logs, []byte("Liveness probe failed")) {
		t.Errorf("previous run's logs = %q, %v; want its stop line naming the liveness failure", logs, err)
	}
}

func TestLocalNodeDemoReplicaSetReadyOnlyWhenReadinessPasses(t *testing.T) {
	c := kubernetes.NewForConfigOrDie(env.Config)
	startLocalNode(t, "aviary-local-demo", "127.203.0.1", "127.203.0.254")
	const ns = "localnode-demo"
	localNodeNamespace(t, c, ns)
	labels := map[string]string{"app": "demo"}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeName: "aviary-local-demo",
					Containers: []corev1.Container{{
						Name:  "demo",
						Image: "argoproj/rollouts-demo:blue",
						Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
						// Every /color fails until the test turns the error rate down.
						Env: []corev1.EnvVar{{Name: "ERROR_RATE", Value: "100"}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/color", Port: intstr.FromInt32(8080)}},
							PeriodSeconds: 1,
						},
					}},
				},
			},
		},
	}
	if _, err := c.AppsV1().ReplicaSets(ns).Create(t.Context(), rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var podName string
	waitFor(t.Context(), t, "the ReplicaSet's pod running", func(ctx context.Context) (bool, string, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=demo"})
		if err != nil || len(pods.Items) != 1 {
			return false, fmt.Sprintf("%d pods", len(pods.Items)), err
		}
		podName = pods.Items[0].Name
		return running(&pods.Items[0]), describePod(&pods.Items[0]), nil
	})
	// The probe has failed at least a few times: wait for the node's Unhealthy events.
	waitFor(t.Context(), t, "failed readiness probes reported", func(ctx context.Context) (bool, string, error) {
		evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=Unhealthy,involvedObject.name=" + podName})
		if err != nil {
			return false, "", err
		}
		count := int32(0)
		for _, e := range evs.Items {
			count += max(e.Count, 1)
		}
		return count >= 3, fmt.Sprintf("%d Unhealthy events", count), nil
	})
	pod, err := c.CoreV1().Pods(ns).Get(t.Context(), podName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if podCondition(pod, corev1.PodReady) != corev1.ConditionFalse || pod.Status.ContainerStatuses[0].Ready {
		t.Fatalf("pod is ready while its readiness probe fails: %s", describePod(pod))
	}
	if got, _ := c.AppsV1().ReplicaSets(ns).Get(t.Context(), "demo", metav1.GetOptions{}); got != nil && got.Status.ReadyReplicas != 0 {
		t.Errorf("ReplicaSet counts %d ready replicas while the probe fails", got.Status.ReadyReplicas)
	}
	code, body := httpGet(t, "http://"+net.JoinHostPort(pod.Status.PodIP, "8080")+"/color")
	if code != http.StatusInternalServerError || strings.TrimSpace(string(body)) != `"blue"` {
		t.Errorf("/color with ERROR_RATE=100 answered %d %s, want 500 \"blue\"", code, body)
	}

	// Turn the error rate down through the app's knob: the probe passes, the pod becomes ready
	// and the ReplicaSet counts it available.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, "http://"+net.JoinHostPort(pod.Status.PodIP, "8080")+"/knobs", strings.NewReader(`{"errorRate":0}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /knobs answered %d", resp.StatusCode)
	}
	waitFor(t.Context(), t, "ReplicaSet available once the probe passes", func(ctx context.Context) (bool, string, error) {
		got, err := c.AppsV1().ReplicaSets(ns).Get(ctx, "demo", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return got.Status.ReadyReplicas == 1 && got.Status.AvailableReplicas == 1, fmt.Sprintf("%+v", got.Status), nil
	})
	code, body = httpGet(t, "http://"+net.JoinHostPort(pod.Status.PodIP, "8080")+"/color")
	if code != http.StatusOK || strings.TrimSpace(string(body)) != `"blue"` {
		t.Errorf("/color answered %d %s, want 200 \"blue\"", code, body)
	}
	logs, err := c.CoreV1().Pods(ns).GetLogs(podName, &corev1.PodLogOptions{TailLines: ptr.To[int64](50)}).DoRaw(t.Context())
	if err != nil || !bytes.Contains(logs, []byte(`GET "/color" 200`)) {
		t.Errorf("demo logs = %q, %v; want access lines", logs, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}
