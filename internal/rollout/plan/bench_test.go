package plan_test

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// BenchmarkCanaryPlan measures one planning pass for a canary in the middle of an update,
// with history ReplicaSets, the per-reconcile CPU cost that bounds how many Rollouts one
// controller can keep up with.
func BenchmarkCanaryPlan(b *testing.B) {
	for _, history := range []int{0, 10, 100} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			o := midCanary(b, history)
			b.ReportAllocs()
			for b.Loop() {
				_ = plan.Canary(o)
			}
		})
	}
}

// midCanary is a 10-replica canary paused at 30% with `history` scaled-down old ReplicaSets.
func midCanary(tb testing.TB, history int) plan.Observed {
	w := newWorld(tb, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		StableService: "shop-stable", CanaryService: "shop-canary",
		Steps: []v1alpha1.CanaryStep{weight(30), pause(""), weight(60), pause("1m")},
	}}, 10)
	w.settle()
	w.Deploy("v2")
	w.settle()
	o := w.Observe()
	for i := 0; i < history; i++ {
		o.OldRSs = append(o.OldRSs, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("shop-old%d", i),
				Labels:      map[string]string{v1alpha1.PodTemplateHashLabel: fmt.Sprintf("old%d", i)},
				Annotations: map[string]string{v1alpha1.RevisionAnnotation: "0"}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0)},
		})
	}
	return o
}
