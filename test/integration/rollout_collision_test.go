package integration

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout"
)

// TestHashCollisionTakesTheNextName: a ReplicaSet the Rollout does not control already has the
// name its template hashes to. The controller leaves it alone, moves status.collisionCount on
// and releases under the next name, as Deployments do.
func TestHashCollisionTakesTheNextName(t *testing.T) {
	s := newScene(t, nil)
	ro := shopRollout(2, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}})
	ro.Namespace = s.ns
	asStored := ro.DeepCopy()
	if err := env.Client.Create(t.Context(), asStored, client.DryRunAll); err != nil {
		t.Fatal(err)
	}
	taken := "shop-" + rollout.PodTemplateHash(asStored.Spec.Template, nil)
	labels := map[string]string{"app": "someone-else"}
	s.create(&appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: taken, Labels: labels},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "someone/else:1"}}}},
		},
	})

	s.create(ro)
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"blue": 2}})
	got := s.rollout()
	if ptr.Deref(got.Status.CollisionCount, 0) != 1 || s.newRSName() == taken {
		t.Fatalf("collisionCount %v, ReplicaSet %s: want 1 and a name other than %s", got.Status.CollisionCount, s.newRSName(), taken)
	}
	foreign := &appsv1.ReplicaSet{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: s.ns, Name: taken}, foreign); err != nil {
		t.Fatal(err)
	}
	if len(foreign.OwnerReferences) != 0 || ptr.Deref(foreign.Spec.Replicas, -1) != 0 {
		t.Fatalf("the other ReplicaSet was touched: owners %v, replicas %v", foreign.OwnerReferences, foreign.Spec.Replicas)
	}
}
