package plan

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// The values of spec.workloadRef.scaleDown.
const (
	// WorkloadScaleDownNever leaves the referenced Deployment alone (the default).
	WorkloadScaleDownNever = "never"
	// WorkloadScaleDownOnSuccess scales the Deployment to zero once the Rollout is Healthy.
	WorkloadScaleDownOnSuccess = "onsuccess"
	// WorkloadScaleDownProgressively scales the Deployment down as the Rollout's pods become
	// available, keeping the two together at about spec.replicas available pods.
	WorkloadScaleDownProgressively = "progressively"
)

// ReasonScalingDeployment is the Event recorded when the referenced Deployment is scaled.
const ReasonScalingDeployment = "ScalingDeployment"

// WorkloadScale decides the spec.replicas of the Deployment a Rollout's workloadRef names,
// given the Rollout's newly planned status and the Deployment's current spec.replicas. ok false
// means the Deployment is left as it is.
//
//   - never (or unset): always left alone.
//   - onsuccess: 0 once the Rollout is Healthy (fully promoted, every pod available).
//   - progressively: spec.replicas of the Rollout minus its available pods, never below 0.
//
// The Deployment is only ever scaled down: a later update of the Rollout, whose available
// count dips while it progresses, does not bring the Deployment's pods back. An invalid spec
// (the Deployment cannot be used as a template) leaves it alone too.
func WorkloadScale(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus, current int32) (replicas int32, ok bool) {
	ref := ro.Spec.WorkloadRef
	if ref == nil {
		return 0, false
	}
	if c := findCondition(st, v1alpha1.InvalidSpec); c != nil && c.Status == corev1.ConditionTrue {
		return 0, false
	}
	want := current
	switch ref.ScaleDown {
	case WorkloadScaleDownOnSuccess:
		if st.Phase == v1alpha1.RolloutPhaseHealthy {
			want = 0
		}
	case WorkloadScaleDownProgressively:
		want = max(0, ro.Spec.ReplicasOrDefault()-st.AvailableReplicas)
	default:
		return 0, false
	}
	if want >= current {
		return 0, false
	}
	return want, true
}
