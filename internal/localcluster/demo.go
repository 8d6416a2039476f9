package localcluster

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/aviary-dev/aviary/internal/localnode"
	"github.com/aviary-dev/aviary/internal/podstate"
)

//go:embed demo/*.yaml
var demoManifests embed.FS

// DefaultDemoAddress is the loopback address the demo Gateway asks for.
const DefaultDemoAddress = "127.0.100.10"

// demoPort is the Gateway listener's port: above 1024, so no root is needed.
const demoPort = "8080"

// demoWait bounds each wait of the demo: pods ready, a Gateway address, a first answer.
const demoWait = 2 * time.Minute

// DemoObjects returns the demo's objects with the Gateway asking for address.
func DemoObjects(address string) ([]*unstructured.Unstructured, error) {
	if ip := net.ParseIP(address); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil, fmt.Errorf("gateway address %q: want an IPv4 loopback address such as %s", address, DefaultDemoAddress)
	}
	objs, err := manifestsIn(demoManifests, "demo/*.yaml", nil)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.GetKind() == "Gateway" {
			addrs := []any{map[string]any{"type": "IPAddress", "value": address}}
			if err := unstructured.SetNestedSlice(o.Object, addrs, "spec", "addresses"); err != nil {
				return nil, err
			}
		}
	}
	return objs, nil
}

// Demo applies the demo, waits until it answers through the gateway and prints what to try.
func (s *Sandbox) Demo(ctx context.Context, address string) error {
	objs, err := DemoObjects(address)
	if err != nil {
		return err
	}
	cfg, err := readConfig(s.layout.ConfigFile())
	if err != nil {
		return fmt.Errorf("no sandbox in %s: run `aviary local up` first", s.layout.Dir)
	}
	s.cfg = cfg
	if err := s.clients(); err != nil {
		return err
	}
	if err := localnode.CheckReady(ctx, s.cs, NodeName); err != nil {
		return fmt.Errorf("%w: pods cannot run; `aviary local status` shows the node, `aviary local up` restarts it", err)
	}
	if err := s.apply(ctx, objs); err != nil {
		return err
	}
	s.printf("Applied the demo: GatewayClass aviary, Gateway demo, HTTPRoutes demo, demo-stable and demo-preview, Services demo-stable and demo-canary, Rollout demo.\n")
	if err := s.waitDemoPods(ctx); err != nil {
		return err
	}
	url, err := s.waitGatewayURL(ctx)
	if err != nil {
		return err
	}
	color, err := waitAnswer(ctx, url+"/color", "")
	if err != nil {
		return fmt.Errorf("the demo does not answer through the gateway at %s: %w; the gateway's log is %s", url, err, s.layout.LogFile("gateway"))
	}
	s.printDemoHelp(url, strings.TrimSpace(color))
	return nil
}

// waitDemoPods waits until the Rollout's pods are all Running and Ready.
func (s *Sandbox) waitDemoPods(ctx context.Context) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, demoWait, true, func(ctx context.Context) (bool, error) {
		pods, err := s.cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=demo"})
		if err != nil {
			last = err.Error()
			return false, nil //nolint:nilerr // keep polling; last is reported on timeout
		}
		ready := 0
		for i := range pods.Items {
			if runningAndReady(&pods.Items[i]) {
				ready++
			}
		}
		last = fmt.Sprintf("%d of %d pods ready", ready, len(pods.Items))
		return len(pods.Items) > 0 && ready == len(pods.Items), nil
	})
	if err != nil {
		return fmt.Errorf("the demo's pods are not ready within %s (%s): see `kubectl get pods -o wide` and %s", demoWait, last, s.layout.LogFile("node"))
	}
	s.printf("Demo pods: %s.\n", last)
	return nil
}

// runningAndReady is what the demo waits for: a pod that runs, is ready and is staying.
func runningAndReady(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && podstate.Ready(p)
}

func (s *Sandbox) waitGatewayURL(ctx context.Context) (string, error) {
	var url string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, demoWait, true, func(ctx context.Context) (bool, error) {
		gw, err := s.dyn.Resource(gatewayGVR).Namespace("default").Get(ctx, "demo", metav1.GetOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // keep polling until the Gateway has an address
		}
		if urls := urlsOf(gw); len(urls) > 0 {
			url = urls[0].URL
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("gateway default/demo has no address within %s: is `aviary gateway` running (`aviary local status`)? its log is %s",
			demoWait, s.layout.LogFile("gateway"))
	}
	return url, nil
}

// waitAnswer GETs url (with a Host header when host is set) until it answers 200.
func waitAnswer(ctx context.Context, url, host string) (string, error) {
	var body string
	var last error
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, demoWait, true, func(ctx context.Context) (bool, error) {
		body, last = getHost(ctx, url, host)
		return last == nil, nil
	})
	if err != nil {
		return "", errors.Join(err, last)
	}
	return body, nil
}

func (s *Sandbox) printDemoHelp(url, color string) {
	host := strings.TrimPrefix(url, "http://")
	s.printf(`
The demo answers at %[1]s (GET /color says %[2]s).
  Open it:      %[1]s/
  Stable only:  curl -H 'Host: stable.demo.local' %[1]s/color
  Canary only:  curl -H 'Host: preview.demo.local' %[1]s/color
  (or: curl --resolve stable.demo.local:%[4]s:%[3]s http://stable.demo.local:%[4]s/color)

Try a canary release:
  export KUBECONFIG=%[5]s
  %[6]s set image demo demo=argoproj/rollouts-demo:yellow
  %[6]s get rollout demo -w     # watch the steps (in another terminal)
  curl %[1]s/color                      # everyone else: still the stable version
  curl -H 'X-Canary: yes' %[1]s/color   # the canary, for those who ask for it
  %[6]s promote demo            # on to 20%%, then 50%%, then 100%%
  curl -H 'X-User: alice' %[1]s/color   # each user stays on one version as the weight grows
  %[6]s abort demo              # or back to the stable version
`, url, color, strings.Split(host, ":")[0], demoPort, s.layout.AdminKubeconfig(), commandName())
	if s.cfg.Prometheus != "" {
		s.printf("Prometheus: %s (scrapes the demo pods, the controller and the gateway)\n", httpURL(s.cfg.Ports.Prometheus))
	}
}

// commandName is how the user can run this binary again: "aviary" when that is what $PATH
// finds, else the path they ran (bin/aviary after `make sandbox`).
func commandName() string {
	exe, err := os.Executable()
	if err != nil {
		return "aviary"
	}
	if onPath, err := exec.LookPath("aviary"); err == nil {
		if sameFile(exe, onPath) {
			return "aviary"
		}
	}
	if len(os.Args) > 0 && strings.Contains(os.Args[0], "/") {
		return os.Args[0]
	}
	return exe
}

func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
