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
	removeCondition(st, RolloutApplyFailed) // this plan is applied in full, or reports again
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
	if msg := StepNotRun(o.Rollout, st); msg != "" {
		setCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionTrue, ReasonStepNotRun, msg, o.Now)
		if before.Message != msg {
			p.event(corev1.EventTypeWarning, ReasonStepNotRun, msg)
		}
		return
	}
	if waitingBeyondPods(o, st) {
		// No deadline while waiting: the step's end is progress, and the deadline counts
		// again from there.
		if cond == nil || cond.Reason != ReasonReplicaSetUpdated {
			touchCondition(st, v1alpha1.RolloutProgressing, corev1.ConditionTrue, ReasonReplicaSetUpdated,
				fmt.Sprintf("ReplicaSet %q is progressing.", rsName), o.Now)
		}
		return
	}
	if cond != nil && cond.Reason == ReasonProgressDeadlineCond && !madeProgress(before, st) {
		// Still stuck. progressDeadlineAbort may have been switched on since.
		st.Abort = st.Abort || o.Rollout.Spec.ProgressDeadlineAbort
		return
	}
	if cond == nil || cond.Reason != ReasonReplicaSetUpdated || madeProgress(before, st) || waitingBeyondPods(o, before) {
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

// waitingBeyondPods: the update waits on something other than its pods: an analysis,
// experiment or plugin step, or a blue-green promotion analysis. As in Argo Rollouts, that
// time does not count against progressDeadlineSeconds, however long the analysis runs.
func waitingBeyondPods(o Observed, st *v1alpha1.RolloutStatus) bool {
	if !updating(st) || st.Abort {
		return false
	}
	if bg := o.Rollout.Spec.Strategy.BlueGreen; bg != nil {
		return running(st.BlueGreen.PrePromotionAnalysisRunStatus) || running(st.BlueGreen.PostPromotionAnalysisRunStatus)
	}
	steps := o.Rollout.Spec.Strategy.Canary.Steps
	index := stepIndex(st)
	if int(index) >= len(steps) {
		return false
	}
	step := steps[index]
	return step.Analysis != nil || step.Experiment != nil || step.Plugin != nil
}

// StepNotRun says why the current canary step waits for a human: Aviary does not run
// experiment and plugin steps yet, so without this the rollout would wait there in silence.
// It is empty at any other step.
func StepNotRun(ro *v1alpha1.Rollout, st *v1alpha1.RolloutStatus) string {
	c := ro.Spec.Strategy.Canary
	if c == nil || !updating(st) || st.Abort {
		return ""
	}
	index := stepIndex(st)
	if index < 0 || int(index) >= len(c.Steps) {
		return ""
	}
	step := c.Steps[index]
	kind := NotRunKind(step)
	switch kind {
	case "":
		return ""
	case "plugin":
		kind += " (" + step.Plugin.Name + ")"
	}
	return fmt.Sprintf("step %d/%d is a %s step, which Aviary does not run yet: the rollout waits here until promoted (kubectl aviary promote %s)",
		index+1, len(c.Steps), kind, ro.Name)
}

// running: an analysis run has started and not finished.
func running(s *v1alpha1.RolloutAnalysisRunStatus) bool {
	return s != nil && !s.Status.Completed()
}

// inFlight: the update is not finished, or some ReplicaSet is not yet at its size. An old
// ReplicaSet kept up for its scale-down delay is at the size it should have for now.
func inFlight(o Observed, st *v1alpha1.RolloutStatus) bool {
	if updating(st) {
		return true
	}
	want := o.Rollout.Spec.ReplicasOrDefault()
	if o.NewRS.Status.AvailableReplicas < want {
		return true
	}
	pods := o.NewRS.Status.Replicas
	for _, rs := range o.all()[1:] {
		if _, delayed := rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation]; !delayed {
			pods += rs.Status.Replicas
		}
	}
	return pods != want
}

func madeProgress(before, after *v1alpha1.RolloutStatus) bool {
	return before.UpdatedReplicas != after.UpdatedReplicas ||
		before.ReadyReplicas != after.ReadyReplicas ||
		before.AvailableReplicas != after.AvailableReplicas ||
		before.Replicas != after.Replicas ||
		stepIndex(before) != stepIndex(after) ||
		before.CurrentPodHash != after.CurrentPodHash ||
		before.StableRS != after.StableRS
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
	return fmt.Sprintf("%d (%s)", v1alpha1.RevisionOf(o.NewRS), v1alpha1.HashOf(o.NewRS))
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
	if msg := StepNotRun(ro, st); msg != "" {
		return v1alpha1.RolloutPhaseProgressing, msg
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
