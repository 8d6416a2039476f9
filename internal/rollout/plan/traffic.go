package plan

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/replicas"
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

// observedWeights are the weights the routes carry now: the largest canary share and the
// largest stable share any route gives, so that sizes derived from them are on the safe side.
// ok is false when no route could be read.
func observedWeights(o Observed, s gatewayapi.State) (canary, stable int64, ok bool) {
	for _, r := range o.Traffic.Routes {
		c, st, found := gatewayapi.Weights(r.Object, s)
		if !found {
			continue
		}
		canary, stable, ok = max(canary, c), max(stable, st), true
	}
	return canary, stable, ok
}

// routedSizes are the ReplicaSet sizes a traffic-routed canary needs at the target routing.
func routedSizes(o Observed, st *v1alpha1.RolloutStatus, target gatewayapi.State) (canary, stable int32) {
	c := o.Rollout.Spec.Strategy.Canary
	total := o.Rollout.Spec.ReplicasOrDefault()
	if !updating(st) {
		return total, total
	}
	in := replicas.TrafficRoutedInput{
		Replicas: total, Weight: percentOfMax(o, target.CanaryWeight),
		MinPodsPerReplicaSet: c.MinPodsPerReplicaSet, DynamicStableScale: c.DynamicStableScale,
		Aborted: st.Abort, CurrentCanary: specReplicas(o.NewRS),
	}
	if s := CanaryScaleAt(c.Steps, stepIndex(st)); s != nil {
		in.Scale = &replicas.CanaryScale{Replicas: s.Replicas, Weight: s.Weight, MatchTrafficWeight: s.MatchTrafficWeight}
	}
	s := target
	if oc, os, ok := observedWeights(o, s); ok {
		in.Actual = &replicas.TrafficWeights{Canary: percentOfMax(o, oc), Stable: percentOfMax(o, os)}
	}
	canary, stable = replicas.TrafficRoutedCanary(in)
	if !st.Abort && (len(target.HeaderRoutes) > 0 || len(target.MirrorRoutes) > 0) {
		// A header or mirror route sends requests to the canary whatever its weight: it needs
		// pods to answer them.
		canary = max(canary, 1, ptr.Deref(c.MinPodsPerReplicaSet, 0))
	}
	return canary, stable
}

// selects: the Service (as observed) selects the ReplicaSet's pods.
func selects(o Observed, service string, rs *appsv1.ReplicaSet) bool {
	svc := o.Services[service]
	return rs != nil && svc != nil && svc.Spec.Selector[v1alpha1.PodTemplateHashLabel] == HashOf(rs)
}

// stableOf is the ReplicaSet the stable Service should select.
func stableOf(o Observed, st *v1alpha1.RolloutStatus) *appsv1.ReplicaSet {
	if st.StableRS == st.CurrentPodHash {
		return o.NewRS
	}
	return o.StableRS
}

// safeRouting is the part of the target that can be applied now without sending requests to
// pods that cannot take them: the canary's share only grows once its Service selects the new
// pods and they are all available; the stable's share only grows once the stable Service
// selects the stable pods (after a completion it switches first) and, with dynamicStableScale,
// once they are back. Until then the weights stay where the routes have them.
func safeRouting(o Observed, st *v1alpha1.RolloutStatus, target gatewayapi.State, canaryPods, stablePods int32) gatewayapi.State {
	applied := target
	c := o.Rollout.Spec.Strategy.Canary
	stableRS := stableOf(o, st)
	curCanary, _, ok := observedWeights(o, target)
	if !ok {
		curCanary = 0
	}
	canaryServing := updating(st) && !st.Abort && selects(o, c.CanaryService, o.NewRS) && o.NewRS.Status.AvailableReplicas > 0
	switch {
	case target.CanaryWeight > curCanary:
		if !canaryServing || o.NewRS.Status.AvailableReplicas < canaryPods {
			applied.CanaryWeight = curCanary
		}
	case target.CanaryWeight < curCanary:
		stableReady := selects(o, c.StableService, stableRS) &&
			(!c.DynamicStableScale || stableRS.Status.AvailableReplicas >= stablePods)
		if !stableReady {
			applied.CanaryWeight = curCanary
		}
	}
	applied.StableWeight = maxWeight(o) - applied.CanaryWeight
	if !canaryServing {
		applied.HeaderRoutes, applied.MirrorRoutes = nil, nil
	}
	return applied
}

