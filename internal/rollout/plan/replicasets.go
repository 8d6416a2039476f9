package plan

import (
	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-dev/aviary/internal/rollout/replicas"
)

func specReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil || rs.Spec.Replicas == nil {
		return 0
	}
	return *rs.Spec.Replicas
}

func countsOf(rs *appsv1.ReplicaSet) replicas.Counts {
	return replicas.Counts{Replicas: specReplicas(rs), Available: rs.Status.AvailableReplicas}
}

// fullyAvailable: every replica the ReplicaSet asks for is available, and it has some.
// Service selectors only move to such a ReplicaSet, so that a switch never sends traffic to
// pods that cannot take it.
func fullyAvailable(rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	want := specReplicas(rs)
	return want > 0 && rs.Status.AvailableReplicas >= want && rs.Status.ObservedGeneration >= rs.Generation
}

// others lists the ReplicaSets that are neither the new one nor the stable one.
func (o Observed) others() []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range o.OldRSs {
		if rs != o.StableRS && rs != o.NewRS {
			out = append(out, rs)
		}
	}
	return out
}

// pruneHistory deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit.
// OldRSs is newest first, and ReplicaSets that still have pods are never deleted.
func pruneHistory(p *Plan, o Observed) {
	limit := int(o.Rollout.Spec.RevisionHistoryLimitOrDefault())
	kept := 0
	for _, rs := range o.others() {
		if specReplicas(rs) > 0 || rs.Status.Replicas > 0 || p.Replicas[rs.Name] > 0 {
			continue
		}
		if kept < limit {
			kept++
			continue
		}
		p.Delete = append(p.Delete, rs.Name)
	}
}
