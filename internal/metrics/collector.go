package metrics

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

// listTimeout bounds one scrape's read of the Rollouts.
const listTimeout = 10 * time.Second

// RolloutLister lists the Rollouts the collector reports on.
type RolloutLister interface {
	List(ctx context.Context) ([]v1alpha1.Rollout, error)
}

// CacheLister lists Rollouts through a client.Reader, normally the manager's cache, which is
// already limited to the watched namespace and controller instance.
type CacheLister struct {
	Reader client.Reader
}

// List returns every Rollout the reader sees that can be decoded (rollout.ListRollouts); the
// others are reported on themselves by the reconciler and have no metrics.
func (l CacheLister) List(ctx context.Context) ([]v1alpha1.Rollout, error) {
	list, _, err := rollout.ListRollouts(ctx, l.Reader)
	return list, err
}

var (
	descRolloutInfo = prometheus.NewDesc("rollout_info", "Information about rollout.",
		[]string{labelNamespace, labelName, "strategy", "traffic_router", "phase"}, nil)
	descReplicasAvailable = prometheus.NewDesc("rollout_info_replicas_available",
		"The number of available replicas per rollout.", []string{labelNamespace, labelName}, nil)
	descReplicasUnavailable = prometheus.NewDesc("rollout_info_replicas_unavailable",
		"The number of unavailable replicas per rollout.", []string{labelNamespace, labelName}, nil)
	descReplicasDesired = prometheus.NewDesc("rollout_info_replicas_desired",
		"The number of desired replicas per rollout.", []string{labelNamespace, labelName}, nil)
	descReplicasUpdated = prometheus.NewDesc("rollout_info_replicas_updated",
		"The number of updated replicas per rollout.", []string{labelNamespace, labelName}, nil)
	descScrapeError = prometheus.NewDesc("aviary_rollout_info_scrape_error",
		"1 when this scrape could not list Rollouts (rollout_info is then missing), else 0.", nil, nil)
)

// RolloutCollector reports rollout_info and rollout_info_replicas_* for every Rollout its
// lister returns, read at scrape time.
type RolloutCollector struct {
	lister RolloutLister
	// active, when not nil, gates collection: a replica that is not the elected leader
	// reports no Rollouts, as in Argo Rollouts, so that series are not duplicated.
	active func() bool
}

// NewRolloutCollector returns a collector over lister. active may be nil (always collect).
func NewRolloutCollector(lister RolloutLister, active func() bool) *RolloutCollector {
	return &RolloutCollector{lister: lister, active: active}
}

// Describe sends the descriptors of every metric the collector can report.
func (c *RolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRolloutInfo, descReplicasAvailable,
		descReplicasUnavailable, descReplicasDesired, descReplicasUpdated, descScrapeError} {
		ch <- d
	}
}

// Collect lists the Rollouts and sends their metrics.
func (c *RolloutCollector) Collect(ch chan<- prometheus.Metric) {
	if c.active != nil && !c.active() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	rollouts, err := c.lister.List(ctx)
	if err != nil {
		// Report the failure as a metric rather than failing the whole scrape, which would also
		// hide the controller-runtime and Go metrics served from the same registry.
		ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, 0)
	for i := range rollouts {
		collectRollout(ch, &rollouts[i])
	}
}

func collectRollout(ch chan<- prometheus.Metric, ro *v1alpha1.Rollout) {
	gauge := func(desc *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v,
			append([]string{ro.Namespace, ro.Name}, extra...)...)
	}
	gauge(descRolloutInfo, 1, Strategy(ro), TrafficRouter(ro), string(Phase(ro)))
	gauge(descReplicasAvailable, float64(ro.Status.AvailableReplicas))
	gauge(descReplicasUnavailable, float64(max(ro.Status.Replicas-ro.Status.AvailableReplicas, 0)))
	gauge(descReplicasDesired, float64(ro.Spec.ReplicasOrDefault()))
	gauge(descReplicasUpdated, float64(ro.Status.UpdatedReplicas))
}

// Strategy is the strategy label: "canary", "blueGreen" or "none".
func Strategy(ro *v1alpha1.Rollout) string {
	switch {
	case ro.Spec.Strategy.Canary != nil:
		return "canary"
	case ro.Spec.Strategy.BlueGreen != nil:
		return "blueGreen"
	default:
		return "none"
	}
}

// TrafficRouter is the traffic_router label: the configured router of a canary ("Istio",
// "Nginx", "ALB", "SMI", "Ambassador", "AppMesh", "Traefik", "Apisix", "GatewayAPI" for the
// argoproj-labs/gatewayAPI plugin, or another plugin's name), "" when traffic is not routed.
// Several routers are joined with commas in that order, plugins sorted by name.
func TrafficRouter(ro *v1alpha1.Rollout) string {
	if ro.Spec.Strategy.Canary == nil || ro.Spec.Strategy.Canary.TrafficRouting == nil {
		return ""
	}
	tr := ro.Spec.Strategy.Canary.TrafficRouting
	var names []string
	for _, r := range []struct {
		set  bool
		name string
	}{
		{tr.Istio != nil, "Istio"},
		{tr.Nginx != nil, "Nginx"},
		{tr.ALB != nil, "ALB"},
		{tr.SMI != nil, "SMI"},
		{tr.Ambassador != nil, "Ambassador"},
		{tr.AppMesh != nil, "AppMesh"},
		{tr.Traefik != nil, "Traefik"},
		{tr.Apisix != nil, "Apisix"},
	} {
		if r.set {
			names = append(names, r.name)
		}
	}
	var plugins []string
	for name := range tr.Plugins {
		if name == gatewayapi.PluginName {
			name = "GatewayAPI"
		}
		plugins = append(plugins, name)
	}
	slices.Sort(plugins)
	return strings.Join(append(names, plugins...), ",")
}

// Phase is the phase reported for a Rollout: Progressing while the controller has not yet
// observed the current spec (or has never written a phase), else status.phase.
func Phase(ro *v1alpha1.Rollout) v1alpha1.RolloutPhase {
	if observed, err := strconv.ParseInt(ro.Status.ObservedGeneration, 10, 64); err == nil && observed < ro.Generation {
		return v1alpha1.RolloutPhaseProgressing
	}
	if ro.Status.Phase == "" {
		return v1alpha1.RolloutPhaseProgressing
	}
	return ro.Status.Phase
}
