package plan

import (
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

// TrafficObserved is what the reconciler read of the routes a Rollout's trafficRouting names.
type TrafficObserved struct {
	Config *gatewayapi.Config
	Routes []ObservedRoute
	// Verify: a route change counts only once every parent accepted it at its new generation
	// (the controller's --gateway-verify-weights).
	Verify bool
}

// ObservedRoute is one route as read, with how it is to be edited.
type ObservedRoute struct {
	Target gatewayapi.Target
	Object *unstructured.Unstructured
}

// Traffic routing condition and event reasons.
const (
	// RolloutTrafficRouting reports whether the routes carry the planned split. Argo Rollouts
	// has no such condition; tools that only know Argo's types ignore it.
	RolloutTrafficRouting v1alpha1.RolloutConditionType = "TrafficRouting"

	ReasonTrafficRoutingError  = "TrafficRoutingError"
	ReasonRoutesVerified       = "RoutesVerified"
	ReasonRoutesPending        = "RoutesPending"
	ReasonRouteNotAccepted     = "RouteNotAccepted"
	ReasonTrafficWeightUpdated = "TrafficWeightUpdated"
)

// routed: the canary's traffic is split by routes rather than by its pod count.
func routed(o Observed) bool {
	return o.Rollout.Spec.Strategy.Canary.TrafficRouting != nil && o.Traffic != nil
}

// maxWeight is trafficRouting.maxTrafficWeight, the total a route's weights add up to.
func maxWeight(o Observed) int64 {
	if m := o.Rollout.Spec.Strategy.Canary.TrafficRouting.MaxTrafficWeight; m != nil && *m > 0 {
		return int64(*m)
	}
	return 100
}

// targetRouting is the routing the rollout's state asks for: the step's weight, the header and
// mirror routes of the steps so far, and the in-progress label while a canary runs. Outside a
// canary (no update, an abort) all traffic goes to the stable Service and no managed route is
// left.
func targetRouting(o Observed, st *v1alpha1.RolloutStatus) gatewayapi.State {
	c := o.Rollout.Spec.Strategy.Canary
	s := gatewayapi.State{
		StableService: c.StableService, CanaryService: c.CanaryService, ServiceNamespace: o.Rollout.Namespace,
		StableWeight: maxWeight(o),
	}
	for _, m := range c.TrafficRouting.ManagedRoutes {
		s.ManagedRoutes = append(s.ManagedRoutes, m.Name)
	}
	key, value, labelOn := o.Traffic.Config.InProgressLabel()
	canaryRunning := updating(st) && !st.Abort
	s.Label = gatewayapi.InProgressLabel{Key: key, Value: value, Set: labelOn && canaryRunning}
	if !canaryRunning {
		return s
	}
	index := stepIndex(st)
	if int(index) >= len(c.Steps) {
		s.CanaryWeight, s.StableWeight = maxWeight(o), 0
		return s
	}
	s.CanaryWeight = int64(WeightAt(c.Steps, index))
	s.StableWeight = maxWeight(o) - s.CanaryWeight
	s.HeaderRoutes, s.MirrorRoutes = routesAt(c.Steps, index)
	return s
}

// routesAt are the header and mirror routes in force at a step: for each managed route, its
// latest setHeaderRoute/setMirrorRoute at or before the step; one without match removes it.
func routesAt(steps []v1alpha1.CanaryStep, index int32) (map[string]*v1alpha1.SetHeaderRoute, map[string]*v1alpha1.SetMirrorRoute) {
	headers := map[string]*v1alpha1.SetHeaderRoute{}
	mirrors := map[string]*v1alpha1.SetMirrorRoute{}
	for i := int32(0); i <= index && int(i) < len(steps); i++ {
		if h := steps[i].SetHeaderRoute; h != nil {
			headers[h.Name] = h
			if len(h.Match) == 0 {
				delete(headers, h.Name)
			}
		}
		if m := steps[i].SetMirrorRoute; m != nil {
			mirrors[m.Name] = m
			if len(m.Match) == 0 {
				delete(mirrors, m.Name)
			}
		}
	}
	return headers, mirrors
}

// percentOfMax converts a route weight to a percentage of maxTrafficWeight, rounded up so that
// pods are never sized below the share they carry.
func percentOfMax(o Observed, w int64) int32 {
	m := maxWeight(o)
	return int32((w*100 + m - 1) / m)
}

// scaleCanary sizes the canary by its traffic router when it has one, else by replica ratio.
func scaleCanary(p *Plan, o Observed, weight int32) bool {
	if routed(o) {
		return scaleRoutedCanary(p, o)
	}
	// Routing switched off: what it reported no longer applies.
	removeCondition(&p.Status, RolloutTrafficRouting)
	p.Status.Canary.Weights = nil
	return scaleBasicCanary(p, o, weight)
}

func secondsDuration(s int32) time.Duration { return time.Duration(s) * time.Second }
