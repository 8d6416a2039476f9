package replicas

// CanaryScale is the setCanaryScale in force: it sizes the canary apart from its traffic
// weight. Exactly one field should be set; Replicas wins over Weight, and MatchTrafficWeight
// (or a nil *CanaryScale) sizes the canary by its traffic weight.
type CanaryScale struct {
	// Replicas is an explicit canary pod count.
	Replicas *int32
	// Weight is the canary size as a percentage of spec.replicas, rounded up.
	Weight *int32
	// MatchTrafficWeight sizes the canary by its traffic weight, undoing an earlier override.
	MatchTrafficWeight bool
}

// TrafficWeights are the weights a traffic router is applying right now (status.canary.weights).
type TrafficWeights struct {
	// Canary is the canary's current weight in percent.
	Canary int32
	// Stable is the stable's current weight in percent. It is not always 100-Canary: other
	// destinations (experiments) may take a share.
	Stable int32
}

// TrafficRoutedInput is the state a traffic-routed canary is sized from.
type TrafficRoutedInput struct {
	// Replicas is the Rollout's spec.replicas.
	Replicas int32
	// Weight is the desired canary traffic weight in percent, 0..100 (clamped).
	Weight int32
	// Scale is the setCanaryScale in force, nil for none.
	Scale *CanaryScale
	// MinPodsPerReplicaSet is canary.minPodsPerReplicaSet, nil when unset.
	MinPodsPerReplicaSet *int32
	// DynamicStableScale is canary.dynamicStableScale.
	DynamicStableScale bool
	// Aborted is status.abort.
	Aborted bool
	// CurrentCanary is the canary's spec.replicas now. It is only used on abort, when the
	// canary keeps its pods until the caller's abortScaleDownDelaySeconds runs out.
	CurrentCanary int32
	// Actual is what the router applies now; nil when no weights were recorded yet, which
	// is taken to mean the stable still receives all traffic. Only DynamicStableScale uses it.
	Actual *TrafficWeights
}

// TrafficRoutedCanary sizes the canary and stable when a traffic router splits the traffic,
// so a version's pod count only has to carry its share of the requests. The router, not
// the pod ratio, decides the split, so there is no surge/unavailable stepping here: the
// sizes are set directly and the caller shifts traffic only once the pods are available.
//
//   - Canary: ceil(Replicas*Weight/100) pods, or the setCanaryScale override (an explicit
//     count, or a percentage of Replicas rounded up), raised to MinPodsPerReplicaSet when
//     it is above 0. As in Argo, an explicit setCanaryScale.replicas is taken literally
//     unless DynamicStableScale is on.
//   - Stable: Replicas, i.e. fully scaled until the Rollout completes. With
//     DynamicStableScale it is ceil(Replicas*(100-Weight)/100), but never below what the
//     stable's current traffic weight needs, so the stable only shrinks after traffic has
//     left it and grows before traffic returns to it; then raised to MinPodsPerReplicaSet.
//   - Aborted: the canary keeps CurrentCanary pods, as the caller scales it away only after
//     abortScaleDownDelaySeconds (never for 0), and the stable is Replicas, because all
//     traffic is going back to it.
func TrafficRoutedCanary(in TrafficRoutedInput) (canary, stable int32) {
	in.Replicas, in.Weight = max(in.Replicas, 0), clampWeight(in.Weight)
	if in.Aborted {
		return max(in.CurrentCanary, 0), in.Replicas
	}
	canary = in.canaryCount()
	if !in.DynamicStableScale {
		return canary, in.Replicas
	}
	return in.atLeastMinPods(canary), in.atLeastMinPods(in.dynamicStableCount())
}

// canaryCount is the canary size before DynamicStableScale applies its own floor.
func (in TrafficRoutedInput) canaryCount() int32 {
	switch {
	case in.Scale != nil && !in.Scale.MatchTrafficWeight && in.Scale.Replicas != nil:
		return max(*in.Scale.Replicas, 0)
	case in.Scale != nil && !in.Scale.MatchTrafficWeight && in.Scale.Weight != nil:
		return in.atLeastMinPods(percentOf(in.Replicas, clampWeight(*in.Scale.Weight), roundUp))
	default:
		return in.atLeastMinPods(percentOf(in.Replicas, in.Weight, roundUp))
	}
}

// dynamicStableCount is the stable size under DynamicStableScale: enough for the larger of
// the traffic it is meant to get and the traffic it actually gets now.
func (in TrafficRoutedInput) dynamicStableCount() int32 {
	actualStable := int32(100)
	if in.Actual != nil {
		actualStable = clampWeight(in.Actual.Stable)
	}
	return percentOf(in.Replicas, max(100-in.Weight, actualStable), roundUp)
}

// atLeastMinPods raises a non-zero count to MinPodsPerReplicaSet, so that a version that
// runs at all runs with enough pods to be highly available; 0 stays 0.
func (in TrafficRoutedInput) atLeastMinPods(n int32) int32 {
	if n == 0 || in.MinPodsPerReplicaSet == nil {
		return n
	}
	return max(n, *in.MinPodsPerReplicaSet)
}
