package plan

import (
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// finishStatus fills the replica counts, conditions, phase and message from the observed
// ReplicaSets and the decisions already in p.Status.
func finishStatus(p *Plan, o Observed) {
	st := &p.Status
	before := o.Rollout.Status
	countReplicas(st, o)
	st.ObservedGeneration = strconv.FormatInt(o.Rollout.Generation, 10)
	if sel, err := metav1.LabelSelectorAsSelector(o.Rollout.Spec.Selector); err == nil && o.Rollout.Spec.Selector != nil {
		st.Selector = sel.String()
	}
	removeCondition(st, v1alpha1.InvalidSpec)
	progressCondition(p, o, &before)
	pausedCondition(st, o)
	availableCondition(st, o)
	completedCondition(st, o)
	st.Phase, st.Message = Phase(o.Rollout, st)
	healthyCondition(st, o.Now)
}

// countReplicas sums the pods of every ReplicaSet the Rollout owns.
func countReplicas(st *v1alpha1.RolloutStatus, o Observed) {
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0
	for _, rs := range o.all() {
		st.Replicas += rs.Status.Replicas
		st.ReadyReplicas += rs.Status.ReadyReplicas
		st.AvailableReplicas += rs.Status.AvailableReplicas
	}
	st.UpdatedReplicas = o.NewRS.Status.Replicas
	st.HPAReplicas = st.Replicas
}

// all lists every ReplicaSet once.
func (o Observed) all() []*appsv1.ReplicaSet {
	out := []*appsv1.ReplicaSet{o.NewRS}
	if o.StableRS != nil && o.StableRS != o.NewRS {
		out = append(out, o.StableRS)
	}
	return append(out, o.others()...)
}

func paused(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus) bool {
	return ro.Spec.Paused || len(st.PauseConditions) > 0
}

// progressCondition tracks the progress deadline. Progress is any change in the new
// ReplicaSet's pods or in the step; a rollout that shows none for progressDeadlineSeconds
// while neither paused nor aborted has exceeded its deadline, and aborts if asked to.
func progressCondition(p *Plan, o Observed, before *v1alpha1.RolloutStatus) {
	st := &p.Status
	rsName := o.NewRS.Name
	switch {
	case st.Abort:
		setCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, ReasonAborted, abortMessage(o, st), o.Now)
		return
	case paused(o.Rollout, st):
		setCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionUnknown, ReasonPausedCondition, "Rollout is paused", o.Now)
		return
	case !inFlight(o, st):
		setCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionTrue, ReasonNewRSAvailable,
			fmt.Sprintf("ReplicaSet %q has successfully progressed.", rsName), o.Now)
		return
	}
	cond := findCondition(st, v1alpha1.RolloutProgressing)
	if cond != nil && cond.Reason == ReasonProgressDeadlineCond && !madeProgress(before, st) {
		// Still stuck. progressDeadlineAbort may have been switched on since.
		st.Abort = st.Abort || o.Rollout.Spec.ProgressDeadlineAbort
		return
	}
	if cond == nil || cond.Reason != ReasonReplicaSetUpdated || madeProgress(before, st) {
		touchCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated,
			fmt.Sprintf("ReplicaSet %q is progressing.", rsName), o.Now)
		cond = findCondition(st, v1alpha1.RolloutProgressing)
	}
	deadline := time.Duration(o.Rollout.Spec.ProgressDeadlineSecondsOrDefault()) * time.Second
	left := cond.LastUpdateTime.Add(deadline).Sub(o.Now)
	if left > 0 {
		p.requeue(left)
		return
	}
	msg := fmt.Sprintf("ReplicaSet %q has timed out progressing.", rsName)
	setCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionFalse, ReasonProgressDeadlineCond, msg, o.Now)
	p.event(corev1.EventTypeWarning, ReasonProgressDeadline, msg)
	if o.Rollout.Spec.ProgressDeadlineAbort {
		st.Abort = true
	}
}

// inFlight: the update is not finished, or some ReplicaSet is not yet at its size.
func inFlight(o Observed, st *v1alpha1.RolloutStatus) bool {
	if updating(st) {
		return true
	}
	want := o.Rollout.Spec.ReplicasOrDefault()
	return o.NewRS.Status.AvailableReplicas < want || st.Replicas != want
}

func madeProgress(before, after *v1alpha1.RolloutStatus) bool {
	return before.UpdatedReplicas != after.UpdatedReplicas ||
		before.ReadyReplicas != after.ReadyReplicas ||
		before.AvailableReplicas != after.AvailableReplicas ||
		before.Replicas != after.Replicas ||
		stepIndex(before) != stepIndex(after) ||
		before.CurrentPodHash != after.CurrentPodHash
}

