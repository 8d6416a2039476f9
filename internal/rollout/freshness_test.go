package rollout

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func TestWriteMemoCountsOnlyTheReplacedVersionForAWhile(t *testing.T) {
	var m writeMemo
	key := types.NamespacedName{Namespace: "default", Name: "shop"}
	now := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	if m.stale(key, "7", now) {
		t.Fatal("stale without any write")
	}
	m.wrote(key, "7", now)
	if !m.stale(key, "7", now.Add(time.Second)) {
		t.Error("the version our write replaced does not count as stale")
	}
	if m.stale(key, "8", now.Add(time.Second)) {
		t.Error("the version our write made counts as stale")
	}
	if m.stale(key, "7", now.Add(2*time.Second)) {
		t.Error("a record survived the cache catching up")
	}
	m.wrote(key, "9", now)
	if m.stale(key, "9", now.Add(staleFor)) {
		t.Error("a cache that never catches up blocks reconciles for ever")
	}
}

// TestReconcileWaitsForTheCacheToSeeItsOwnStatusWrite: a Rollout read at the version our last
// status write replaced is not planned from; nothing is created or written.
func TestReconcileWaitsForTheCacheToSeeItsOwnStatusWrite(t *testing.T) {
	scheme := testScheme(t)
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "shop:v1"}}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}},
		},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ro).WithStatusSubresource(ro).Build()
	key := client.ObjectKeyFromObject(ro)
	if err := c.Get(context.Background(), key, ro); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	r := &Reconciler{Client: c, APIReader: c, Clock: clocktesting.NewFakePassiveClock(now)}
	r.written.wrote(key, ro.ResourceVersion, now)

	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key})
	if err != nil || res.RequeueAfter != staleRetry {
		t.Fatalf("Reconcile = %+v, %v; want a retry after %s", res, err, staleRetry)
	}
	var rss appsv1.ReplicaSetList
	if err := c.List(context.Background(), &rss); err != nil {
		t.Fatal(err)
	}
	if len(rss.Items) != 0 {
		t.Errorf("a reconcile of a stale read created %d ReplicaSets", len(rss.Items))
	}
}
