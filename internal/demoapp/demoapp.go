// Package demoapp is the demo application of the local sandbox: a page like the classic Argo
// Rollouts demo (a grid of squares, one per response, coloured by the version that answered),
// /color answering that version's colour, Prometheus metrics, and knobs for an error rate and
// added latency so that analysis has something to catch.
package demoapp

import (
	"embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed index.html
var page embed.FS

// Config is what one demo app instance serves.
type Config struct {
	// Color is the version's colour, answered by /color ("blue", "green", ...).
	Color string
	// ErrorRate is the share of /color requests answered with HTTP 500, from 0 to 1.
	ErrorRate float64
	// Latency is added before /color answers.
	Latency time.Duration
	// Rand decides which requests fail; nil means a randomly seeded source. Tests pass a seeded
	// one to get a repeatable share.
	Rand *rand.Rand
	// Sleep waits for the added latency; nil means time.Sleep bounded by the request's context.
	Sleep func(r *http.Request, d time.Duration)
}

// Knobs are the run-time settings of an app, changed through /knobs.
type Knobs struct {
	ErrorRate float64       `json:"errorRate"`
	Latency   time.Duration `json:"-"`
}

// App is one demo app instance. It is an http.Handler.
type App struct {
	color string
	mux   *http.ServeMux
	sleep func(*http.Request, time.Duration)

	mu    sync.Mutex
	knobs Knobs
	rand  *rand.Rand

	metrics *metrics
}

// New returns the demo app for cfg. Each app has its own Prometheus registry, so several apps
// can run in one process without mixing their figures.
func New(cfg Config) *App {
	a := &App{
		color:   cfg.Color,
		sleep:   cfg.Sleep,
		knobs:   Knobs{ErrorRate: clampRate(cfg.ErrorRate), Latency: max(cfg.Latency, 0)},
		rand:    cfg.Rand,
		metrics: newMetrics(),
	}
	if a.rand == nil {
		a.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) //nolint:gosec // not for security
	}
	if a.sleep == nil {
		a.sleep = sleepCtx
	}
	if a.color == "" {
		a.color = "blue"
	}
	a.mux = http.NewServeMux()
	a.mux.HandleFunc("GET /{$}", a.servePage)
	a.mux.Handle("/color", a.metrics.instrument("/color", http.HandlerFunc(a.serveColor)))
	a.mux.HandleFunc("/knobs", a.serveKnobs)
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	a.mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{}))
	return a
}

// ServeHTTP serves the app's routes.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Color is the colour this app answers.
func (a *App) Color() string { return a.color }

// Knobs returns the current error rate and latency.
func (a *App) Knobs() Knobs {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.knobs
}

// SetKnobs replaces the error rate and latency.
func (a *App) SetKnobs(k Knobs) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.knobs = Knobs{ErrorRate: clampRate(k.ErrorRate), Latency: max(k.Latency, 0)}
}

func (a *App) servePage(w http.ResponseWriter, _ *http.Request) {
	body, err := page.ReadFile("index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(body)
}

// serveColor answers the colour as a JSON string, like the classic demo, after the configured
// latency, failing with 500 for the configured share of requests. A request may override both
// knobs for itself: ?error=0.5 or X-Error-Rate: 0.5, ?latency=250ms or X-Latency: 250ms.
func (a *App) serveColor(w http.ResponseWriter, r *http.Request) {
	knobs, err := requestKnobs(r, a.Knobs())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if knobs.Latency > 0 {
		a.sleep(r, knobs.Latency)
	}
	w.Header().Set("Content-Type", "application/json")
	if a.fails(knobs.ErrorRate) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, "%q\n", a.color)
		return
	}
	_, _ = fmt.Fprintf(w, "%q\n", a.color)
}

func (a *App) fails(rate float64) bool {
	if rate <= 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rand.Float64() < rate
}

// knobsBody is /knobs' JSON: latency as a Go duration string ("250ms").
type knobsBody struct {
	ErrorRate *float64 `json:"errorRate,omitempty"`
	Latency   *string  `json:"latency,omitempty"`
}

// serveKnobs shows (GET) or changes (PUT/POST, JSON {"errorRate":0.2,"latency":"300ms"}) the
// app-wide knobs; fields left out keep their value.
func (a *App) serveKnobs(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var body knobsBody
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
			http.Error(w, `knobs: want JSON like {"errorRate":0.2,"latency":"300ms"}: `+err.Error(), http.StatusBadRequest)
			return
		}
		k, err := applyKnobs(a.Knobs(), body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.SetKnobs(k)
	default:
		w.Header().Set("Allow", "GET, PUT, POST")
		http.Error(w, "knobs: use GET to read, PUT to change", http.StatusMethodNotAllowed)
		return
	}
	k := a.Knobs()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"color": a.color, "errorRate": k.ErrorRate, "latency": k.Latency.String()})
}

func applyKnobs(k Knobs, body knobsBody) (Knobs, error) {
	if body.ErrorRate != nil {
		if *body.ErrorRate < 0 || *body.ErrorRate > 1 {
			return k, fmt.Errorf("knobs: errorRate %v is outside 0..1", *body.ErrorRate)
		}
		k.ErrorRate = *body.ErrorRate
	}
	if body.Latency != nil {
		d, err := ParseLatency(*body.Latency)
		if err != nil {
			return k, fmt.Errorf("knobs: %w", err)
		}
		k.Latency = d
	}
	return k, nil
}

// requestKnobs applies a request's own overrides to the app-wide knobs.
func requestKnobs(r *http.Request, k Knobs) (Knobs, error) {
	if v := firstNonEmpty(r.URL.Query().Get("error"), r.Header.Get("X-Error-Rate")); v != "" {
		rate, err := ParseErrorRate(v)
		if err != nil {
			return k, err
		}
		k.ErrorRate = rate
	}
	if v := firstNonEmpty(r.URL.Query().Get("latency"), r.Header.Get("X-Latency")); v != "" {
		d, err := ParseLatency(v)
		if err != nil {
			return k, err
		}
		k.Latency = d
	}
	return k, nil
}

// ParseErrorRate reads an error rate: a share from 0 to 1 ("0.25") or a percentage ("25%").
func ParseErrorRate(s string) (float64, error) {
	percent := len(s) > 0 && s[len(s)-1] == '%'
	if percent {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err == nil && percent {
		v /= 100
	}
	if err != nil || v < 0 || v > 1 {
		return 0, fmt.Errorf("error rate %q: want a share from 0 to 1 (0.25) or a percentage (25%%)", s)
	}
	return v, nil
}

// ParseLatency reads a latency: a Go duration ("250ms", "1s") or a number of milliseconds ("250").
func ParseLatency(s string) (time.Duration, error) {
	if ms, err := strconv.ParseFloat(s, 64); err == nil && ms >= 0 {
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("latency %q: want a duration like 250ms or 1s, or milliseconds like 250", s)
	}
	return d, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func clampRate(r float64) float64 { return min(max(r, 0), 1) }

func sleepCtx(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}
