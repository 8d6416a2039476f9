//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// The checkout app: its own Rollout, Services and HTTPRoute on the demo's Gateway, reached
// with Host checkout.demo.local. Steps: 50% to the canary, the success-rate analysis against
// the sandbox's Prometheus, 100%. The readiness probe asks / so that a bad version (500s on
// /color) still becomes ready and takes traffic, as a real bad release would.
const checkoutManifests = `
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate, namespace: default}
spec:
  args:
    - name: canary-hash
    - name: prometheus
      value: PROMETHEUS
  metrics:
    - name: success-rate
      # Prometheus scrapes every 5s and rate() needs two samples of the new pods.
      initialDelay: 10s
      interval: 5s
      count: 4
      failureLimit: 0
      inconclusiveLimit: 2
      successCondition: len(result) > 0 && !isNaN(result[0]) && result[0] >= 0.95
      failureCondition: len(result) > 0 && !isNaN(result[0]) && result[0] < 0.95
      provider:
        prometheus:
          address: "{{args.prometheus}}"
          query: |
            sum(rate(demo_http_requests_total{rollouts_pod_template_hash="{{args.canary-hash}}",code!~"5.."}[30s]))
            /
            sum(rate(demo_http_requests_total{rollouts_pod_template_hash="{{args.canary-hash}}"}[30s]))
---
apiVersion: v1
kind: Service
metadata: {name: checkout-stable, namespace: default}
spec:
  selector: {app: checkout}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: checkout-canary, namespace: default}
spec:
  selector: {app: checkout}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: checkout, namespace: default}
spec:
  parentRefs: [{name: demo}]
  hostnames: [checkout.demo.local]
  rules:
    - backendRefs:
        - {name: checkout-stable, port: 80, weight: 100}
        - {name: checkout-canary, port: 80, weight: 0}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: checkout, namespace: default}
spec:
  replicas: 2
  revisionHistoryLimit: 2
  selector:
    matchLabels: {app: checkout}
  template:
    metadata:
      labels: {app: checkout}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "8080"
        prometheus.io/path: /metrics
    spec:
      containers:
        - name: checkout
          image: argoproj/rollouts-demo:blue
          ports: [{name: http, containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /, port: http}
            periodSeconds: 2
  strategy:
    canary:
      stableService: checkout-stable
      canaryService: checkout-canary
      # Short delays keep the test short: a new update waits until the aborted canary's pods
      # are gone (as in Argo), and Healthy waits until the old stable's are.
      abortScaleDownDelaySeconds: 5
      scaleDownDelaySeconds: 5
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI:
            namespace: default
            httpRoute: checkout
      steps:
        - setWeight: 50
        - analysis:
            templates: [{templateName: success-rate}]
            args: [{name: canary-hash, valueFrom: {podTemplateHashValue: Latest}}]
        - setWeight: 100
`

const checkoutHost = "checkout.demo.local"

// analysisRollback (issue #8): a bad version is rolled back by the analysis alone, a good one
// goes all the way, while steady traffic flows through the gateway.
func analysisRollback(t *testing.T, d *delivery) {
	if d.cfg.Prometheus == "" {
		t.Fatal("the sandbox runs without Prometheus, which this analysis needs: " +
			"run `make test-prereqs` (hack/install-prometheus.sh) to install it")
	}
	prometheus := "http://127.0.0.1:" + strconv.Itoa(d.cfg.Ports.Prometheus)
	applyManifests(t, d.kube, strings.ReplaceAll(checkoutManifests, "PROMETHEUS", prometheus))
	d.waitRollout(t, "checkout", walkTimeout, healthy)
	d.gw.waitAll(t, walkTimeout, 20, checkoutHost, nil, "blue")

	// 20 requests a second: at 50%, about 10 a second reach the canary's pods.
	stop := d.gw.load(checkoutHost, 50*time.Millisecond)
	defer func() { t.Logf("load through the gateway answered %v", stop()) }()

	// A bad version: 25% of /color answer 500. The analysis fails and the rollout aborts.
	d.aviary(t, "set", "image", "checkout", "checkout=argoproj/rollouts-demo:bad-red")
	ro := d.waitRollout(t, "checkout", 2*walkTimeout, func(ro *v1alpha1.Rollout) string {
		if !ro.Status.Abort || ro.Status.Phase != v1alpha1.RolloutPhaseDegraded {
			return "want abort true and phase Degraded by the analysis"
		}
		return ""
	})
	t.Logf("bad version: phase %s, message %q", ro.Status.Phase, ro.Status.Message)
	if !strings.Contains(ro.Status.Message, "success-rate") {
		t.Errorf("the aborted rollout's message %q does not name the metric success-rate", ro.Status.Message)
	}
	if run := ro.Status.Canary.CurrentStepAnalysisRunStatus; run == nil || run.Status != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("currentStepAnalysisRunStatus %+v: want a Failed run", run)
	} else {
		assertRunFailed(t, d, run.Name)
	}
	d.waitRoute(t, "checkout", func(rt *gatewayv1.HTTPRoute) string {
		return splitIs(rt, "checkout-stable", "checkout-canary", 100, 0)
	})
	d.gw.waitAll(t, walkTimeout, 40, checkoutHost, nil, "blue")

	// A good version passes the analysis and the rollout finishes on its own.
	d.aviary(t, "set", "image", "checkout", "checkout=argoproj/rollouts-demo:green")
	ro = d.waitRollout(t, "checkout", 2*walkTimeout, func(ro *v1alpha1.Rollout) string {
		if ro.Status.Abort {
			return "aborted: " + ro.Status.Message
		}
		if r := healthy(ro); r != "" {
			return r
		}
		return ""
	})
	assertRunSucceeded(t, d, ro.Status.CurrentPodHash)
	d.gw.waitAll(t, walkTimeout, 40, checkoutHost, nil, "green")
}

