package controller

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	clientevents "k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/events"
	"github.com/aviary-dev/aviary/internal/testenv"
)

// TestRunAgainstAPIServer starts `aviary controller`'s Run against a real kube-apiserver and
// checks what it serves: probes, metrics of the Rollouts in its scope only, and the Lease.
// It needs KUBEBUILDER_ASSETS (`make controlplane`) and is skipped without it.
func TestRunAgainstAPIServer(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run with KUBEBUILDER_ASSETS=$(make -s controlplane | tail -n 1)")
	}
	log := NewLogger(NewOptions(), t.Output())
	ctrl.SetLogger(log)
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := env.Client
	for _, ns := range []string{"shop", "ops"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	// One Rollout for the default controller, one for --instance-id=blue.
	for name, labels := range map[string]map[string]string{
		"mine":   nil,
		"theirs": {v1alpha1.InstanceIDLabel: "blue"},
	} {
		ro := &v1alpha1.Rollout{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Labels: labels},
			Spec: v1alpha1.RolloutSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
				Template: &corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "argoproj/rollouts-demo:blue"}}},
				},
				Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}},
			},
		}
		if err := c.Create(ctx, ro); err != nil {
			t.Fatal(err)
		}
	}

	o := NewOptions()
	o.Kubeconfig = writeKubeconfig(t, env)
	o.LeaderElectionNamespace = "ops"
	o.MetricsPort, o.HealthzPort = freePort(t), freePort(t)
	o.Version = "v0.0.0-test"
	runCtx, stop := context.WithCancel(ctrl.LoggerInto(ctx, log))
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, o) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	})

	probe := fmt.Sprintf("http://127.0.0.1:%d", o.HealthzPort)
	eventually(ctx, t, "/healthz answers 200", func() bool { return get(ctx, probe+"/healthz") != "" })
	eventually(ctx, t, "/readyz answers 200", func() bool { return get(ctx, probe+"/readyz") != "" })

	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", o.MetricsPort)
	eventually(ctx, t, "rollout_info of shop/mine is served", func() bool {
		return strings.Contains(get(ctx, metricsURL), `rollout_info{name="mine",namespace="shop"`)
	})
	body := get(ctx, metricsURL)
	for _, want := range []string{
		`argo_rollouts_controller_info{version="v0.0.0-test"} 1`,
		`rollout_info_replicas_desired{name="mine",namespace="shop"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `name="theirs"`) {
		t.Error("/metrics reports a Rollout labelled for another controller instance")
	}

	var lease coordinationv1.Lease
	if err := c.Get(ctx, client.ObjectKey{Namespace: "ops", Name: LeaderElectionID}, &lease); err != nil {
		t.Errorf("leader election Lease ops/%s: %v", LeaderElectionID, err)
	}

	checkEvents(ctx, t, env)

	// A deleted Rollout disappears from the next scrape.
	if err := c.Delete(ctx, &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "mine"}}); err != nil {
		t.Fatal(err)
	}
	var left []string
	eventually(ctx, t, "shop/mine leaves /metrics", func() bool {
		b := get(ctx, metricsURL)
		left = nil
		for _, line := range strings.Split(b, "\n") {
			if strings.Contains(line, `name="mine"`) {
				left = append(left, line)
			}
		}
		return b != "" && len(left) == 0
	}, &left)
}

// checkEvents records an Event through the sink as the controller does (events.k8s.io) and
// reads it back through the core API, as `kubectl describe` does: the API server accepts the
// sink's Events, long messages included.
func checkEvents(ctx context.Context, t *testing.T, env *testenv.Env) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	broadcaster := clientevents.NewBroadcaster(&clientevents.EventSinkImpl{Interface: cs.EventsV1()})
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	defer broadcaster.Shutdown()
	var ro v1alpha1.Rollout
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "mine"}, &ro); err != nil {
		t.Fatal(err)
	}
	sink := events.NewSink(broadcaster.NewRecorder(env.Scheme, events.Component), nil)
	sink.Event(&ro, corev1.EventTypeWarning, "SmokeTest", "100% "+strings.Repeat("x", 2000))

	eventually(ctx, t, "the Event is listed by the core API", func() bool {
		list, err := cs.CoreV1().Events("shop").List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.name=mine,involvedObject.kind=Rollout,reason=SmokeTest",
		})
		if err != nil || len(list.Items) != 1 {
			return false
		}
		e := list.Items[0]
		if e.ReportingController != events.Component || !strings.HasPrefix(e.Message, "100% x") || len(e.Message) > events.MaxMessageBytes {
			t.Errorf("event from %q with a %d-byte message %.20q", e.ReportingController, len(e.Message), e.Message)
		}
		return true
	})
}

func writeKubeconfig(t *testing.T, env *testenv.Env) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	cfg.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: env.Config.CertData, ClientKeyData: env.Config.KeyData, Token: env.Config.BearerToken,
	}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	cfg.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// get returns the body of a 200 answer, else "".
func get(ctx context.Context, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

// eventually polls cond until it holds; on timeout it fails, printing details if given.
func eventually(ctx context.Context, t *testing.T, what string, cond func() bool, details ...any) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s %v", what, details)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
