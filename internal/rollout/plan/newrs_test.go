package plan

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func revisioned(revision string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "shop-b",
		Labels:      map[string]string{v1alpha1.PodTemplateHashLabel: "shop-b"},
		Annotations: map[string]string{v1alpha1.RevisionAnnotation: revision}}}
}

func TestNewReplicaSetIsAPlannedWrite(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	built := revisioned("3")
	stored := revisioned("1")

	p := newPlan(ro)
	planNewReplicaSet(&p, Observed{Rollout: ro, NewRS: built})
	if p.CreateReplicaSet != built || len(p.Revisions) != 0 || len(p.Events) != 1 || p.Events[0].Reason != ReasonNewReplicaSetCreated {
		t.Fatalf("missing ReplicaSet: create %v, revisions %v, events %v", p.CreateReplicaSet, p.Revisions, p.Events)
	}

	p = newPlan(ro)
	planNewReplicaSet(&p, Observed{Rollout: ro, NewRS: AsNewestRevision(stored, 2), StoredNewRS: stored})
	if p.CreateReplicaSet != nil || p.Revisions["shop-b"] != 3 || len(p.Events) != 0 {
		t.Fatalf("returning template: create %v, revisions %v, events %v", p.CreateReplicaSet, p.Revisions, p.Events)
	}
	if v1alpha1.RevisionOf(stored) != 1 {
		t.Fatal("AsNewestRevision changed the stored object")
	}

	newest := revisioned("4")
	p = newPlan(ro)
	planNewReplicaSet(&p, Observed{Rollout: ro, NewRS: AsNewestRevision(newest, 4), StoredNewRS: newest})
	if p.CreateReplicaSet != nil || len(p.Revisions) != 0 {
		t.Fatalf("current ReplicaSet: create %v, revisions %v: want no write", p.CreateReplicaSet, p.Revisions)
	}
}

func TestHashCollisionMovesTheCollisionCountOnly(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	ro.Status.CollisionCount = ptr.To[int32](2)
	ro.Status.Phase = v1alpha1.RolloutPhaseHealthy
	p := Canary(Observed{Rollout: ro, NewRS: revisioned("1"), HashCollision: true})
	if ptr.Deref(p.Status.CollisionCount, 0) != 3 || p.CreateReplicaSet != nil || len(p.Replicas) != 0 || p.Status.Phase != v1alpha1.RolloutPhaseHealthy {
		t.Fatalf("plan %+v: want only collisionCount 3", p)
	}
	if p.RequeueAfter <= 0 || p.RequeueAfter > time.Second {
		t.Fatalf("requeue after %v: want a quick retry with the new hash", p.RequeueAfter)
	}
}