// routeEdits applies a routing state to every observed route, returning the routes that
// change; err names the first route that cannot carry the split.
func routeEdits(o Observed, s gatewayapi.State) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, r := range o.Traffic.Routes {
		edited, err := gatewayapi.Edit(r.Object, r.Target, s)
		if err != nil {
			return nil, err
		}
		if !equality.Semantic.DeepEqual(edited.Object, r.Object.Object) {
			out = append(out, edited)
		}
	}
	return out, nil
}

// routesAccepted: every route was taken in by its gateways at its current generation (always
// true with verification off); rejected explains the first refusal.
func routesAccepted(o Observed) (accepted bool, rejected string) {
	accepted = true
	for _, r := range o.Traffic.Routes {
		a := gatewayapi.Accepted(r.Object)
		if a.Rejected != "" {
			return false, fmt.Sprintf("%s %s/%s: %s", r.Target.Kind, r.Object.GetNamespace(), r.Object.GetName(), a.Rejected)
		}
		accepted = accepted && (a.Accepted || !o.Traffic.Verify)
	}
	return accepted, ""
}

// routesAt: the routes already carry the state and their gateways accepted it.
func routesCarry(o Observed, s gatewayapi.State) bool {
	edits, err := routeEdits(o, s)
	if err != nil || len(edits) > 0 {
		return false
	}
	accepted, _ := routesAccepted(o)
	return accepted
}

// routedAtTarget: a traffic-routed step is done when the ReplicaSets have their sizes with
// every pod available, no other version has pods left, and the routes carry the step's
// routing, accepted by their gateways.
func routedAtTarget(o Observed, st *v1alpha1.RolloutStatus) bool {
	target := targetRouting(o, st)
	canary, stable := routedSizes(o, st, target)
	if specReplicas(o.NewRS) != canary || o.NewRS.Status.AvailableReplicas < canary {
		return false
	}
	if rs := o.StableRS; rs != nil && rs != o.NewRS && (specReplicas(rs) != stable || rs.Status.AvailableReplicas < stable) {
		return false
	}
	for _, rs := range o.others() {
		if specReplicas(rs) > 0 || rs.Status.Replicas > 0 {
			return false
		}
	}
	if canary > 0 && updating(st) && !selects(o, o.Rollout.Spec.Strategy.Canary.CanaryService, o.NewRS) {
		return false
	}
	return routesCarry(o, target)
}

// routedStepDone is stepDone for a traffic-routed canary.
func routedStepDone(p *Plan, o Observed, step v1alpha1.CanaryStep) bool {
	if step.Pause != nil {
		return pauseDone(p, o, step.Pause)
	}
	if step.SetWeight != nil || step.SetCanaryScale != nil || step.SetHeaderRoute != nil || step.SetMirrorRoute != nil {
		return routedAtTarget(o, &p.Status)
	}
	return false
}

// scaleRoutedCanary sizes the ReplicaSets and plans the route edits of a traffic-routed
// canary; it reports whether the target (sizes and routes) was already reached.
func scaleRoutedCanary(p *Plan, o Observed) bool {
	st := &p.Status
	target := targetRouting(o, st)
	canary, stable := routedSizes(o, st, target)
	applied := safeRouting(o, st, target, canary, stable)
	edits, err := routeEdits(o, applied)
	if err != nil {
		trafficError(p, o, err.Error())
		return false
	}
	p.RouteUpdates = edits
	if len(edits) > 0 {
		p.normal(ReasonTrafficWeightUpdated, fmt.Sprintf("Traffic weight updated to canary %d, stable %d (%s)",
			applied.CanaryWeight, applied.StableWeight, routeNames(edits)))
	}

	p.Replicas[o.NewRS.Name] = canary
	stableRS := o.StableRS
	if stableRS != nil && stableRS != o.NewRS {
		p.Replicas[stableRS.Name] = stable
	}
	if st.Abort {
		abortRoutedCanary(p, o, applied)
	}
	scaleDownUnrouted(p, o, st)
	recordWeights(p, o, applied, len(edits) == 0)
	if !updating(st) || st.Abort {
		return false
	}
	return routedAtTarget(o, st)
}

