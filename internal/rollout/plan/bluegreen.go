package plan

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// BlueGreen plans a blue-green rollout: the new version comes up beside the active one behind
// the preview Service, and the active Service switches to it at once on promotion.
func BlueGreen(o Observed) Plan {
	if o.HashCollision {
		return collisionPlan(o)
	}
	p := newPlan(o.Rollout)
	planNewReplicaSet(&p, o)
	st := &p.Status
	if st.CurrentPodHash != v1alpha1.HashOf(o.NewRS) {
		st.BlueGreen.ScaleUpPreviewCheckPoint = false
	}
	beginRevision(&p, o, 0)
	syncAbort(&p, o)
	active := activeRS(o, st)

	switch {
	case !updating(st):
		settleBlueGreen(&p, o)
	case st.Abort:
		abortBlueGreen(&p, o, active)
	default:
		previewBlueGreen(&p, o, active)
	}
	planBlueGreenAnalysis(&p, o) // analysis hook: retire and prune runs
	scaleDownOld(&p, o)
	pruneHistory(&p, o)
	planRestart(&p, o)
	finishStatus(&p, o)
	announceWrites(&p, o)
	st.Selector = activeSelector(o, st)
	p.Metadata = RoleMetadata(o, p.Status)
	return p
}

// activeRS is the ReplicaSet the active Service selects; on the first deploy, the new one.
func activeRS(o Observed, st *v1alpha1.RolloutStatus) *appsv1.ReplicaSet {
	for _, rs := range o.all() {
		if st.BlueGreen.ActiveSelector != "" && v1alpha1.HashOf(rs) == st.BlueGreen.ActiveSelector {
			return rs
		}
	}
	return nil
}

// settleBlueGreen runs a promoted (or first) version at full size behind both Services.
func settleBlueGreen(p *Plan, o Observed) {
	bg := o.Rollout.Spec.Strategy.BlueGreen
	p.Replicas[o.NewRS.Name] = o.Rollout.Spec.ReplicasOrDefault()
	if fullyAvailable(o.NewRS) && specReplicas(o.NewRS) == o.Rollout.Spec.ReplicasOrDefault() {
		switchActive(p, o)
		if bg.PreviewService != "" {
			p.Selectors[bg.PreviewService] = v1alpha1.HashOf(o.NewRS)
			p.Status.BlueGreen.PreviewSelector = v1alpha1.HashOf(o.NewRS)
		}
	}
}

func switchActive(p *Plan, o Observed) {
	bg := o.Rollout.Spec.Strategy.BlueGreen
	p.Selectors[bg.ActiveService] = v1alpha1.HashOf(o.NewRS)
	p.Status.BlueGreen.ActiveSelector = v1alpha1.HashOf(o.NewRS)
}

// abortBlueGreen keeps the active version, points the preview back at it, and removes the
// new version after abortScaleDownDelaySeconds (0 keeps it for inspection).
func abortBlueGreen(p *Plan, o Observed, active *appsv1.ReplicaSet) {
	bg := o.Rollout.Spec.Strategy.BlueGreen
	active = revertActive(p, o, active) // analysis hook: a failed post-promotion analysis switches back
	if active != nil && bg.PreviewService != "" && fullyAvailable(active) {
		p.Selectors[bg.PreviewService] = v1alpha1.HashOf(active)
		p.Status.BlueGreen.PreviewSelector = v1alpha1.HashOf(active)
	}
	delay := bg.AbortScaleDownDelaySecondsOrDefault()
	if delay == 0 || specReplicas(o.NewRS) == 0 {
		return
	}
	scaleDownAfter(p, o, o.NewRS, time.Duration(delay)*time.Second)
}

// previewBlueGreen brings the new version up behind the preview Service and promotes it when
// allowed: automatically, after autoPromotionSeconds, or by a human.
func previewBlueGreen(p *Plan, o Observed, active *appsv1.ReplicaSet) {
	bg := o.Rollout.Spec.Strategy.BlueGreen
	st := &p.Status
	total := o.Rollout.Spec.ReplicasOrDefault()
	size := total
	if bg.PreviewReplicaCount != nil && !st.BlueGreen.ScaleUpPreviewCheckPoint {
		size = *bg.PreviewReplicaCount
	}
	p.Replicas[o.NewRS.Name] = size
	if active != nil && active != o.NewRS {
		// The active version keeps its full size until the switch.
		p.Replicas[active.Name] = total
	}
	ready := fullyAvailable(o.NewRS) && specReplicas(o.NewRS) == size
	if !ready {
		return
	}
	if bg.PreviewService != "" {
		p.Selectors[bg.PreviewService] = v1alpha1.HashOf(o.NewRS)
		st.BlueGreen.PreviewSelector = v1alpha1.HashOf(o.NewRS)
	}
	if !st.BlueGreen.ScaleUpPreviewCheckPoint && (!prePromotionPassed(p, o) || !promotionAllowed(p, o)) {
		return
	}
	st.BlueGreen.ScaleUpPreviewCheckPoint = true
	if size < total {
		p.Replicas[o.NewRS.Name] = total
		return
	}
	promoteBlueGreen(p, o)
}

