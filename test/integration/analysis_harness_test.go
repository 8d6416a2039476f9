package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis"
)

// metricEndpoint is a web metric source on loopback whose success rate a test sets, so that
// analysis runs succeed, fail or stay inconclusive deterministically.
type metricEndpoint struct {
	srv  *httptest.Server
	rate atomic.Value // string: the JSON number served
	hits atomic.Int64
}

func newMetricEndpoint(t *testing.T, rate string) *metricEndpoint {
	t.Helper()
	m := &metricEndpoint{}
	m.rate.Store(rate)
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		m.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"data":{"successRate":%s}}`, m.rate.Load().(string))
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *metricEndpoint) set(rate string) { m.rate.Store(rate) }

// successRateTemplate measures the endpoint: >= 0.95 succeeds, < 0.5 fails, in between is
// inconclusive. Extra options (interval, count) are applied to the metric.
func successRateTemplate(name, url string, tune func(*v1alpha1.Metric)) *v1alpha1.AnalysisTemplate {
	m := v1alpha1.Metric{
		Name:             "success-rate",
		SuccessCondition: "result >= 0.95",
		FailureCondition: "result < 0.5",
		Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{
			URL: "{{args.url}}", JSONPath: "{$.data.successRate}", TimeoutSeconds: 5,
		}},
	}
	if tune != nil {
		tune(&m)
	}
	return &v1alpha1.AnalysisTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.AnalysisTemplateSpec{
			Args:    []v1alpha1.Argument{{Name: "url", Value: ptr.To(url)}},
			Metrics: []v1alpha1.Metric{m},
		},
	}
}

// startAnalysisController runs the AnalysisRun reconciler for the scene's namespace.
func (s *scene) startAnalysisController() {
	s.t.Helper()
	mgr := s.newManager()
	r := &analysis.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: clock.RealClock{}, Workers: 2,
		Recorder: mgr.GetEventRecorder("rollouts-controller")}
	if err := r.SetupWithManager(mgr); err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(s.t.Context())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	s.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("analysis controller stopped with %v", err)
		}
	})
}

// runs lists the scene's AnalysisRuns by name.
func (s *scene) runs() []v1alpha1.AnalysisRun {
	s.t.Helper()
	var list v1alpha1.AnalysisRunList
	if err := env.Client.List(s.t.Context(), &list, client.InNamespace(s.ns)); err != nil {
		s.t.Fatal(err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items
}

// runSummary is "name=phase" for every run, for assertions and failure messages.
func (s *scene) runSummary() string {
	var parts []string
	for _, r := range s.runs() {
		parts = append(parts, r.Name+"="+string(r.Status.Phase))
	}
	return strings.Join(parts, " ")
}

// awaitRuns waits (bounded) until the runs are exactly as described by want ("name=phase").
func (s *scene) awaitRuns(want string) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := s.runSummary()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for runs %q; have %q (rollout: %s)", want, got, s.describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newHash is the pod-template hash of the rollout's current template.
func (s *scene) newHash() string {
	s.t.Helper()
	return s.rollout().Status.CurrentPodHash
}

func canaryWithSteps(steps ...v1alpha1.CanaryStep) v1alpha1.RolloutStrategy {
	return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: steps}}
}

func analysisStep(template string) v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{Analysis: &v1alpha1.RolloutAnalysis{
		Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: template}},
	}}
}

func indefinitePause() v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}}
}

func intOrStr(n int32) intstr.IntOrString { return intstr.FromInt32(n) }