// healthy: the Rollout is Healthy with its current version stable.
func healthy(ro *v1alpha1.Rollout) string {
	if ro.Status.Phase != v1alpha1.RolloutPhaseHealthy || ro.Status.StableRS == "" || ro.Status.StableRS != ro.Status.CurrentPodHash {
		return "want phase Healthy with the current version stable"
	}
	return ""
}

// assertRunFailed: the AnalysisRun failed on its metric with real measurements.
func assertRunFailed(t *testing.T, d *delivery, name string) {
	t.Helper()
	var run v1alpha1.AnalysisRun
	if err := d.kube.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, &run); err != nil {
		t.Fatalf("reading AnalysisRun %s: %v", name, err)
	}
	if run.Status.Phase != v1alpha1.AnalysisPhaseFailed {
		t.Errorf("AnalysisRun %s phase %s, want Failed", name, run.Status.Phase)
	}
	logRun(t, &run)
	for _, m := range run.Status.MetricResults {
		if m.Name == "success-rate" && m.Failed == 0 {
			t.Errorf("metric success-rate has no failed measurement: %+v", m)
		}
	}
}

// assertRunSucceeded: the analysis run of the version with pod hash was Successful, with at
// least one successful measurement (not only tolerated inconclusive ones).
func assertRunSucceeded(t *testing.T, d *delivery, hash string) {
	t.Helper()
	var runs v1alpha1.AnalysisRunList
	if err := d.kube.List(context.Background(), &runs, client.InNamespace("default"),
		client.MatchingLabels{"rollouts-pod-template-hash": hash}); err != nil {
		t.Fatal(err)
	}
	if len(runs.Items) != 1 {
		t.Fatalf("want one AnalysisRun for pod hash %s, have %d", hash, len(runs.Items))
	}
	run := runs.Items[0]
	logRun(t, &run)
	if run.Status.Phase != v1alpha1.AnalysisPhaseSuccessful {
		t.Errorf("AnalysisRun %s of the good version: phase %s, want Successful", run.Name, run.Status.Phase)
	}
	for _, m := range run.Status.MetricResults {
		if m.Successful == 0 {
			t.Errorf("AnalysisRun %s metric %s has no successful measurement", run.Name, m.Name)
		}
	}
}

func logRun(t *testing.T, run *v1alpha1.AnalysisRun) {
	t.Helper()
	for _, m := range run.Status.MetricResults {
		var values []string
		for _, ms := range m.Measurements {
			at := ""
			if ms.FinishedAt != nil {
				at = ms.FinishedAt.Format("15:04:05")
			}
			values = append(values, fmt.Sprintf("%s %s=%s", at, ms.Phase, ms.Value))
		}
		t.Logf("AnalysisRun %s (phase %s) metric %s: %s [%s]", run.Name, run.Status.Phase, m.Name, m.Phase, strings.Join(values, "; "))
	}
}

// applyManifests creates every object of a multi-document YAML.
func applyManifests(t *testing.T, c client.Client, manifests string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, doc := range strings.Split(manifests, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
			t.Fatalf("manifest: %v\n%s", err, doc)
		}
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}