// promotionAllowed decides whether the preview may become active now, pausing the rollout
// (BlueGreenPause) when a human, or autoPromotionSeconds, must decide.
func promotionAllowed(p *Plan, o Observed) bool {
	bg := o.Rollout.Spec.Strategy.BlueGreen
	st := &p.Status
	switch {
	case st.PromoteFull, RollbackWithinWindow(o):
		return true
	case o.Rollout.Spec.Paused:
		return false
	case bg.AutoPromotionEnabledOrDefault() && bg.AutoPromotionSeconds == 0:
		return true
	}
	wait := time.Duration(bg.AutoPromotionSeconds) * time.Second
	return holdPause(p, o, v1alpha1.PauseReasonBlueGreenPause, wait, bg.AutoPromotionSeconds > 0)
}

// promoteBlueGreen switches the active Service to the new version; it becomes stable.
func promoteBlueGreen(p *Plan, o Observed) {
	st := &p.Status
	switchActive(p, o)
	if !postPromotionPassed(p, o) { // analysis hook: the old version stays up until it passes
		if st.Abort {
			revertActive(p, o, nil) // failed: back to the old version in this same reconcile
		}
		return
	}
	st.StableRS = st.CurrentPodHash
	st.PromoteFull = false
	st.PauseConditions, st.ControllerPause = nil, false
	p.normal(ReasonCompleted, fmt.Sprintf("Rollout completed update to revision %d (%s): Promoted to active", v1alpha1.RevisionOf(o.NewRS), st.CurrentPodHash))
}

// scaleDownOld removes the old versions that no Service selects any more: each keeps running
// for scaleDownDelaySeconds after the switch (clients with stale endpoints still reach it),
// and beyond scaleDownDelayRevisionLimit of them the oldest go at once.
func scaleDownOld(p *Plan, o Observed) {
	bg := o.Rollout.Spec.Strategy.BlueGreen
	st := &p.Status
	delay := time.Duration(bg.ScaleDownDelaySecondsOrDefault()) * time.Second
	waiting := int32(0)
	for _, rs := range o.all() {
		serving := (rs == o.NewRS && !st.Abort) || v1alpha1.HashOf(rs) == st.BlueGreen.ActiveSelector
		if _, stamped := rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation]; stamped && serving {
			// A version that serves again (a rollback, a retry) loses its old deadline.
			p.ScaleDownAt[rs.Name] = nil
		}
	}
	for _, rs := range o.all() {
		hash := v1alpha1.HashOf(rs)
		if rs == o.NewRS || hash == st.BlueGreen.ActiveSelector || hash == st.StableRS || specReplicas(rs) == 0 {
			continue
		}
		if _, planned := p.Replicas[rs.Name]; planned {
			continue
		}
		if bg.ScaleDownDelayRevisionLimit != nil && waiting >= *bg.ScaleDownDelayRevisionLimit {
			p.Replicas[rs.Name] = 0
			continue
		}
		waiting++
		scaleDownAfter(p, o, rs, delay)
	}
}

// scaleDownAfter stamps a scale-down deadline on a ReplicaSet, and scales it to zero once the
// deadline has passed.
func scaleDownAfter(p *Plan, o Observed, rs *appsv1.ReplicaSet, delay time.Duration) {
	deadline, err := time.Parse(time.RFC3339, rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation])
	if err != nil {
		at := o.Now.Add(delay)
		p.ScaleDownAt[rs.Name] = &at
		p.requeue(delay)
		return
	}
	if left := deadline.Sub(o.Now); left > 0 {
		p.requeue(left)
		return
	}
	p.Replicas[rs.Name] = 0
	p.ScaleDownAt[rs.Name] = nil
}

// activeSelector is status.selector for blue-green: the Rollout's selector narrowed to the
// active pods, so that an HPA measures only them.
func activeSelector(o Observed, st *v1alpha1.RolloutStatus) string {
	sel := o.Rollout.Spec.Selector.DeepCopy()
	if sel == nil {
		return ""
	}
	if st.BlueGreen.ActiveSelector != "" {
		if sel.MatchLabels == nil {
			sel.MatchLabels = map[string]string{}
		}
		sel.MatchLabels[v1alpha1.PodTemplateHashLabel] = st.BlueGreen.ActiveSelector
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return ""
	}
	return s.String()
}