func pausedCondition(st *v1alpha1.RolloutStatus, o Observed) {
	if paused(o.Rollout, st) {
		setCondition(st, v1alpha1.RolloutPaused, corev1.ConditionTrue, ReasonPausedCondition, "Rollout is paused", o.Now)
		return
	}
	if findCondition(st, v1alpha1.RolloutPaused) != nil {
		setCondition(st, v1alpha1.RolloutPaused, corev1.ConditionFalse, ReasonResumed, "Rollout is resumed", o.Now)
	}
}

func availableCondition(st *v1alpha1.RolloutStatus, o Observed) {
	want := o.Rollout.Spec.ReplicasOrDefault()
	if st.AvailableReplicas >= want {
		setCondition(st, v1alpha1.RolloutAvailable, corev1.ConditionTrue, ReasonAvailable, "Rollout has minimum availability", o.Now)
		return
	}
	setCondition(st, v1alpha1.RolloutAvailable, corev1.ConditionFalse, ReasonNotAvailable, "Rollout does not have minimum availability", o.Now)
}

func completedCondition(st *v1alpha1.RolloutStatus, o Observed) {
	if !updating(st) && !inFlight(o, st) {
		setCondition(st, v1alpha1.RolloutCompleted, corev1.ConditionTrue, ReasonRolloutCompleted, "Rollout completed update to revision "+revisionText(o), o.Now)
		return
	}
	setCondition(st, v1alpha1.RolloutCompleted, corev1.ConditionFalse, ReasonRolloutNotCompleted, "Rollout not completed, started update to revision "+revisionText(o), o.Now)
}

func revisionText(o Observed) string {
	return fmt.Sprintf("%d (%s)", RevisionOf(o.NewRS), HashOf(o.NewRS))
}

func healthyCondition(st *v1alpha1.RolloutStatus, now time.Time) {
	healthy := st.Phase == v1alpha1.RolloutPhaseHealthy
	if healthy {
		setCondition(st, v1alpha1.RolloutHealthy, corev1.ConditionTrue, ReasonHealthy, "Rollout is healthy", now)
		return
	}
	setCondition(st, v1alpha1.RolloutHealthy, corev1.ConditionFalse, ReasonNotHealthy, "Rollout is not healthy", now)
}

// Phase sums a rollout up the way Argo Rollouts does, with its messages.
func Phase(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus) (v1alpha1.RolloutPhase, string) {
	if c := findCondition(st, v1alpha1.InvalidSpec); c != nil && c.Status == corev1.ConditionTrue {
		return v1alpha1.RolloutPhaseDegraded, "InvalidSpec: " + c.Message
	}
	if st.Abort {
		msg := "RolloutAborted"
		if c := findCondition(st, v1alpha1.RolloutProgressing); c != nil && c.Reason == ReasonAborted {
			msg += ": " + c.Message
		}
		return v1alpha1.RolloutPhaseDegraded, msg
	}
	if c := findCondition(st, v1alpha1.RolloutProgressing); c != nil && c.Reason == ReasonProgressDeadlineCond {
		return v1alpha1.RolloutPhaseDegraded, "ProgressDeadlineExceeded: " + c.Message
	}
	if ro.Spec.Paused {
		return v1alpha1.RolloutPhasePaused, "manually paused"
	}
	if len(st.PauseConditions) > 0 {
		return v1alpha1.RolloutPhasePaused, string(st.PauseConditions[0].Reason)
	}
	want := ro.Spec.ReplicasOrDefault()
	switch {
	case st.UpdatedReplicas < want:
		return v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"
	case st.AvailableReplicas < st.UpdatedReplicas:
		return v1alpha1.RolloutPhaseProgressing, "updated replicas are still becoming available"
	}
	if ro.Spec.Strategy.BlueGreen != nil {
		switch {
		case st.BlueGreen.ActiveSelector != st.CurrentPodHash:
			return v1alpha1.RolloutPhaseProgressing, "active service cutover pending"
		case updating(st):
			return v1alpha1.RolloutPhaseProgressing, "waiting for analysis to complete"
		}
		return v1alpha1.RolloutPhaseHealthy, ""
	}
	switch {
	case st.Replicas > st.UpdatedReplicas:
		return v1alpha1.RolloutPhaseProgressing, "old replicas are pending termination"
	case updating(st):
		return v1alpha1.RolloutPhaseProgressing, "waiting for all steps to complete"
	}
	return v1alpha1.RolloutPhaseHealthy, ""
}
