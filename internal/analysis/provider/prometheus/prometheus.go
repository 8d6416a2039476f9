// Package prometheus measures a metric with a PromQL query (Argo's `prometheus` provider): an
// instant query by default, a range query with rangeQuery.
package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/provider"
)

// Name is the provider's key under metric.provider.
const Name = "prometheus"

// DefaultTimeout bounds a query when prometheus.timeout (seconds) is unset.
const DefaultTimeout = 30 * time.Second

// Provider runs one query per measurement.
type Provider struct {
	provider.Sync
	spec    v1alpha1.PrometheusMetric
	api     promv1.API
	timeout time.Duration
	now     func() time.Time
}

// New is the prometheus provider's factory.
func New(_ provider.Deps, metric v1alpha1.Metric) (provider.Provider, error) {
	spec := metric.Provider.Prometheus
	if spec.Address == "" {
		return nil, fmt.Errorf("metric %q: prometheus.address is empty; set the Prometheus server URL, e.g. http://prometheus.monitoring:9090", metric.Name)
	}
	if spec.Query == "" {
		return nil, fmt.Errorf("metric %q: prometheus.query is empty", metric.Name)
	}
	if a := spec.Authentication; a != nil && (a.Sigv4 != nil || a.OAuth2 != nil) {
		return nil, fmt.Errorf("metric %q: prometheus.authentication supports basicAuth (and bearer tokens through headers); sigv4 and oauth2 are not implemented", metric.Name)
	}
	rt := &authorizing{next: provider.Transport(spec.Insecure), headers: spec.Headers}
	if a := spec.Authentication; a != nil && a.BasicAuth != nil {
		rt.basic = a.BasicAuth
	}
	c, err := api.NewClient(api.Config{Address: spec.Address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("metric %q: prometheus.address %q: %w", metric.Name, spec.Address, err)
	}
	timeout := DefaultTimeout
	if spec.Timeout != nil && *spec.Timeout > 0 {
		timeout = time.Duration(*spec.Timeout) * time.Second
	}
	return &Provider{spec: *spec, api: promv1.NewAPI(c), timeout: timeout, now: time.Now}, nil
}

// Measure runs the query and hands conditions a float64 (scalar) or a []float64 (vector, or
// every sample of a range query's series in order).
func (p *Provider) Measure(ctx context.Context, _ *v1alpha1.AnalysisRun, _ v1alpha1.Metric) provider.Observation {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var (
		value model.Value
		err   error
	)
	if p.spec.RangeQuery != nil {
		var r promv1.Range
		if r, err = p.queryRange(); err != nil {
			return provider.Observation{Err: err}
		}
		value, _, _, err = p.api.QueryRange(ctx, p.spec.Query, r)
	} else {
		value, _, _, err = p.api.Query(ctx, p.spec.Query, p.now())
	}
	if err != nil {
		return provider.Observation{Err: fmt.Errorf("querying %s: %w", p.spec.Address, err)}
	}
	return observe(value)
}

func observe(value model.Value) provider.Observation {
	switch v := value.(type) {
	case *model.Scalar:
		f := float64(v.Value)
		return provider.Observation{Result: f, Value: v.Value.String()}
	case model.Vector:
		out := make([]float64, 0, len(v))
		for _, s := range v {
			out = append(out, float64(s.Value))
		}
		return provider.Observation{Result: out, Value: list(out)}
	case model.Matrix:
		var out []float64
		for _, series := range v {
			for _, s := range series.Values {
				out = append(out, float64(s.Value))
			}
		}
		return provider.Observation{Result: out, Value: list(out)}
	}
	return provider.Observation{Err: fmt.Errorf("prometheus returned a %s; the query must give a scalar, a vector or (rangeQuery) a matrix", value.Type())}
}

func list(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = model.SampleValue(f).String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// queryRange reads rangeQuery. start and end are RFC 3339 times or expressions in "{{ }}" with
// expr's now() and duration(), e.g. "{{ now() - duration('10m') }}"; end defaults to now and
// start to end minus 10 steps.
func (p *Provider) queryRange() (promv1.Range, error) {
	rq := p.spec.RangeQuery
	step := time.Minute
	if rq.Step != "" {
		d, err := parseStep(rq.Step)
		if err != nil {
			return promv1.Range{}, err
		}
		step = d
	}
	now := p.now()
	end, err := timeArg("end", rq.End, now)
	if err != nil {
		return promv1.Range{}, err
	}
	start, err := timeArg("start", rq.Start, end.Add(-10*step))
	if err != nil {
		return promv1.Range{}, err
	}
	if !start.Before(end) {
		return promv1.Range{}, fmt.Errorf("rangeQuery.start (%s) must be before rangeQuery.end (%s)", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return promv1.Range{Start: start, End: end, Step: step}, nil
}

func parseStep(s string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := model.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("rangeQuery.step %q is not a positive duration such as \"30s\" or \"1m\"", s)
	}
	return time.Duration(d), nil
}

func timeArg(field, s string, fallback time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return fallback, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	src := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "{{"), "}}"))
	out, err := expr.Eval(src, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("rangeQuery.%s %q: %w", field, s, err)
	}
	t, ok := out.(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("rangeQuery.%s %q gives a %T, not a time; write e.g. \"{{ now() - duration('5m') }}\"", field, s, out)
	}
	return t, nil
}

// authorizing adds the configured headers (e.g. "Authorization: Bearer ...") and basic auth.
type authorizing struct {
	next    http.RoundTripper
	headers []v1alpha1.WebMetricHeader
	basic   *v1alpha1.BasicAuthConfig
}

func (a *authorizing) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for _, h := range a.headers {
		req.Header.Set(h.Key, h.Value)
	}
	if a.basic != nil {
		req.SetBasicAuth(a.basic.Username, a.basic.Password)
	}
	return a.next.RoundTrip(req)
}
