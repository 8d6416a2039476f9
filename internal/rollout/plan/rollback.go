package plan

// RollbackWithinWindow reports whether the current template is a rollback inside
// spec.rollbackWindow, which skips every step (and, for blue-green, the promotion pause), as
// Argo Rollouts does since v1.4.
//
// The rule matched is Argo's, which goes by the age of the ReplicaSets rather than by their
// revision numbers (a ReplicaSet that is returned to gets a new revision, but keeps its
// creation time):
//
//   - it is a rollback when the new ReplicaSet was created before the stable one;
//   - the distance is the number of the Rollout's ReplicaSets created after the new one and
//     before the stable one;
//   - the rollback is within the window when that distance is below
//     spec.rollbackWindow.revisions. A window of 0 (or none) never skips.
//
// So with history v1, v2, v3 (stable), going back to v2 is distance 0 and v1 distance 1: a
// window of 2 covers both, a window of 1 only v2. Creation times are compared strictly (as
// Argo does), so two ReplicaSets created within the same second are not ordered.
func RollbackWithinWindow(o Observed) bool {
	w := o.Rollout.Spec.RollbackWindow
	if w == nil || w.Revisions <= 0 || o.NewRS == nil || o.StableRS == nil || o.StableRS == o.NewRS {
		return false
	}
	created, stableCreated := o.NewRS.CreationTimestamp, o.StableRS.CreationTimestamp
	if !created.Before(&stableCreated) {
		return false
	}
	var distance int32
	for _, rs := range o.OldRSs {
		if rs == o.StableRS {
			continue
		}
		if created.Before(&rs.CreationTimestamp) && rs.CreationTimestamp.Before(&stableCreated) {
			distance++
		}
	}
	return distance < w.Revisions
}
