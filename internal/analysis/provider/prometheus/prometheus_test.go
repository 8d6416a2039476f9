package prometheus

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/provider"
)

// startPrometheus runs the real Prometheus binary on a loopback port, scraping target every
// second, and waits (bounded) until query returns a sample. It is stopped on cleanup.
func startPrometheus(t *testing.T, target, query string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("the prometheus binary is not installed: run hack/install-prometheus.sh (make test does it first)")
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		_ = logf.Close()
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		if hasSample(base, query) {
			return base
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("prometheus at %s had no sample for %q within 60s; its log:\n%s", base, query, log)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func hasSample(base, query string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return false
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode == http.StatusOK && strings.Contains(string(b), `"value":[`)
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// demoTarget exposes client_golang metrics: a success ratio and a request counter.
func demoTarget(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	rate := prometheus.NewGauge(prometheus.GaugeOpts{Name: "demo_success_ratio", Help: "Share of successful requests."})
	rate.Set(0.97)
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "demo_requests_total", Help: "Requests."}, []string{"code"})
	requests.WithLabelValues("200").Add(97)
	requests.WithLabelValues("500").Add(3)
	reg.MustRegister(rate, requests)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// guarded is a proxy in front of Prometheus that wants credentials, to check that the
// provider sends its headers and basic auth.
func guarded(t *testing.T, upstream string) string {
	t.Helper()
	u, _ := url.Parse(upstream)
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, basic := r.BasicAuth()
		bearer := r.Header.Get("Authorization") == "Bearer s3cret"
		if !bearer && (!basic || user != "ops" || pass != "pw") {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func measure(t *testing.T, spec v1alpha1.PrometheusMetric) provider.Observation {
	t.Helper()
	p, err := New(provider.Deps{}, v1alpha1.Metric{Name: "m", Provider: v1alpha1.MetricProvider{Prometheus: &spec}})
	if err != nil {
		t.Fatal(err)
	}
	return p.Measure(t.Context(), &v1alpha1.AnalysisRun{}, v1alpha1.Metric{Name: "m"})
}

func TestPrometheusAgainstRealServer(t *testing.T) {
	addr := startPrometheus(t, demoTarget(t), "demo_success_ratio")

	t.Run("instant vector", func(t *testing.T) {
		obs := measure(t, v1alpha1.PrometheusMetric{Address: addr, Query: `demo_success_ratio{job="demo"}`})
		if obs.Err != nil {
			t.Fatal(obs.Err)
		}
		if v, ok := obs.Result.([]float64); !ok || len(v) != 1 || v[0] != 0.97 || obs.Value != "[0.97]" {
			t.Fatalf("result %#v value %q", obs.Result, obs.Value)
		}
	})
	t.Run("success rate from counters", func(t *testing.T) {
		q := `sum(demo_requests_total{code!~"5.."}) / sum(demo_requests_total)`
		obs := measure(t, v1alpha1.PrometheusMetric{Address: addr, Query: q})
		if v, ok := obs.Result.([]float64); obs.Err != nil || !ok || len(v) != 1 || v[0] != 0.97 {
			t.Fatalf("result %#v err %v", obs.Result, obs.Err)
		}
	})
	t.Run("scalar", func(t *testing.T) {
		obs := measure(t, v1alpha1.PrometheusMetric{Address: addr, Query: `scalar(demo_success_ratio)`})
		if v, ok := obs.Result.(float64); obs.Err != nil || !ok || v != 0.97 {
			t.Fatalf("result %#v err %v", obs.Result, obs.Err)
		}
	})
	t.Run("empty vector", func(t *testing.T) {
		obs := measure(t, v1alpha1.PrometheusMetric{Address: addr, Query: `demo_success_ratio{job="nope"}`})
		if v, ok := obs.Result.([]float64); obs.Err != nil || !ok || len(v) != 0 || obs.Value != "[]" {
			t.Fatalf("result %#v value %q err %v", obs.Result, obs.Value, obs.Err)
		}
	})
	t.Run("rangeQuery", func(t *testing.T) {
		// Wait for a few scrapes so the range has several samples.
		time.Sleep(3 * time.Second)
		obs := measure(t, v1alpha1.PrometheusMetric{Address: addr, Query: `demo_success_ratio`,
			RangeQuery: &v1alpha1.PrometheusRangeQueryArgs{Start: "{{ now() - duration('30s') }}", End: "{{ now() }}", Step: "1s"}})
		v, ok := obs.Result.([]float64)
		if obs.Err != nil || !ok || len(v) < 2 {
			t.Fatalf("result %#v err %v", obs.Result, obs.Err)
		}
		for _, f := range v {
			if f != 0.97 {
				t.Fatalf("range sample %v, want 0.97 (all %v)", f, v)
			}
		}
	})
	t.Run("bad query", func(t *testing.T) {
		obs := measure(t, v1alpha1.PrometheusMetric{Address: addr, Query: `sum(`})
		if obs.Err == nil || !strings.Contains(obs.Err.Error(), "bad_data") {
			t.Fatalf("err %v", obs.Err)
		}
	})
	t.Run("headers and basic auth", func(t *testing.T) {
		front := guarded(t, addr)
		if obs := measure(t, v1alpha1.PrometheusMetric{Address: front, Query: `demo_success_ratio`}); obs.Err == nil {
			t.Fatalf("no credentials passed the guard")
		}
		obs := measure(t, v1alpha1.PrometheusMetric{Address: front, Query: `demo_success_ratio`,
			Headers: []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer s3cret"}}})
		if obs.Err != nil {
			t.Fatalf("bearer token: %v", obs.Err)
		}
		obs = measure(t, v1alpha1.PrometheusMetric{Address: front, Query: `demo_success_ratio`,
			Authentication: &v1alpha1.Authentication{BasicAuth: &v1alpha1.BasicAuthConfig{Username: "ops", Password: "pw"}}})
		if obs.Err != nil {
			t.Fatalf("basic auth: %v", obs.Err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		stall := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
		}))
		defer stall.Close()
		start := time.Now()
		obs := measure(t, v1alpha1.PrometheusMetric{Address: stall.URL, Query: "up", Timeout: ptr.To[int64](1)})
		if obs.Err == nil || time.Since(start) > 5*time.Second {
			t.Fatalf("timeout 1s: err %v after %v", obs.Err, time.Since(start))
		}
	})
}

// TestPrometheusReusesConnections: measurements through providers built anew each time (as
// the reconciler does) share one connection to the server.
func TestPrometheusReusesConnections(t *testing.T) {
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"scalar","result":[1767268800,"0.99"]}}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	for i := range 5 {
		if obs := measure(t, v1alpha1.PrometheusMetric{Address: srv.URL, Query: "up"}); obs.Err != nil || obs.Result != 0.99 {
			t.Fatalf("measurement %d: %v %v", i, obs.Result, obs.Err)
		}
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("5 measurements opened %d connections, want 1", n)
	}
}
