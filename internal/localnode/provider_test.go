package localnode

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/internal/echo"
)

// statusLog keeps the latest status the provider reported per pod.
type statusLog struct {
	mu   sync.Mutex
	last map[string]*corev1.Pod
}

func (s *statusLog) record(p *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[p.Name] = p
}

func (s *statusLog) get(name string) *corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[name]
}

func newTestProvider(t *testing.T, first, last string) (*Provider, *statusLog) {
	t.Helper()
	ips, err := NewIPAllocator(netip.MustParseAddr(first), netip.MustParseAddr(last))
	if err != nil {
		t.Fatal(err)
	}
	p := NewProvider(ProviderConfig{NodeName: "test-node", IPs: ips, Sources: fakeSources{}})
	log := &statusLog{last: map[string]*corev1.Pod{}}
	p.NotifyPods(context.Background(), log.record)
	t.Cleanup(p.stopAll)
	return p, log
}

func waitStatus(t *testing.T, log *statusLog, name, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var got *corev1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		got = log.get(name)
		return got != nil && cond(got), nil
	})
	if err != nil {
		b, _ := json.Marshal(got)
		t.Fatalf("%s: %v; last status %s", what, err, b)
	}
	return got
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestProviderRunsPodsOnTheirOwnIPAndStopsThemOnDelete(t *testing.T) {
	p, log := newTestProvider(t, "127.204.0.1", "127.204.0.20")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-1", DeletionGracePeriodSeconds: ptr.To[int64](5)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{
				Name: "echo", Image: "nginx:1",
				Ports: []corev1.ContainerPort{{ContainerPort: 3000}, {ContainerPort: 3001}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(3000)}},
					PeriodSeconds: 1,
				},
			},
			{Name: "sidecar", Image: "busybox"}, // no ports: nothing to serve, still running
		}},
	}
	if err := p.CreatePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	got := waitStatus(t, log, "web", "pod ready", isReady)
	if got.Status.Phase != corev1.PodRunning || got.Status.PodIP == "" || len(got.Status.ContainerStatuses) != 2 {
		t.Fatalf("status = %+v", got.Status)
	}
	ip := got.Status.PodIP
	for _, port := range []string{"3000", "3001"} {
		resp, err := http.Get("http://" + net.JoinHostPort(ip, port) + "/x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var r echo.Response
		if err := json.Unmarshal(body, &r); err != nil || r.Pod != "web" || r.Namespace != "shop" || r.Image != "nginx:1" {
			t.Errorf("port %s answered %s (%v)", port, body, err)
		}
	}

	// The same port speaks cleartext HTTP/2 to a client that asks for it.
	h2 := &http.Client{Transport: &http.Transport{Protocols: h2cOnly()}}
	resp, err := h2.Get("http://" + net.JoinHostPort(ip, "3000") + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	var r echo.Response
	_ = json.NewDecoder(resp.Body).Decode(&r)
	_ = resp.Body.Close()
	if r.Proto != "HTTP/2.0" {
		t.Errorf("h2c request reported proto %q, want HTTP/2.0", r.Proto)
	}

	if err := p.DeletePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	final := waitStatus(t, log, "web", "pod terminated", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	for _, cs := range final.Status.ContainerStatuses {
		if cs.State.Terminated == nil || cs.Ready {
			t.Errorf("container %s after deletion: %+v", cs.Name, cs.State)
		}
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return p.PodCount() == 0 && p.ips.InUse() == 0, nil
	}); err != nil {
		t.Fatalf("pod still known (%d) or IP still held (%d) after deletion", p.PodCount(), p.ips.InUse())
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "3000"), time.Second); err == nil {
		_ = conn.Close()
		t.Error("the deleted pod's port still accepts connections")
	}
}

func TestProviderReportsContainerProblemsInStatus(t *testing.T) {
	p, log := newTestProvider(t, "127.204.1.1", "127.204.1.20")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: "shop", UID: "uid-2"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "argoproj/rollouts-demo:blue",
			Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}, Key: "k",
			}}}},
		}}},
	}
	if err := p.CreatePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	got := waitStatus(t, log, "broken", "waiting status", func(p *corev1.Pod) bool { return len(p.Status.ContainerStatuses) == 1 })
	w := got.Status.ContainerStatuses[0].State.Waiting
	if got.Status.Phase != corev1.PodPending || w == nil || w.Reason != "CreateContainerConfigError" || isReady(got) {
		t.Errorf("status = %+v, want Pending with CreateContainerConfigError", got.Status)
	}
}

func TestProviderDemoImageServesOn8080WithoutDeclaredPorts(t *testing.T) {
	p, log := newTestProvider(t, "127.204.2.1", "127.204.2.20")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "shop", UID: "uid-3", DeletionGracePeriodSeconds: ptr.To[int64](1)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "demo", Image: "argoproj/rollouts-demo:slow-green", Env: []corev1.EnvVar{{Name: "LATENCY", Value: "1ms"}}}}},
	}
	if err := p.CreatePod(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	got := waitStatus(t, log, "demo", "ready", isReady)
	resp, err := http.Get("http://" + net.JoinHostPort(got.Status.PodIP, "8080") + "/color")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(body) != "\"green\"\n" {
		t.Errorf("/color = %q, want \"green\"", body)
	}
}

func TestProviderEchoImageServesOnHTTPPortOr3000WithoutDeclaredPorts(t *testing.T) {
	p, log := newTestProvider(t, "127.204.3.1", "127.204.3.20")
	for _, tc := range []struct {
		name, port string
		env        []corev1.EnvVar
	}{
		{name: "echo-default", port: "3000"},
		{name: "echo-http-port", port: "3100", env: []corev1.EnvVar{{Name: "HTTP_PORT", Value: "3100"}}},
	} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: "shop", UID: types.UID("uid-" + tc.name), DeletionGracePeriodSeconds: ptr.To[int64](1)},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "echo", Image: "registry.k8s.io/gateway-api/echo-basic:v1.5.1", Env: tc.env}}},
		}
		if err := p.CreatePod(context.Background(), pod); err != nil {
			t.Fatal(err)
		}
		got := waitStatus(t, log, tc.name, "ready", isReady)
		resp, err := http.Get("http://" + net.JoinHostPort(got.Status.PodIP, tc.port) + "/hello")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var echoed struct{ Pod string }
		err = json.NewDecoder(resp.Body).Decode(&echoed)
		_ = resp.Body.Close()
		if err != nil || echoed.Pod != tc.name {
			t.Errorf("%s: echo on port %s named pod %q (%v), want %q", tc.name, tc.port, echoed.Pod, err, tc.name)
		}
	}
}

func h2cOnly() *http.Protocols {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return p
}
