package localnode

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeKind names a probe in events and state messages, like the kubelet does.
type probeKind string

const (
	readinessProbe probeKind = "Readiness"
	livenessProbe  probeKind = "Liveness"
	startupProbe   probeKind = "Startup"
)

// probeOutcome is one probe attempt's result.
type probeOutcome struct {
	OK      bool
	Message string
	// NotRun says the probe kind cannot run on the local node (exec, grpc) and counted as passed.
	NotRun bool
}

// newProbeClient returns the HTTP client for httpGet probes: no keep-alive (thousands of pods
// would otherwise each hold an idle connection), no redirects followed beyond the kubelet's
// rule, certificates not verified (the kubelet does not verify them either).
func newProbeClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // probes do not verify, like the kubelet
		},
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// checkProbe runs probe p once against a container at podIP, bounded by the probe's timeout.
func checkProbe(ctx context.Context, client *http.Client, p *corev1.Probe, podIP string, ports []corev1.ContainerPort) probeOutcome {
	timeout := time.Duration(defaulted(p.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		return checkHTTP(ctx, client, p.HTTPGet, podIP, ports)
	case p.TCPSocket != nil:
		return checkTCP(ctx, p.TCPSocket, podIP, ports)
	case p.Exec != nil:
		return probeOutcome{OK: true, NotRun: true, Message: "exec probes cannot run on the local node (no processes); counted as passed"}
	case p.GRPC != nil:
		return probeOutcome{OK: true, NotRun: true, Message: "grpc probes are not run by the local node; counted as passed"}
	}
	return probeOutcome{OK: false, Message: "probe has no handler (httpGet, tcpSocket, exec or grpc)"}
}

func checkHTTP(ctx context.Context, client *http.Client, h *corev1.HTTPGetAction, podIP string, ports []corev1.ContainerPort) probeOutcome {
	port, err := resolvePort(h.Port, ports)
	if err != nil {
		return probeOutcome{Message: err.Error()}
	}
	host := h.Host
	if host == "" {
		host = podIP
	}
	scheme := "http"
	if h.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	target, err := u.Parse(pathOrRoot(h.Path))
	if err != nil {
		return probeOutcome{Message: fmt.Sprintf("probe path %q: %v", h.Path, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return probeOutcome{Message: err.Error()}
	}
	req.Header.Set("User-Agent", "kube-probe/aviary-local")
	req.Header.Set("Accept", "*/*")
	for _, hd := range h.HTTPHeaders {
		if hd.Name == "Host" {
			req.Host = hd.Value
			continue
		}
		req.Header.Set(hd.Name, hd.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return probeOutcome{Message: fmt.Sprintf("Get %q: %v", target, err)}
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return probeOutcome{OK: true}
	}
	return probeOutcome{Message: fmt.Sprintf("HTTP probe failed with statuscode: %d", resp.StatusCode)}
}

func checkTCP(ctx context.Context, t *corev1.TCPSocketAction, podIP string, ports []corev1.ContainerPort) probeOutcome {
	port, err := resolvePort(t.Port, ports)
	if err != nil {
		return probeOutcome{Message: err.Error()}
	}
	host := t.Host
	if host == "" {
		host = podIP
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return probeOutcome{Message: fmt.Sprintf("dial tcp %s:%d: %v", host, port, err)}
	}
	_ = conn.Close()
	return probeOutcome{OK: true}
}

// resolvePort turns a probe's port (a number or a container port's name) into a number.
func resolvePort(p intstr.IntOrString, ports []corev1.ContainerPort) (int, error) {
	if p.Type == intstr.Int {
		return tcpPort(int(p.IntVal))
	}
	if n, err := strconv.Atoi(p.StrVal); err == nil {
		return tcpPort(n)
	}
	for _, cp := range ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("probe port %q names no port of the container", p.StrVal)
}

// tcpPort returns n when it is a TCP port number. It checks the int a string port parses to
// before any narrowing, so that 4294967376 is refused rather than wrapped round to 80.
func tcpPort(n int) (int, error) {
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("probe port %d is outside 1..65535: use a container port's number or name", n)
	}
	return n, nil
}

func pathOrRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func defaulted(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

// probeState counts consecutive outcomes against a probe's thresholds, like the kubelet: the
// result flips to passing after successThreshold successes in a row, to failing after
// failureThreshold failures in a row.
type probeState struct {
	passing               bool
	successes, failures   int32
	successNeed, failNeed int32
}

// newProbeState starts a probe with the given initial result: readiness and startup start
// failing, liveness passing.
func newProbeState(p *corev1.Probe, initial bool) probeState {
	return probeState{passing: initial, successNeed: defaulted(p.SuccessThreshold, 1), failNeed: defaulted(p.FailureThreshold, 3)}
}

// observe records one outcome and returns whether the result changed.
func (s *probeState) observe(ok bool) bool {
	if ok {
		s.successes, s.failures = s.successes+1, 0
		if !s.passing && s.successes >= s.successNeed {
			s.passing = true
			return true
		}
		return false
	}
	s.failures, s.successes = s.failures+1, 0
	if s.passing && s.failures >= s.failNeed {
		s.passing = false
		return true
	}
	return false
}

// probeSchedule is when a probe runs: first after the initial delay, then every period.
func probeSchedule(p *corev1.Probe) (initial, period time.Duration) {
	return time.Duration(max(p.InitialDelaySeconds, 0)) * time.Second, time.Duration(defaulted(p.PeriodSeconds, 10)) * time.Second
}
