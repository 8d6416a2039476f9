package localcluster

import (
	"github.com/aviary-dev/aviary/internal/localnode"

	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// readiness is one probe of a component; waitReady repeats it until it returns nil.
type readiness func(ctx context.Context) error

var probeClient = &http.Client{
	Timeout: 3 * time.Second,
	Transport: &http.Transport{
		// kube-controller-manager and kube-scheduler serve self-signed certificates from
		// their --cert-dir; only /healthz is read from them.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health probe
		DisableKeepAlives: true,
	},
}

func get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return "", err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

func httpOK(url string) readiness {
	return func(ctx context.Context) error {
		_, err := get(ctx, url)
		return err
	}
}

func httpsHealthz(port int) readiness { return httpOK(httpsURL(port) + "/healthz") }

func etcdHealthy(port int) readiness {
	return func(ctx context.Context) error {
		body, err := get(ctx, httpURL(port)+"/health")
		if err != nil {
			return err
		}
		if !strings.Contains(body, `"true"`) {
			return fmt.Errorf("etcd reports %s", strings.TrimSpace(body))
		}
		return nil
	}
}

func apiServerReady(s *Sandbox) readiness {
	return func(ctx context.Context) error {
		cs, err := s.clientset()
		if err != nil {
			return err
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("/readyz: %w %s", err, strings.TrimSpace(string(body)))
		}
		return nil
	}
}

// controllerManagerReady also waits for default/default: until the serviceaccount controller
// has made it, the ServiceAccount admission plugin refuses every pod.
func controllerManagerReady(s *Sandbox) readiness {
	healthz := httpsHealthz(s.cfg.Ports.ControllerManager)
	return func(ctx context.Context) error {
		if err := healthz(ctx); err != nil {
			return err
		}
		cs, err := s.clientset()
		if err != nil {
			return err
		}
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return fmt.Errorf("/healthz is ok, but the serviceaccount controller has not created default/default yet: %w", err)
		}
		return nil
	}
}

func nodeReady(s *Sandbox) readiness {
	return func(ctx context.Context) error {
		cs, err := s.clientset()
		if err != nil {
			return err
		}
		return localnode.CheckReady(ctx, cs, NodeName)
	}
}

// waitReady repeats probe until it succeeds, the process exits (exited may be nil for a
// process another command started) or timeout passes.
func waitReady(ctx context.Context, probe readiness, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		err := probe(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || last == nil {
			last = err
		}
		select {
		case <-exited:
			return errors.New("exited while starting")
		case <-ctx.Done():
			return fmt.Errorf("not ready within %s: %w", timeout, last)
		case <-tick.C:
		}
	}
}

// getHost is get with a Host header when host is not "".
func getHost(ctx context.Context, url, host string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return "", err
	}
	req.Host = host
	resp, err := probeClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s (Host %s): %s %s", url, host, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

func fileExists(path string) readiness {
	return func(context.Context) error {
		_, err := os.Stat(path)
		return err
	}
}
