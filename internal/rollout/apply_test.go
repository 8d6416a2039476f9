package rollout

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// cachedReads reads from a snapshot of the cluster taken before the reconcile's writes, as the
// manager's cache does for a moment after each write, and writes to the cluster itself.
type cachedReads struct {
	client.Client               // the API server: writes
	cache         client.Reader // reads
}

func (c cachedReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.cache.Get(ctx, key, obj, opts...)
}

func (c cachedReads) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.cache.List(ctx, list, opts...)
}

type recordedEvents struct{}

func (recordedEvents) Event(*v1alpha1.Rollout, string, string, string) {}

// TestScaleDownAtTheDeadlineSurvivesTheCacheLag: at a scale-down deadline the plan scales the
// old ReplicaSet to zero and removes its deadline. Both writes must land although the cache
// still shows the ReplicaSet as it was before the first of them.
func TestScaleDownAtTheDeadlineSurvivesTheCacheLag(t *testing.T) {
	scheme := testScheme(t)
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", UID: "ro-uid"}}
	old := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-v1", Namespace: "default",
			Annotations:     map[string]string{v1alpha1.ScaleDownDeadlineAnnotation: "2026-11-26T01:36:55Z"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "shop", UID: "ro-uid", Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](3)},
	}
	build := func() client.Client {
		return fake.NewClientBuilder().WithScheme(scheme).WithObjects(old.DeepCopy()).
			WithIndex(&appsv1.ReplicaSet{}, ownerIndex, ownerUID).Build()
	}
	api, cache := build(), build() // the same objects at the same resourceVersion
	r := &Reconciler{Client: cachedReads{Client: api, cache: cache}, Clock: clocktesting.NewFakePassiveClock(time.Now()), Events: recordedEvents{}}
	p := plan.Plan{
		Replicas:    map[string]int32{"shop-v1": 0},
		ScaleDownAt: map[string]*time.Time{"shop-v1": nil},
	}
	if err := r.apply(context.Background(), ro, p); err != nil {
		t.Fatalf("applying the scale-down: %v", err)
	}
	var got appsv1.ReplicaSet
	if err := api.Get(context.Background(), client.ObjectKeyFromObject(old), &got); err != nil {
		t.Fatal(err)
	}
	if *got.Spec.Replicas != 0 {
		t.Errorf("the old ReplicaSet has %d replicas, want 0", *got.Spec.Replicas)
	}
	if at, ok := got.Annotations[v1alpha1.ScaleDownDeadlineAnnotation]; ok {
		t.Errorf("the old ReplicaSet keeps its deadline %s", at)
	}
}

// testScheme knows the core types and Aviary's.
func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return scheme
}
