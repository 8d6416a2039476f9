package v1alpha1

import (
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaults the controller applies, as Argo Rollouts does, instead of writing them into objects.
const (
	DefaultReplicas                   int32 = 1
	DefaultRevisionHistoryLimit       int32 = 10
	DefaultProgressDeadlineSeconds    int32 = 600
	DefaultScaleDownDelaySeconds      int32 = 30
	DefaultAbortScaleDownDelaySeconds int32 = 30
	DefaultAnalysisRunHistoryLimit    int32 = 5
)

// DefaultMaxSurge and DefaultMaxUnavailable are 25%, as for Deployments.
var (
	DefaultMaxSurge       = intstr.FromString("25%")
	DefaultMaxUnavailable = intstr.FromString("25%")
)

func orDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// ReplicasOrDefault is spec.replicas, 1 when unset.
func (s *RolloutSpec) ReplicasOrDefault() int32 { return orDefault(s.Replicas, DefaultReplicas) }

// RevisionHistoryLimitOrDefault is spec.revisionHistoryLimit, 10 when unset.
func (s *RolloutSpec) RevisionHistoryLimitOrDefault() int32 {
	return orDefault(s.RevisionHistoryLimit, DefaultRevisionHistoryLimit)
}

// ProgressDeadlineSecondsOrDefault is spec.progressDeadlineSeconds, 600 when unset.
func (s *RolloutSpec) ProgressDeadlineSecondsOrDefault() int32 {
	return orDefault(s.ProgressDeadlineSeconds, DefaultProgressDeadlineSeconds)
}

// MaxSurgeOrDefault is the canary's maxSurge, 25% when unset.
func (c *CanaryStrategy) MaxSurgeOrDefault() intstr.IntOrString {
	return orDefault(c.MaxSurge, DefaultMaxSurge)
}

// MaxUnavailableOrDefault is the canary's maxUnavailable, 25% when unset.
func (c *CanaryStrategy) MaxUnavailableOrDefault() intstr.IntOrString {
	return orDefault(c.MaxUnavailable, DefaultMaxUnavailable)
}

// ScaleDownDelaySecondsOrDefault is the canary's scaleDownDelaySeconds, 30 when unset.
func (c *CanaryStrategy) ScaleDownDelaySecondsOrDefault() int32 {
	return orDefault(c.ScaleDownDelaySeconds, DefaultScaleDownDelaySeconds)
}

// AbortScaleDownDelaySecondsOrDefault is the canary's abortScaleDownDelaySeconds, 30 when unset.
func (c *CanaryStrategy) AbortScaleDownDelaySecondsOrDefault() int32 {
	return orDefault(c.AbortScaleDownDelaySeconds, DefaultAbortScaleDownDelaySeconds)
}

// MaxUnavailableOrDefault is the blue-green maxUnavailable, 25% when unset.
func (b *BlueGreenStrategy) MaxUnavailableOrDefault() intstr.IntOrString {
	return orDefault(b.MaxUnavailable, DefaultMaxUnavailable)
}

// AutoPromotionEnabledOrDefault is autoPromotionEnabled, true when unset.
func (b *BlueGreenStrategy) AutoPromotionEnabledOrDefault() bool {
	return orDefault(b.AutoPromotionEnabled, true)
}

// ScaleDownDelaySecondsOrDefault is the blue-green scaleDownDelaySeconds, 30 when unset.
func (b *BlueGreenStrategy) ScaleDownDelaySecondsOrDefault() int32 {
	return orDefault(b.ScaleDownDelaySeconds, DefaultScaleDownDelaySeconds)
}

// AbortScaleDownDelaySecondsOrDefault is the blue-green abortScaleDownDelaySeconds, 30 when unset.
func (b *BlueGreenStrategy) AbortScaleDownDelaySecondsOrDefault() int32 {
	return orDefault(b.AbortScaleDownDelaySeconds, DefaultAbortScaleDownDelaySeconds)
}
