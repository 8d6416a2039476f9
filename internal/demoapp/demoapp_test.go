package demoapp

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func get(t *testing.T, h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func noSleep(*http.Request, time.Duration) {}

func TestColorAnswersTheColourAsJSON(t *testing.T) {
	app := New(Config{Color: "green", Sleep: noSleep})
	rec := get(t, app, "/color", nil)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `"green"` || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("/color = %d %q (%s), want 200 \"green\" as JSON", rec.Code, rec.Body, rec.Header().Get("Content-Type"))
	}
}

func TestPageIsTheGridOfSquares(t *testing.T) {
	rec := get(t, New(Config{Color: "blue"}), "/", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "fetch('color'") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("/ = %d %s, want the HTML page polling /color", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec := get(t, New(Config{}), "/nope", nil); rec.Code != http.StatusNotFound {
		t.Errorf("/nope = %d, want 404", rec.Code)
	}
}

// The error share over many requests is close to the configured rate; a seeded source makes the
// figure repeatable.
func TestErrorRateShare(t *testing.T) {
	for _, rate := range []float64{0, 0.1, 0.25, 0.5, 1} {
		app := New(Config{Color: "blue", ErrorRate: rate, Rand: rand.New(rand.NewPCG(1, 2)), Sleep: noSleep})
		const n = 4000
		failed := 0
		for range n {
			rec := get(t, app, "/color", nil)
			switch rec.Code {
			case http.StatusInternalServerError:
				failed++
			case http.StatusOK:
			default:
				t.Fatalf("unexpected status %d", rec.Code)
			}
		}
		share := float64(failed) / n
		if share < rate-0.03 || share > rate+0.03 {
			t.Errorf("error rate %v: %d of %d failed (%.3f)", rate, failed, n, share)
		}
	}
}

func TestRequestOverridesKnobs(t *testing.T) {
	var slept time.Duration
	app := New(Config{Color: "blue", Sleep: func(_ *http.Request, d time.Duration) { slept += d }})
	if rec := get(t, app, "/color?error=1", nil); rec.Code != http.StatusInternalServerError {
		t.Errorf("?error=1 answered %d, want 500", rec.Code)
	}
	if rec := get(t, app, "/color", http.Header{"X-Error-Rate": {"100%"}}); rec.Code != http.StatusInternalServerError {
		t.Errorf("X-Error-Rate: 100%% answered %d, want 500", rec.Code)
	}
	get(t, app, "/color?latency=250ms", nil)
	get(t, app, "/color", http.Header{"X-Latency": {"100"}})
	if slept != 350*time.Millisecond {
		t.Errorf("slept %s, want 350ms (250ms by query, 100 ms by header)", slept)
	}
	if rec := get(t, app, "/color?error=2", nil); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "from 0 to 1") {
		t.Errorf("?error=2 answered %d %q, want 400 explaining the range", rec.Code, rec.Body)
	}
	if rec := get(t, app, "/color?latency=soon", nil); rec.Code != http.StatusBadRequest {
		t.Errorf("?latency=soon answered %d, want 400", rec.Code)
	}
}

func TestKnobsEndpointChangesTheApp(t *testing.T) {
	app := New(Config{Color: "blue", Sleep: noSleep})
	req := httptest.NewRequest(http.MethodPut, "/knobs", strings.NewReader(`{"errorRate":1,"latency":"20ms"}`))
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"latency":"20ms"`) {
		t.Fatalf("PUT /knobs = %d %s", rec.Code, rec.Body)
	}
	if k := app.Knobs(); k.ErrorRate != 1 || k.Latency != 20*time.Millisecond {
		t.Errorf("knobs = %+v after PUT", k)
	}
	if rec := get(t, app, "/color", nil); rec.Code != http.StatusInternalServerError {
		t.Errorf("/color after errorRate=1 answered %d", rec.Code)
	}
	bad := httptest.NewRecorder()
	app.ServeHTTP(bad, httptest.NewRequest(http.MethodPut, "/knobs", strings.NewReader(`{"errorRate":7}`)))
	if bad.Code != http.StatusBadRequest {
		t.Errorf("errorRate 7 accepted: %d", bad.Code)
	}
}

func TestMetricsCountRequestsByCodeAndTimeThem(t *testing.T) {
	app := New(Config{Color: "blue", Sleep: noSleep})
	for range 3 {
		get(t, app, "/color", nil)
	}
	get(t, app, "/color?error=1", nil)
	if got := testutil.ToFloat64(app.metrics.requests.WithLabelValues("/color", "200")); got != 3 {
		t.Errorf("200s counted %v, want 3", got)
	}
	if got := testutil.ToFloat64(app.metrics.requests.WithLabelValues("/color", "500")); got != 1 {
		t.Errorf("500s counted %v, want 1", got)
	}
	rec := get(t, app, "/metrics", nil)
	body := rec.Body.String()
	for _, want := range []string{
		`demo_http_requests_total{code="200",path="/color"} 3`,
		`demo_http_request_duration_seconds_count{path="/color"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	// Each app has its own registry: a second app starts from zero.
	if other := get(t, New(Config{}), "/metrics", nil).Body.String(); strings.Contains(other, `code="200"`) {
		t.Errorf("a new app reports another app's requests:\n%s", other)
	}
}

func TestParseKnobValues(t *testing.T) {
	for in, want := range map[string]float64{"0": 0, "0.25": 0.25, "25%": 0.25, "100%": 1} {
		if got, err := ParseErrorRate(in); err != nil || got != want {
			t.Errorf("ParseErrorRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "1.5", "x", "150%"} {
		if _, err := ParseErrorRate(in); err == nil {
			t.Errorf("ParseErrorRate(%q) accepted", in)
		}
	}
	for in, want := range map[string]time.Duration{"0": 0, "250": 250 * time.Millisecond, "1s": time.Second, "1.5": 1500 * time.Microsecond} {
		if got, err := ParseLatency(in); err != nil || got != want {
			t.Errorf("ParseLatency(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLatency("-1s"); err == nil {
		t.Error("ParseLatency(-1s) accepted")
	}
}
