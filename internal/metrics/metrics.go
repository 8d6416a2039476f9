// Package metrics holds the controller's Prometheus metrics, with the names and labels that
// Argo Rollouts exports so that existing dashboards and alerts keep working.
//
// Object metrics (rollout_info and rollout_info_replicas_*) are computed at scrape time from
// the manager's cache by RolloutCollector, so a deleted Rollout disappears from the next
// scrape. Reconcile and event metrics are counted as they happen by Metrics.
package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Label names shared by every per-Rollout metric.
const (
	labelNamespace = "namespace"
	labelName      = "name"
)

// reconcileBuckets are the rollout_reconcile histogram buckets in seconds, as Argo Rollouts uses.
var reconcileBuckets = []float64{0.01, 0.15, 0.25, 0.5, 1}

// Metrics counts reconciles and events. It implements the rollout reconciler's
// ReconcileObserver and the event sink's Counter. Create it with New and register it with
// Register; the zero value is not usable.
type Metrics struct {
	reconcile      *prometheus.HistogramVec
	reconcileError *prometheus.CounterVec
	events         *prometheus.CounterVec
	controllerInfo *prometheus.GaugeVec
	exists         func(client.ObjectKey) bool
}

// New creates the reconcile, event and controller-info metrics. version is reported by
// argo_rollouts_controller_info.
//
// exists, when not nil, tells whether a Rollout still exists: a reconcile of a Rollout that
// no longer does (the one that follows its deletion) is not observed, so that it does not
// bring back the series Forget dropped. Argo Rollouts does not observe those reconciles either.
func New(version string, exists func(client.ObjectKey) bool) *Metrics {
	m := &Metrics{
		exists: exists,
		reconcile: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rollout_reconcile",
			Help:    "Rollout reconciliation performance.",
			Buckets: reconcileBuckets,
		}, []string{labelNamespace, labelName}),
		reconcileError: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollout_reconcile_error",
			Help: "Error occurring during the rollout",
		}, []string{labelNamespace, labelName}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rollout_events_total",
			Help: "Count of rollout events",
		}, []string{labelNamespace, labelName, "type", "reason"}),
		controllerInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "argo_rollouts_controller_info",
			Help: "Running controller information",
		}, []string{"version"}),
	}
	m.controllerInfo.WithLabelValues(version).Set(1)
	return m
}

// Collectors are the collectors Register adds; useful to register elsewhere or to test.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.reconcile, m.reconcileError, m.events, m.controllerInfo}
}

// Register adds the metrics to reg. It returns an error, never panics, when one is already
// registered, so that a second controller in one process fails cleanly.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range m.Collectors() {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ObserveReconcile records how long one reconcile of the Rollout took and counts it as an
// error when err is not nil.
func (m *Metrics) ObserveReconcile(ro client.ObjectKey, took time.Duration, err error) {
	if m.exists != nil && !m.exists(ro) {
		return
	}
	m.reconcile.WithLabelValues(ro.Namespace, ro.Name).Observe(took.Seconds())
	if err != nil {
		m.reconcileError.WithLabelValues(ro.Namespace, ro.Name).Inc()
	}
}

// IncEvent counts one Kubernetes Event recorded about a Rollout.
func (m *Metrics) IncEvent(namespace, name, eventType, reason string) {
	m.events.WithLabelValues(namespace, name, eventType, reason).Inc()
}

// Forget drops every series of a deleted Rollout, so that counters and histograms of
// Rollouts that no longer exist are not exported forever.
func (m *Metrics) Forget(ro client.ObjectKey) {
	labels := prometheus.Labels{labelNamespace: ro.Namespace, labelName: ro.Name}
	m.reconcile.DeletePartialMatch(labels)
	m.reconcileError.DeletePartialMatch(labels)
	m.events.DeletePartialMatch(labels)
}
