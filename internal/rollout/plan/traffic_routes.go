package plan

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

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

// routedStep: a step a traffic-routed canary completes by reaching its routing (weights,
// canary size, header and mirror routes) with the pods to serve it.
func routedStep(step v1alpha1.CanaryStep) bool {
	return step.SetWeight != nil || step.SetCanaryScale != nil || step.SetHeaderRoute != nil || step.SetMirrorRoute != nil
}

// recordWeights writes status.canary.weights: the weights just applied, with verified saying
// whether the routes already carried them and every gateway accepted them (nil when
// verification is off).
func recordWeights(p *Plan, o Observed, applied gatewayapi.State, unchanged bool) {
	st := &p.Status
	c := o.Rollout.Spec.Strategy.Canary
	w := &v1alpha1.TrafficWeights{
		Canary: v1alpha1.WeightDestination{Weight: int32(applied.CanaryWeight), ServiceName: c.CanaryService, PodTemplateHash: v1alpha1.HashOf(o.NewRS)},
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