// abortRoutedCanary removes the canary's pods once no route sends it anything, after
// abortScaleDownDelaySeconds (0 keeps them for inspection).
func abortRoutedCanary(p *Plan, o Observed, applied gatewayapi.State) {
	c := o.Rollout.Spec.Strategy.Canary
	if applied.CanaryWeight > 0 || !routesCarry(o, applied) || selects(o, c.CanaryService, o.NewRS) {
		return
	}
	delay := c.AbortScaleDownDelaySecondsOrDefault()
	if delay == 0 || specReplicas(o.NewRS) == 0 {
		return
	}
	scaleDownAfter(p, o, o.NewRS, secondsDuration(delay))
}

// scaleDownUnrouted removes versions that are neither new nor stable once no Service they
// could receive traffic through selects them, after scaleDownDelaySeconds: gateways and
// clients with stale endpoints still reach them for a while.
func scaleDownUnrouted(p *Plan, o Observed, st *v1alpha1.RolloutStatus) {
	c := o.Rollout.Spec.Strategy.Canary
	stableRS := stableOf(o, st)
	for _, rs := range o.all() {
		if rs == o.NewRS || rs == stableRS {
			continue
		}
		if selects(o, c.StableService, rs) || selects(o, c.CanaryService, rs) {
			// Still selected: keep its size until the Services have moved on.
			p.Replicas[rs.Name] = specReplicas(rs)
			continue
		}
		if specReplicas(rs) == 0 {
			p.Replicas[rs.Name] = 0
			continue
		}
		scaleDownAfter(p, o, rs, secondsDuration(c.ScaleDownDelaySecondsOrDefault()))
		if _, decided := p.Replicas[rs.Name]; !decided {
			p.Replicas[rs.Name] = specReplicas(rs)
		}
	}
}

// recordWeights writes status.canary.weights: the weights just applied, with verified saying
// whether the routes already carried them and every gateway accepted them (nil when
// verification is off).
func recordWeights(p *Plan, o Observed, applied gatewayapi.State, unchanged bool) {
	st := &p.Status
	c := o.Rollout.Spec.Strategy.Canary
	w := &v1alpha1.TrafficWeights{
		Canary: v1alpha1.WeightDestination{Weight: int32(applied.CanaryWeight), ServiceName: c.CanaryService, PodTemplateHash: HashOf(o.NewRS)},
		Stable: v1alpha1.WeightDestination{Weight: int32(applied.StableWeight), ServiceName: c.StableService, PodTemplateHash: st.StableRS},
	}
	accepted, rejected := routesAccepted(o)
	if o.Traffic.Verify {
		w.Verified = ptr.To(unchanged && accepted)
	}
	st.Canary.Weights = w
	switch {
	case rejected != "":
		trafficError(p, o, rejected)
	case o.Traffic.Verify && (!unchanged || !accepted):
		setCondition(st, RolloutTrafficRouting, corev1.ConditionUnknown, ReasonRoutesPending,
			"waiting for the gateways to accept the routes at their new generation", o.Now)
	default:
		setCondition(st, RolloutTrafficRouting, corev1.ConditionTrue, ReasonRoutesVerified,
			fmt.Sprintf("routes carry canary %d, stable %d", applied.CanaryWeight, applied.StableWeight), o.Now)
	}
}

// trafficError reports a route problem that stops the rollout, with a Warning Event once per
// distinct problem.
func trafficError(p *Plan, o Observed, msg string) {
	st := &p.Status
	if c := findCondition(st, RolloutTrafficRouting); c == nil || c.Message != msg || c.Status != corev1.ConditionFalse {
		p.event(corev1.EventTypeWarning, ReasonTrafficRoutingError, msg)
	}
	setCondition(st, RolloutTrafficRouting, corev1.ConditionFalse, ReasonRouteNotAccepted, msg, o.Now)
}

func routeNames(routes []*unstructured.Unstructured) string {
	names := make([]string, 0, len(routes))
	for _, r := range routes {
		names = append(names, r.GetKind()+" "+r.GetName())
	}
	return strings.Join(names, ", ")
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
