package plan

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// collisionRetry is how soon a Rollout whose new ReplicaSet name was taken plans again, with
// the next collision count and so a new name.
const collisionRetry = 200 * time.Millisecond

// planNewReplicaSet writes what brings the new ReplicaSet into being: it is created when
// missing, and a returning template's ReplicaSet takes the newest revision number.
func planNewReplicaSet(p *Plan, o Observed) {
	switch stored := o.StoredNewRS; {
	case stored == nil:
		p.CreateReplicaSet = o.NewRS
		p.normal(ReasonNewReplicaSetCreated, fmt.Sprintf("Created ReplicaSet %s (revision %d)", o.NewRS.Name, v1alpha1.RevisionOf(o.NewRS)))
	case v1alpha1.RevisionOf(stored) != v1alpha1.RevisionOf(o.NewRS):
		p.Revisions[o.NewRS.Name] = v1alpha1.RevisionOf(o.NewRS)
	}
}

// collisionPlan answers a hash collision (the new ReplicaSet's name belongs to a ReplicaSet the
// Rollout does not control) as Deployments do: status.collisionCount moves on, which changes
// the hash, and nothing else is written.
func collisionPlan(o Observed) Plan {
	p := newPlan(o.Rollout)
	p.Status.CollisionCount = ptr.To(ptr.Deref(p.Status.CollisionCount, 0) + 1)
	p.requeue(collisionRetry)
	return p
}

// AsNewestRevision is the current template's stored ReplicaSet as the newest revision: itself
// when it already is, else a copy numbered after maxRevision, the highest revision among the
// Rollout's ReplicaSets (a returning template, as after an undo). planNewReplicaSet writes the
// new number.
func AsNewestRevision(rs *appsv1.ReplicaSet, maxRevision int64) *appsv1.ReplicaSet {
	if v1alpha1.RevisionOf(rs) >= maxRevision {
		return rs
	}
	out := rs.DeepCopy()
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[v1alpha1.RevisionAnnotation] = fmt.Sprint(maxRevision + 1)
	return out
}
