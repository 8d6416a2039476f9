package localnode

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func serverPort(t *testing.T, srv *httptest.Server) (string, int) {
	t.Helper()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	return host, n
}

func TestCheckProbeHTTPGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Probe") != "yes" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		switch r.URL.Path {
		case "/ok":
		case "/redirect":
			w.WriteHeader(http.StatusFound) // 3xx without Location counts as success, like the kubelet
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	host, port := serverPort(t, srv)
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}
	client := newProbeClient()
	probe := func(path string, p intstr.IntOrString) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: p, HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "yes"}},
		}}}
	}
	for _, tc := range []struct {
		name string
		p    *corev1.Probe
		ok   bool
		msg  string
	}{
		{"200 by number", probe("/ok", intstr.FromInt32(int32(port))), true, ""},
		{"200 by port name", probe("/ok", intstr.FromString("http")), true, ""},
		{"302", probe("/redirect", intstr.FromString("http")), true, ""},
		{"500", probe("/fail", intstr.FromString("http")), false, "statuscode: 500"},
		{"unknown port name", probe("/ok", intstr.FromString("metrics")), false, "names no port"},
	} {
		got := checkProbe(context.Background(), client, tc.p, host, ports)
		if got.OK != tc.ok || !strings.Contains(got.Message, tc.msg) {
			t.Errorf("%s: %+v, want ok=%v message containing %q", tc.name, got, tc.ok, tc.msg)
		}
	}
}

func TestCheckProbeTCPAndTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	tcp := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}}
	if got := checkProbe(context.Background(), newProbeClient(), tcp, "127.0.0.1", nil); !got.OK {
		t.Errorf("tcp probe of a listening port failed: %s", got.Message)
	}
	_ = l.Close()
	if got := checkProbe(context.Background(), newProbeClient(), tcp, "127.0.0.1", nil); got.OK {
		t.Error("tcp probe of a closed port passed")
	}

	// A server slower than the probe's timeout fails the probe.
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	host, sport := serverPort(t, slow)
	p := &corev1.Probe{TimeoutSeconds: 1, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(int32(sport))}}}
	if got := checkProbe(context.Background(), newProbeClient(), p, host, nil); got.OK {
		t.Error("probe of a server slower than timeoutSeconds passed")
	}
}

func TestExecProbesCountAsPassedAndSaySo(t *testing.T) {
	p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	got := checkProbe(context.Background(), newProbeClient(), p, "127.0.0.1", nil)
	if !got.OK || !got.NotRun || !strings.Contains(got.Message, "exec") {
		t.Errorf("exec probe = %+v", got)
	}
}

func TestProbeStateThresholds(t *testing.T) {
	readiness := newProbeState(&corev1.Probe{SuccessThreshold: 2, FailureThreshold: 2}, false)
	steps := []struct {
		ok, changed, passing bool
	}{
		{true, false, false}, // one success of two
		{false, false, false},
		{true, false, false},
		{true, true, true}, // two in a row: ready
		{false, false, true},
		{true, false, true}, // a success resets the failure streak
		{false, false, true},
		{false, true, false}, // two failures in a row: not ready
	}
	for i, s := range steps {
		changed := readiness.observe(s.ok)
		if changed != s.changed || readiness.passing != s.passing {
			t.Fatalf("step %d (ok=%v): changed=%v passing=%v, want %v %v", i, s.ok, changed, readiness.passing, s.changed, s.passing)
		}
	}
	liveness := newProbeState(&corev1.Probe{}, true) // defaults: failureThreshold 3
	for i := range 2 {
		if liveness.observe(false) {
			t.Fatalf("liveness flipped after %d failures", i+1)
		}
	}
	if !liveness.observe(false) || liveness.passing {
		t.Error("liveness did not fail after 3 failures")
	}
}

func TestRestartBackoff(t *testing.T) {
	for n, want := range map[int32]time.Duration{1: 0, 2: 10 * time.Second, 3: 20 * time.Second, 4: 40 * time.Second, 10: 5 * time.Minute} {
		if got := restartBackoff(n); got != want {
			t.Errorf("restartBackoff(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestResolvePortRefusesNumbersOutsideTCPRange: a port given as a string is range-checked as
// the number it spells, not after narrowing to int32 (4294967376 would wrap round to 80).
func TestResolvePortRefusesNumbersOutsideTCPRange(t *testing.T) {
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	for _, p := range []intstr.IntOrString{intstr.FromString("4294967376"), intstr.FromString("0"), intstr.FromString("65536"), intstr.FromInt32(70000)} {
		if n, err := resolvePort(p, ports); err == nil || !strings.Contains(err.Error(), "outside 1..65535") {
			t.Errorf("resolvePort(%s) = %d, %v; want an error that the port is outside 1..65535", p.String(), n, err)
		}
	}
	for p, want := range map[intstr.IntOrString]int{intstr.FromString("80"): 80, intstr.FromInt32(65535): 65535, intstr.FromString("http"): 8080} {
		if n, err := resolvePort(p, ports); err != nil || n != want {
			t.Errorf("resolvePort(%s) = %d, %v; want %d", p.String(), n, err, want)
		}
	}
}
