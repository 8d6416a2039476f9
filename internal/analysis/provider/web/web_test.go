package web

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/provider"
)

// received is what the test server saw of the last request.
type received struct {
	method, body, contentType, auth, custom string
}

func server(t *testing.T, tls bool, status int, body string, delay time.Duration) (*httptest.Server, *received) {
	t.Helper()
	got := &received{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = received{r.Method, string(b), r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Get("X-Scope")}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, got
}

func measure(t *testing.T, spec v1alpha1.WebMetric) provider.Observation {
	t.Helper()
	p, err := New(provider.Deps{}, v1alpha1.Metric{Name: "m", Provider: v1alpha1.MetricProvider{Web: &spec}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return p.Measure(ctx, &v1alpha1.AnalysisRun{}, v1alpha1.Metric{Name: "m"})
}

func TestWebJSONPath(t *testing.T) {
	srv, got := server(t, false, 200, `{"data":{"rate":0.97,"ok":true,"name":"shop","list":[1,2]}}`, 0)
	for _, tc := range []struct {
		path      string
		wantValue string
		want      any
	}{
		{"{$.data.rate}", "0.97", 0.97},
		{"{$.data.ok}", "true", true},
		{"{$.data.name}", "shop", "shop"},
		{"{$.data.list}", "[1,2]", []any{1.0, 2.0}},
		{"", `{"data":{"list":[1,2],"name":"shop","ok":true,"rate":0.97}}`, nil},
	} {
		obs := measure(t, v1alpha1.WebMetric{URL: srv.URL, JSONPath: tc.path})
		if obs.Err != nil {
			t.Fatalf("%s: %v", tc.path, obs.Err)
		}
		if obs.Value != tc.wantValue {
			t.Errorf("%s: value %q, want %q", tc.path, obs.Value, tc.wantValue)
		}
		if tc.want != nil {
			a, _ := json.Marshal(obs.Result)
			b, _ := json.Marshal(tc.want)
			if string(a) != string(b) {
				t.Errorf("%s: result %s, want %s", tc.path, a, b)
			}
		}
	}
	if got.method != http.MethodGet {
		t.Errorf("method %s, want GET by default", got.method)
	}
	obs := measure(t, v1alpha1.WebMetric{URL: srv.URL, JSONPath: "{$.data.missing}"})
	if obs.Err == nil {
		t.Errorf("a jsonPath matching nothing gave %v", obs)
	}
}

func TestWebRequestShape(t *testing.T) {
	srv, got := server(t, false, 200, `{"v":1}`, 0)
	obs := measure(t, v1alpha1.WebMetric{
		URL: srv.URL, Method: v1alpha1.WebMetricMethodPost, JSONPath: "{$.v}",
		Headers:  []v1alpha1.WebMetricHeader{{Key: "Authorization", Value: "Bearer t0ken"}, {Key: "X-Scope", Value: "canary"}},
		JSONBody: &apiextensionsv1.JSON{Raw: []byte(`{"query":"rate"}`)},
	})
	if obs.Err != nil {
		t.Fatal(obs.Err)
	}
	want := received{"POST", `{"query":"rate"}`, "application/json", "Bearer t0ken", "canary"}
	if *got != want {
		t.Errorf("request %+v, want %+v", *got, want)
	}
	obs = measure(t, v1alpha1.WebMetric{URL: srv.URL, Method: v1alpha1.WebMetricMethodPut, Body: "plain", JSONPath: "{$.v}"})
	if obs.Err != nil || got.method != "PUT" || got.body != "plain" || got.contentType != "" {
		t.Errorf("PUT with body: %v %+v", obs.Err, *got)
	}
	if obs := measure(t, v1alpha1.WebMetric{URL: srv.URL, Body: "x"}); obs.Err == nil || !strings.Contains(obs.Err.Error(), "need method POST or PUT") {
		t.Errorf("GET with a body: %v", obs.Err)
	}
}

func TestWebErrors(t *testing.T) {
	bad, _ := server(t, false, 503, `{"v":1}`, 0)
	if obs := measure(t, v1alpha1.WebMetric{URL: bad.URL}); obs.Err == nil || obs.Err.Error() != "received non 2xx response code: 503" {
		t.Errorf("503: %v", obs.Err)
	}
	notJSON, _ := server(t, false, 200, `<html>`, 0)
	if obs := measure(t, v1alpha1.WebMetric{URL: notJSON.URL}); obs.Err == nil || !strings.Contains(obs.Err.Error(), "is not JSON") {
		t.Errorf("HTML: %v", obs.Err)
	}
	slow, _ := server(t, false, 200, `{"v":1}`, 5*time.Second)
	start := time.Now()
	obs := measure(t, v1alpha1.WebMetric{URL: slow.URL, TimeoutSeconds: 1})
	if obs.Err == nil || !strings.Contains(obs.Err.Error(), "Timeout") {
		t.Errorf("slow endpoint with timeoutSeconds 1: %v", obs.Err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("timeoutSeconds 1 took %v", took)
	}
	if _, err := New(provider.Deps{}, v1alpha1.Metric{Name: "m", Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "http://x", JSONPath: "{$.a"}}}); err == nil {
		t.Errorf("a malformed jsonPath was accepted")
	}
}

func TestWebInsecureTLS(t *testing.T) {
	srv, _ := server(t, true, 200, `{"v":0.99}`, 0)
	if obs := measure(t, v1alpha1.WebMetric{URL: srv.URL, JSONPath: "{$.v}"}); obs.Err == nil || !strings.Contains(obs.Err.Error(), "certificate") {
		t.Errorf("a self-signed certificate was trusted without insecure: %v", obs.Err)
	}
	if obs := measure(t, v1alpha1.WebMetric{URL: srv.URL, JSONPath: "{$.v}", Insecure: true}); obs.Err != nil || obs.Value != "0.99" {
		t.Errorf("insecure: %v %q", obs.Err, obs.Value)
	}
}

func TestWebResponseOverTheReadLimit(t *testing.T) {
	big, _ := server(t, false, 200, `{"v":"`+strings.Repeat("x", maxBody)+`"}`, 0)
	obs := measure(t, v1alpha1.WebMetric{URL: big.URL, JSONPath: "{$.v}"})
	if obs.Err == nil || !strings.Contains(obs.Err.Error(), "is larger than 10 MiB") {
		t.Errorf("an answer over 10 MiB: %v", obs.Err)
	}
}

// newConnections serves body and counts the TCP connections clients open to it.
func newConnections(t *testing.T, tls bool, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &opened
}

// TestWebReusesConnections: the reconciler builds a provider per reconcile; measurements
// still share one connection per endpoint rather than dialling (and handshaking) anew.
func TestWebReusesConnections(t *testing.T) {
	for _, tls := range []bool{false, true} {
		srv, opened := newConnections(t, tls, `{"v":1}`)
		for i := range 5 {
			if obs := measure(t, v1alpha1.WebMetric{URL: srv.URL, JSONPath: "{$.v}", Insecure: tls}); obs.Err != nil {
				t.Fatalf("tls %v, measurement %d: %v", tls, i, obs.Err)
			}
		}
		if n := opened.Load(); n != 1 {
			t.Errorf("tls %v: 5 measurements opened %d connections, want 1", tls, n)
		}
	}
}
