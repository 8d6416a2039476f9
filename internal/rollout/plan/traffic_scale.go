package plan

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/replicas"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

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

// selects: the Service (as observed) selects the ReplicaSet's pods.
func selects(o Observed, service string, rs *appsv1.ReplicaSet) bool {
	svc := o.Services[service]
	return rs != nil && svc != nil && svc.Spec.Selector[v1alpha1.PodTemplateHashLabel] == v1alpha1.HashOf(rs)
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
	} else {
		keepInUse(p, o.NewRS, stableRS)
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

// keepInUse drops a scale-down deadline left on a version that is in use again (an aborted
// canary that was retried): otherwise, once it is stable and later replaced, the stale,
// already passed deadline would scale it down at once instead of after scaleDownDelaySeconds.
func keepInUse(p *Plan, rss ...*appsv1.ReplicaSet) {
	for _, rs := range rss {
		if rs == nil {
			continue
		}
		if _, stamped := rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation]; stamped {
			p.ScaleDownAt[rs.Name] = nil
		}
	}
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
