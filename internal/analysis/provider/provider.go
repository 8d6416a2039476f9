// Package provider is the seam between the AnalysisRun reconciler and the systems that take
// measurements (Prometheus, a web endpoint, a Kubernetes Job, ...). A provider reports what it
// measured; the reconciler turns that into a phase with the metric's conditions, counts and
// limits. A new provider plugs in by registering a Factory under its MetricProvider key.
package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Observation is the outcome of taking (or checking on) one measurement.
type Observation struct {
	// Phase is left empty when the provider measured a value: the reconciler then assesses
	// Result with the metric's conditions. A provider that decides the phase itself (a Job
	// that completed or failed) sets it; Running means "not finished, ask again via Resume".
	Phase v1alpha1.AnalysisPhase
	// Result is what conditions see as `result` (a float64, []float64, a JSON value, ...).
	Result any
	// Value is Result as shown in the measurement's status.
	Value string
	// Message explains the phase, e.g. a job's failure reason.
	Message string
	// Metadata is kept on the measurement (e.g. the job's name, the resolved query).
	Metadata map[string]string
	// Err is a measurement that could not be taken (the measurement becomes Error).
	Err error
}

// Provider takes measurements for one metric.
type Provider interface {
	// Measure starts a measurement. Synchronous providers return the result at once.
	Measure(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) Observation
	// Resume checks on a measurement that Measure (or an earlier Resume) left Running.
	Resume(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) Observation
	// Terminate stops a Running measurement because the run is terminating.
	Terminate(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, m v1alpha1.Measurement) Observation
	// GarbageCollect removes what the provider created for measurements no longer retained,
	// keeping the newest limit of them.
	GarbageCollect(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, limit int) error
}

// Deps are what providers may use.
type Deps struct {
	// Client reads and writes Kubernetes objects (the job provider's Jobs).
	Client client.Client
}

// Factory builds the provider for a metric (already resolved: no "{{args.x}}" left).
type Factory func(deps Deps, metric v1alpha1.Metric) (Provider, error)

// Registry maps a MetricProvider JSON key ("prometheus", "web", "job", ...) to its factory.
type Registry map[string]Factory

// For returns the provider of a metric, or an error naming what is wrong with its provider
// section.
func (r Registry) For(deps Deps, metric v1alpha1.Metric) (Provider, error) {
	names := metric.Provider.ConfiguredProviders()
	switch len(names) {
	case 0:
		return nil, fmt.Errorf("metric %q has no provider: set one of %s", metric.Name, r.known())
	case 1:
	default:
		return nil, fmt.Errorf("metric %q sets several providers (%s); keep exactly one", metric.Name, strings.Join(names, ", "))
	}
	f, ok := r[names[0]]
	if !ok {
		return nil, fmt.Errorf("metric %q uses provider %q, which this controller does not support (supported: %s)", metric.Name, names[0], r.known())
	}
	return f(deps, metric)
}

func (r Registry) known() string {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Sync is the provider shape of synchronous measurements (HTTP queries): Resume and
// Terminate never see a Running measurement, and nothing needs garbage collection.
type Sync struct{}

// Resume reports a measurement that should not be pending.
func (Sync) Resume(_ context.Context, _ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, _ v1alpha1.Measurement) Observation {
	return Observation{Err: fmt.Errorf("a synchronous measurement was left running; it is retried")}
}

// Terminate ends a measurement at once.
func (Sync) Terminate(_ context.Context, _ *v1alpha1.AnalysisRun, _ v1alpha1.Metric, _ v1alpha1.Measurement) Observation {
	return Observation{Phase: v1alpha1.AnalysisPhaseSuccessful, Message: "Metric Terminated"}
}

// GarbageCollect has nothing to remove.
func (Sync) GarbageCollect(context.Context, *v1alpha1.AnalysisRun, v1alpha1.Metric, int) error {
	return nil
}
