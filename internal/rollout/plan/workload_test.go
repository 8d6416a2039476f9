package plan

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func TestWorkloadScale(t *testing.T) {
	invalid := []v1alpha1.RolloutCondition{{Type: v1alpha1.InvalidSpec, Status: corev1.ConditionTrue}}
	for _, tc := range []struct {
		name      string
		ref       *v1alpha1.ObjectRef
		phase     v1alpha1.RolloutPhase
		available int32
		conds     []v1alpha1.RolloutCondition
		current   int32
		want      int32
		ok        bool
	}{
		{name: "no workloadRef", phase: v1alpha1.RolloutPhaseHealthy, available: 3, current: 3},
		{name: "never (default)", ref: &v1alpha1.ObjectRef{Name: "d"}, phase: v1alpha1.RolloutPhaseHealthy, available: 3, current: 3},
		{name: "never", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "never"}, phase: v1alpha1.RolloutPhaseHealthy, available: 3, current: 3},
		{name: "onsuccess while progressing", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "onsuccess"},
			phase: v1alpha1.RolloutPhaseProgressing, available: 2, current: 3},
		{name: "onsuccess once healthy", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "onsuccess"},
			phase: v1alpha1.RolloutPhaseHealthy, available: 3, current: 3, want: 0, ok: true},
		{name: "onsuccess already down", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "onsuccess"},
			phase: v1alpha1.RolloutPhaseHealthy, available: 3, current: 0},
		{name: "progressively, none available", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "progressively"},
			phase: v1alpha1.RolloutPhaseProgressing, available: 0, current: 3},
		{name: "progressively, one available", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "progressively"},
			phase: v1alpha1.RolloutPhaseProgressing, available: 1, current: 3, want: 2, ok: true},
		{name: "progressively, all available", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "progressively"},
			phase: v1alpha1.RolloutPhaseHealthy, available: 3, current: 2, want: 0, ok: true},
		{name: "progressively, surge pods", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "progressively"},
			phase: v1alpha1.RolloutPhaseProgressing, available: 4, current: 1, want: 0, ok: true},
		{name: "progressively never scales up again", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "progressively"},
			phase: v1alpha1.RolloutPhaseProgressing, available: 1, current: 0},
		{name: "invalid spec leaves it alone", ref: &v1alpha1.ObjectRef{Name: "d", ScaleDown: "onsuccess"},
			phase: v1alpha1.RolloutPhaseHealthy, available: 3, conds: invalid, current: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Replicas: ptr.To[int32](3), WorkloadRef: tc.ref}}
			st := &v1alpha1.RolloutStatus{Phase: tc.phase, AvailableReplicas: tc.available, Conditions: tc.conds}
			got, ok := WorkloadScale(ro, st, tc.current)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("WorkloadScale = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestFollowWorkloadPlansTheScaleDown(t *testing.T) {
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Replicas: ptr.To[int32](3),
		WorkloadRef: &v1alpha1.ObjectRef{Kind: "Deployment", Name: "shop", ScaleDown: WorkloadScaleDownOnSuccess}}}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shop", Generation: 7}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)}}

	p := newPlan(ro)
	p.Status.Phase = v1alpha1.RolloutPhaseHealthy
	FollowWorkload(&p, ro, d)
	if p.Status.WorkloadObservedGeneration != "7" || p.Workload == nil || p.Workload.Replicas != 0 || p.Workload.Deployment != d {
		t.Fatalf("healthy: workloadObservedGeneration %q, workload %+v: want 7 and a scale to 0", p.Status.WorkloadObservedGeneration, p.Workload)
	}
	if len(p.Events) != 1 || p.Events[0].Message != "Scaled down Deployment shop from 3 to 0" {
		t.Fatalf("events %v", p.Events)
	}

	p = newPlan(ro)
	p.Status.Phase = v1alpha1.RolloutPhaseProgressing
	FollowWorkload(&p, ro, d)
	if p.Workload != nil || p.Status.WorkloadObservedGeneration != "7" || len(p.Events) != 0 {
		t.Fatalf("progressing: workload %+v events %v: want the generation only", p.Workload, p.Events)
	}

	p = newPlan(ro)
	FollowWorkload(&p, ro, nil)
	if p.Workload != nil || p.Status.WorkloadObservedGeneration != "" {
		t.Fatalf("no Deployment: %+v", p)
	}
}
