package plan

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

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

// WorkloadScaleDown is a planned scale-down of the Deployment a workloadRef names.
type WorkloadScaleDown struct {
	// Deployment is the Deployment as observed.
	Deployment *appsv1.Deployment
	Replicas   int32
}

// FollowWorkload records the generation of the workloadRef Deployment d whose template the plan
// used, and plans its scale-down as spec.workloadRef.scaleDown asks (see WorkloadScale). It is
// the last phase of every plan of a Rollout with a workloadRef; d is nil without one, or when
// the Deployment could not be read.
func FollowWorkload(p *Plan, ro *v1alpha1.Rollout, d *appsv1.Deployment) {
	if d == nil {
		return
	}
	p.Status.WorkloadObservedGeneration = fmt.Sprint(d.Generation)
	have := ptr.Deref(d.Spec.Replicas, 1)
	want, ok := WorkloadScale(ro, &p.Status, have)
	if !ok {
		return
	}
	p.Workload = &WorkloadScaleDown{Deployment: d, Replicas: want}
	p.normal(ReasonScalingDeployment, fmt.Sprintf("Scaled down Deployment %s from %d to %d", d.Name, have, want))
}
