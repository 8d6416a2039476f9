package analysis

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/provider"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// source answers the n-th measurement (from 0) of a metric.
type source func(metric string, n int) provider.Observation

func value(v float64) provider.Observation { return provider.Observation{Result: v, Value: "v"} }

func constant(v float64) source { return func(string, int) provider.Observation { return value(v) } }

func sequence(vs ...float64) source {
	return func(_ string, n int) provider.Observation {
		if n >= len(vs) {
			return value(vs[len(vs)-1])
		}
		return value(vs[n])
	}
}

func metric(name string, tune func(*v1alpha1.Metric)) v1alpha1.Metric {
	m := v1alpha1.Metric{Name: name, SuccessCondition: "result >= 0.95", FailureCondition: "result < 0.5",
		Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://127.0.0.1"}}}
	if tune != nil {
		tune(&m)
	}
	return m
}

func ios(n int32) *intstr.IntOrString { v := intstr.FromInt32(n); return &v }

// simulate drives the engine with a fake clock until the run completes or limit passes, and
// returns the run and the times at which measurements were taken.
func simulate(t *testing.T, run *v1alpha1.AnalysisRun, src source, limit time.Duration, during func(now time.Time, run *v1alpha1.AnalysisRun)) []time.Duration {
	t.Helper()
	now := t0
	run.Status.StartedAt = &metav1.Time{Time: now}
	run.Status.Phase = v1alpha1.AnalysisPhaseRunning
	taken := map[string]int{}
	var at []time.Duration
	for now.Sub(t0) <= limit {
		if during != nil {
			during(now, run)
		}
		due, _, err := Plan(run, run.Spec.Metrics, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range due {
			var obs provider.Observation
			switch d.Action {
			case Measure:
				obs = src(d.Metric.Name, taken[d.Metric.Name])
				taken[d.Metric.Name]++
				at = append(at, now.Sub(t0))
			case Terminate:
				obs = provider.Observation{Phase: v1alpha1.AnalysisPhaseSuccessful, Message: "Metric Terminated"}
			}
			retention, _ := Retention(run, d.Metric.Name)
			dry, _ := DryRun(run, d.Metric.Name)
			Record(run, d.Metric, d.Action, obs, now, retention, dry)
		}
		if err := Assess(run, run.Spec.Metrics, now); err != nil {
			t.Fatal(err)
		}
		if run.Status.Phase.Completed() {
			return at
		}
		_, next, _ := Plan(run, run.Spec.Metrics, now)
		if next == 0 {
			next = time.Second
		}
		now = now.Add(next)
	}
	return at
}

func newRunOf(metrics ...v1alpha1.Metric) *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{Spec: v1alpha1.AnalysisRunSpec{Metrics: metrics}}
}

func TestEngine(t *testing.T) {
	cases := []struct {
		name        string
		run         *v1alpha1.AnalysisRun
		src         source
		during      func(time.Time, *v1alpha1.AnalysisRun)
		wantPhase   v1alpha1.AnalysisPhase
		wantMessage string
		wantAt      []time.Duration
		check       func(*testing.T, *v1alpha1.AnalysisRun)
	}{
		{
			name:      "single measurement without interval",
			run:       newRunOf(metric("m", nil)),
			src:       constant(0.99),
			wantPhase: v1alpha1.AnalysisPhaseSuccessful, wantAt: []time.Duration{0},
		},
		{
			name:      "count 3 every 10s",
			run:       newRunOf(metric("m", func(m *v1alpha1.Metric) { m.Interval, m.Count = "10s", ios(3) })),
			src:       constant(0.99),
			wantPhase: v1alpha1.AnalysisPhaseSuccessful, wantAt: []time.Duration{0, 10 * time.Second, 20 * time.Second},
			check: func(t *testing.T, run *v1alpha1.AnalysisRun) {
				r := run.Status.MetricResults[0]
				if r.Count != 3 || r.Successful != 3 || r.ConsecutiveSuccess != 3 || len(r.Measurements) != 3 {
					t.Errorf("result %+v", r)
				}
				if run.Status.RunSummary != (v1alpha1.RunSummary{Count: 1, Successful: 1}) || run.Status.CompletedAt == nil {
					t.Errorf("summary %+v completedAt %v", run.Status.RunSummary, run.Status.CompletedAt)
				}
			},
		},
		{
			name:      "initialDelay postpones the first measurement",
			run:       newRunOf(metric("m", func(m *v1alpha1.Metric) { m.InitialDelay = "30s" })),
			src:       constant(0.99),
			wantPhase: v1alpha1.AnalysisPhaseSuccessful, wantAt: []time.Duration{30 * time.Second},
		},
		{
			name:        "failure over failureLimit fails the run",
			run:         newRunOf(metric("m", func(m *v1alpha1.Metric) { m.Interval, m.Count, m.FailureLimit = "1m", ios(5), ios(1) })),
			src:         sequence(0.1, 0.99, 0.1),
			wantPhase:   v1alpha1.AnalysisPhaseFailed,
			wantMessage: `Metric "m" assessed Failed due to failed (2) > failureLimit (1)`,
			wantAt:      []time.Duration{0, time.Minute, 2 * time.Minute},
		},
		{
			name:      "failureLimit -1 never fails",
			run:       newRunOf(metric("m", func(m *v1alpha1.Metric) { m.Interval, m.Count, m.FailureLimit = "1s", ios(3), ios(-1) })),
			src:       constant(0.1),
			wantPhase: v1alpha1.AnalysisPhaseSuccessful,
			wantAt:    []time.Duration{0, time.Second, 2 * time.Second},
		},
		{
			name:        "inconclusive over inconclusiveLimit",
			run:         newRunOf(metric("m", func(m *v1alpha1.Metric) { m.Interval, m.Count, m.InconclusiveLimit = "1s", ios(5), ios(1) })),
			src:         constant(0.7),
			wantPhase:   v1alpha1.AnalysisPhaseInconclusive,
			wantMessage: `Metric "m" assessed Inconclusive due to inconclusive (2) > inconclusiveLimit (1)`,
			wantAt:      []time.Duration{0, time.Second},
		},
		{
			name: "consecutive errors over the limit, retried every 10s",
			run:  newRunOf(metric("m", func(m *v1alpha1.Metric) { m.ConsecutiveErrorLimit = ios(2) })),
			src: func(string, int) provider.Observation {
				return provider.Observation{Err: errors.New("connection refused")}
			},
			wantPhase:   v1alpha1.AnalysisPhaseError,
			wantMessage: `Metric "m" assessed Error due to consecutiveErrors (3) > consecutiveErrorLimit (2)`,
			wantAt:      []time.Duration{0, 10 * time.Second, 20 * time.Second},
			check: func(t *testing.T, run *v1alpha1.AnalysisRun) {
				r := run.Status.MetricResults[0]
				if r.Error != 3 || r.Count != 0 || r.Measurements[0].Message != "connection refused" {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name: "an error between successes resets the consecutive count",
			run:  newRunOf(metric("m", func(m *v1alpha1.Metric) { m.Interval, m.Count, m.ConsecutiveErrorLimit = "1s", ios(3), ios(1) })),
			src: func(_ string, n int) provider.Observation {
				if n%2 == 1 {
					return provider.Observation{Err: errors.New("timeout")}
				}
				return value(0.99)
			},
			wantPhase: v1alpha1.AnalysisPhaseSuccessful,
			wantAt:    []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second},
		},
		{
			name: "consecutiveSuccessLimit ends an indefinite metric",
			run: newRunOf(metric("m", func(m *v1alpha1.Metric) {
				m.Interval, m.ConsecutiveSuccessLimit, m.InconclusiveLimit = "5s", ios(2), ios(5)
			})),
			src:       sequence(0.99, 0.7, 0.99, 0.99),
			wantPhase: v1alpha1.AnalysisPhaseSuccessful,
			wantAt:    []time.Duration{0, 5 * time.Second, 10 * time.Second, 15 * time.Second},
			during:    nil,
			check: func(t *testing.T, run *v1alpha1.AnalysisRun) {
				if r := run.Status.MetricResults[0]; r.Inconclusive != 1 || r.ConsecutiveSuccess != 2 {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name: "a failing dry-run metric does not fail the run",
			run: func() *v1alpha1.AnalysisRun {
				r := newRunOf(metric("real", nil), metric("experimental", nil))
				r.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "exp.*"}}
				return r
			}(),
			src: func(m string, _ int) provider.Observation {
				if m == "experimental" {
					return value(0.1)
				}
				return value(0.99)
			},
			wantPhase:   v1alpha1.AnalysisPhaseSuccessful,
			wantMessage: "Dry-Run Summary: Total=1, Successful=0, Failed=1, Inconclusive=0, Error=0",
			wantAt:      []time.Duration{0, 0},
			check: func(t *testing.T, run *v1alpha1.AnalysisRun) {
				if run.Status.RunSummary != (v1alpha1.RunSummary{Count: 1, Successful: 1}) ||
					run.Status.DryRunSummary == nil || *run.Status.DryRunSummary != (v1alpha1.RunSummary{Count: 1, Failed: 1}) {
					t.Errorf("summaries %+v %+v", run.Status.RunSummary, run.Status.DryRunSummary)
				}
				if !run.Status.MetricResults[1].DryRun {
					t.Errorf("the dry-run metric is not marked dryRun")
				}
			},
		},
		{
			name: "measurementRetention keeps the newest",
			run: func() *v1alpha1.AnalysisRun {
				r := newRunOf(metric("m", func(m *v1alpha1.Metric) { m.Interval, m.Count = "1s", ios(5) }))
				r.Spec.MeasurementRetention = []v1alpha1.MeasurementRetention{{MetricName: "m", Limit: 2}}
				return r
			}(),
			src:       constant(0.99),
			wantPhase: v1alpha1.AnalysisPhaseSuccessful,
			wantAt:    []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second},
			check: func(t *testing.T, run *v1alpha1.AnalysisRun) {
				r := run.Status.MetricResults[0]
				if len(r.Measurements) != 2 || r.Count != 5 || !r.Measurements[1].StartedAt.Equal(&metav1.Time{Time: t0.Add(4 * time.Second)}) {
					t.Errorf("result %+v", r)
				}
			},
		},
		{
			name: "one failed metric ends the run and stops the others",
			run: newRunOf(metric("bad", nil),
				metric("forever", func(m *v1alpha1.Metric) { m.Interval = "1s" })),
			src: func(m string, _ int) provider.Observation {
				if m == "bad" {
					return value(0.1)
				}
				return value(0.99)
			},
			wantPhase:   v1alpha1.AnalysisPhaseFailed,
			wantMessage: `Metric "bad" assessed Failed due to failed (1) > failureLimit (0)`,
			wantAt:      []time.Duration{0, 0},
			check: func(t *testing.T, run *v1alpha1.AnalysisRun) {
				if run.Status.MetricResults[1].Phase != v1alpha1.AnalysisPhaseSuccessful {
					t.Errorf("the indefinite metric is %s", run.Status.MetricResults[1].Phase)
				}
			},
		},
		{
			name:   "terminate ends an indefinite run successfully",
			run:    newRunOf(metric("m", func(m *v1alpha1.Metric) { m.Interval = "10s" })),
			src:    constant(0.99),
			during: func(now time.Time, run *v1alpha1.AnalysisRun) { run.Spec.Terminate = now.Sub(t0) >= 25*time.Second },
			// Terminate is noticed at the wake-up after 25s, before the 30s measurement.
			wantPhase:   v1alpha1.AnalysisPhaseSuccessful,
			wantMessage: "Run Terminated",
			wantAt:      []time.Duration{0, 10 * time.Second, 20 * time.Second},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at := simulate(t, tc.run, tc.src, 10*time.Minute, tc.during)
			if tc.run.Status.Phase != tc.wantPhase || tc.run.Status.Message != tc.wantMessage {
				t.Fatalf("run %s %q, want %s %q", tc.run.Status.Phase, tc.run.Status.Message, tc.wantPhase, tc.wantMessage)
			}
			if tc.wantAt != nil && !equalDurations(at, tc.wantAt) {
				t.Errorf("measured at %v, want %v", at, tc.wantAt)
			}
			if tc.check != nil {
				tc.check(t, tc.run)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTTLExpiry(t *testing.T) {
	done := metav1.NewTime(t0)
	for _, tc := range []struct {
		name  string
		phase v1alpha1.AnalysisPhase
		ttl   *v1alpha1.TTLStrategy
		want  time.Duration
		ok    bool
	}{
		{"no strategy", v1alpha1.AnalysisPhaseSuccessful, nil, 0, false},
		{"after completion", v1alpha1.AnalysisPhaseFailed, &v1alpha1.TTLStrategy{SecondsAfterCompletion: ptr.To[int32](60)}, time.Minute, true},
		{"success overrides completion", v1alpha1.AnalysisPhaseSuccessful, &v1alpha1.TTLStrategy{SecondsAfterCompletion: ptr.To[int32](60), SecondsAfterSuccess: ptr.To[int32](5)}, 5 * time.Second, true},
		{"failure overrides completion", v1alpha1.AnalysisPhaseError, &v1alpha1.TTLStrategy{SecondsAfterCompletion: ptr.To[int32](60), SecondsAfterFailure: ptr.To[int32](7)}, 7 * time.Second, true},
		{"failure only, success kept", v1alpha1.AnalysisPhaseSuccessful, &v1alpha1.TTLStrategy{SecondsAfterFailure: ptr.To[int32](7)}, 0, false},
		{"running is never expired", v1alpha1.AnalysisPhaseRunning, &v1alpha1.TTLStrategy{SecondsAfterCompletion: ptr.To[int32](1)}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := &v1alpha1.AnalysisRun{Spec: v1alpha1.AnalysisRunSpec{TTLStrategy: tc.ttl},
				Status: v1alpha1.AnalysisRunStatus{Phase: tc.phase, CompletedAt: &done}}
			at, ok := TTLExpiry(run)
			if ok != tc.ok || (ok && at.Sub(t0) != tc.want) {
				t.Fatalf("TTLExpiry = %v, %v; want +%v, %v", at, ok, tc.want, tc.ok)
			}
		})
	}
}

type fakeArgs map[string]string

func (f fakeArgs) Secret(name, key string) (string, error) {
	if v, ok := f[name+"/"+key]; ok {
		return v, nil
	}
	return "", errors.New("secret " + name + " not found")
}

func (f fakeArgs) Field(path string) (string, error) { return f["field:"+path], nil }

func TestResolve(t *testing.T) {
	m := metric("m", func(m *v1alpha1.Metric) {
		m.Provider = v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{
			Address: "{{args.address}}", Query: `sum(rate(x{service="{{ args.service }}",token="{{args.token}}"}[1m]))`}}
		m.Count = &intstr.IntOrString{Type: intstr.String, StrVal: "{{args.count}}"}
	})
	args := []v1alpha1.Argument{
		{Name: "address", Value: ptr.To("http://127.0.0.1:9090")},
		{Name: "service", ValueFrom: &v1alpha1.ValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.name"}}},
		{Name: "token", ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "token"}}},
		{Name: "count", Value: ptr.To("3")},
	}
	src := fakeArgs{"creds/token": `a"b`, "field:metadata.name": "shop"}
	values, err := ResolveArgs(args, src)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ResolveMetrics([]v1alpha1.Metric{m}, values)
	if err != nil {
		t.Fatal(err)
	}
	p := out[0].Provider.Prometheus
	if p.Address != "http://127.0.0.1:9090" || p.Query != `sum(rate(x{service="shop",token="a"b"}[1m]))` {
		t.Errorf("resolved provider %+v", p)
	}
	if n, _, err := out[0].EffectiveCount(); err != nil || n != 3 {
		t.Errorf("count %d, %v", n, err)
	}

	if _, err := ResolveArgs([]v1alpha1.Argument{{Name: "service"}}, src); err == nil || !strings.Contains(err.Error(), `argument "service" has no value`) {
		t.Errorf("missing value: %v", err)
	}
	if _, err := ResolveArgs(args[2:3], fakeArgs{}); err == nil || !strings.Contains(err.Error(), `argument "token": secret creds not found`) {
		t.Errorf("missing secret: %v", err)
	}
	if _, err := ResolveMetrics([]v1alpha1.Metric{m}, map[string]string{}); err == nil || !strings.Contains(err.Error(), "but the run has no such argument") {
		t.Errorf("undeclared argument: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		metric v1alpha1.Metric
		want   string
	}{
		{"bad success expression", metric("m", func(m *v1alpha1.Metric) { m.SuccessCondition = "result >=" }), `metric "m": successCondition "result >="`},
		{"unknown function", metric("m", func(m *v1alpha1.Metric) { m.FailureCondition = "bogus(result)" }), "unknown function bogus"},
		{"bad interval", metric("m", func(m *v1alpha1.Metric) { m.Interval = "soon" }), `interval "soon" is not a duration`},
		{"non-numeric count", metric("m", func(m *v1alpha1.Metric) { m.Count = &intstr.IntOrString{Type: intstr.String, StrVal: "many"} }), `count "many" is not an integer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(newRunOf(tc.metric), []v1alpha1.Metric{tc.metric})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	run := newRunOf(metric("m", nil))
	run.Spec.DryRun = []v1alpha1.DryRun{{MetricName: "("}}
	if err := Validate(run, run.Spec.Metrics); err == nil || !strings.Contains(err.Error(), "dryRun metricName") {
		t.Errorf("bad dryRun pattern: %v", err)
	}
}
