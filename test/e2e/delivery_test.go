//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/localcluster"
)

// The progressive-delivery scenarios share one sandbox of their own, away from TestSandbox's
// ports and gateway address, so that both can run in one `go test`.
const (
	deliveryPortBase = "28000"
	deliveryGateway  = "127.0.100.220"
)

// delivery is a running sandbox with the demo applied, and the means to drive it.
type delivery struct {
	sb         *sandbox
	kubeconfig string
	cfg        localcluster.Config
	kube       client.Client
	gw         *gatewayClient
}

// TestProgressiveDelivery runs the canary scenarios against real processes with real HTTP
// through the gateway: a human walking the demo's targeted canary (set image, header route,
// promote to 20%, abort, retry, full promotion), and an analysis that rolls a bad version back
// and lets a good one through with no human step. Both share one sandbox and run in parallel
// on different Rollouts.
func TestProgressiveDelivery(t *testing.T) {
	d := startDelivery(t)
	t.Run("TargetedCanaryWalk", func(t *testing.T) {
		t.Parallel()
		targetedCanaryWalk(t, d)
	})
	t.Run("AnalysisRollback", func(t *testing.T) {
		t.Parallel()
		analysisRollback(t, d)
	})
}

func startDelivery(t *testing.T) *delivery {
	t.Helper()
	tmp := t.TempDir()
	sb := &sandbox{t: t, bin: buildAviary(t, tmp), state: filepath.Join(tmp, "state"), ports: deliveryPortBase}
	t.Cleanup(func() {
		if _, err := os.Stat(sb.state); err != nil {
			return
		}
		if t.Failed() {
			dumpLogs(t, sb.state)
		}
		pids := readPids(t, sb.state)
		sb.run("down")
		for _, r := range pids {
			if localcluster.Alive(r.Pid) {
				t.Errorf("pid %d (%s) still runs after down", r.Pid, strings.Join(r.Args, " "))
			}
		}
	})
	sb.run("up")
	d := &delivery{sb: sb, cfg: readConfig(t, sb.state), gw: newGatewayClient(deliveryGateway)}
	d.kubeconfig = strings.TrimSpace(sb.run("kubeconfig"))
	d.kube = kubeClient(t, d.kubeconfig)
	sb.run("demo", "--gateway-address="+deliveryGateway)
	d.gw.waitAll(t, time.Minute, 10, "", nil, "blue")
	return d
}

func kubeClient(t *testing.T, kubeconfig string) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, gatewayv1.Install} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	// The client logs nothing worth reading here; without a logger controller-runtime prints a
	// stack trace to say so.
	ctrllog.SetLogger(logr.Discard())
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// aviary runs the CLI (`aviary --kubeconfig <sandbox> <args>`) and fails the test when it fails.
func (d *delivery) aviary(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.sb.bin, append([]string{"--kubeconfig", d.kubeconfig}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("aviary %s:\n%s", strings.Join(args, " "), out.String())
	if err != nil {
		t.Fatalf("aviary %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

// waitRollout polls the Rollout until cond holds (it returns "" then, else what is still
// missing), failing the test with the last reason and status after timeout.
func (d *delivery) waitRollout(t *testing.T, name string, timeout time.Duration, cond func(*v1alpha1.Rollout) string) *v1alpha1.Rollout {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	var ro v1alpha1.Rollout
	var why, lastSeen string
	for {
		err := d.kube.Get(ctx, types.NamespacedName{Namespace: "default", Name: name}, &ro)
		if err == nil {
			// Each change of phase, step or message, for reading a slow or failed wait.
			if seen := fmt.Sprintf("phase %s, step %d, message %q", ro.Status.Phase, stepOf(&ro), ro.Status.Message); seen != lastSeen {
				t.Logf("Rollout %s +%s: %s", name, time.Since(start).Round(100*time.Millisecond), seen)
				lastSeen = seen
			}
			if why = cond(&ro); why == "" {
				t.Logf("Rollout %s after %s: phase %s, step %d", name, time.Since(start).Round(100*time.Millisecond), ro.Status.Phase, stepOf(&ro))
				return &ro
			}
		} else {
			why = err.Error()
		}
		if ctx.Err() != nil {
			t.Fatalf("Rollout %s after %s: %s (phase %q, message %q, step %v, abort %v)",
				name, timeout, why, ro.Status.Phase, ro.Status.Message, stepOf(&ro), ro.Status.Abort)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func stepOf(ro *v1alpha1.Rollout) int32 {
	if ro.Status.CurrentStepIndex == nil {
		return -1
	}
	return *ro.Status.CurrentStepIndex
}

// waitRoute polls the HTTPRoute until cond holds ("" then, else what is missing), for up to
// walkTimeout.
func (d *delivery) waitRoute(t *testing.T, name string, cond func(*gatewayv1.HTTPRoute) string) *gatewayv1.HTTPRoute {
	t.Helper()
	timeout := walkTimeout
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var rt gatewayv1.HTTPRoute
	var why string
	for {
		err := d.kube.Get(ctx, types.NamespacedName{Namespace: "default", Name: name}, &rt)
		if err == nil {
			if why = cond(&rt); why == "" {
				return &rt
			}
		} else {
			why = err.Error()
		}
		if ctx.Err() != nil {
			t.Fatalf("HTTPRoute %s after %s: %s; rules %s", name, timeout, why, describeRules(&rt))
		}
		time.Sleep(250 * time.Millisecond)
	}
}
