package plan_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/rollout/sim"
)

// The planner's scenario tests live in package plan_test: they drive the real planner through
// the simulated cluster of package sim, which imports plan (so package plan's own tests cannot
// import it). world binds that cluster to a test, for helpers that fail it.
type world struct {
	*sim.World
	t testing.TB
}

// newWorld is the "shop" Rollout of a strategy and size in a fresh simulated cluster.
func newWorld(t testing.TB, strategy v1alpha1.RolloutStrategy, replicas int32) *world {
	w := sim.New(shopRollout(strategy, replicas), time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	return &world{World: w, t: t}
}

// shopRollout is the Rollout "shop" the scenarios release: its pods are labelled app: shop.
func shopRollout(strategy v1alpha1.RolloutStrategy, replicas int32) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", Generation: 1},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop"}}},
			Strategy: strategy,
		},
	}
}

// settle reconciles until nothing changes any more, failing the test when that never happens.
func (w *world) settle() plan.Plan {
	w.t.Helper()
	p, err := w.Settle()
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// promote does what `kubectl argo rollouts promote` does to a paused rollout.
func (w *world) promote() {
	w.Rollout.Spec.Paused = false
	w.Rollout.Status.PauseConditions = nil
}

func (w *world) expect(phase v1alpha1.RolloutPhase, message string) {
	w.t.Helper()
	if st := w.Rollout.Status; st.Phase != phase || st.Message != message {
		w.t.Fatalf("phase %q %q, want %q %q", st.Phase, st.Message, phase, message)
	}
}

func (w *world) expectReplicas(hash string, want int32) {
	w.t.Helper()
	if got := w.Replicas(hash); got != want {
		w.t.Fatalf("ReplicaSet %s has %d replicas, want %d (%s)", hash, got, want, w.Snapshot())
	}
}

func (w *world) expectStep(want int32) {
	w.t.Helper()
	if got := ptr.Deref(w.Rollout.Status.CurrentStepIndex, 0); got != want {
		w.t.Fatalf("currentStepIndex %d, want %d", got, want)
	}
}

// condition is the status condition of a type, nil when there is none.
func condition(st v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}
