package plan

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/replicas"
)

// Canary plans a canary rollout whose traffic share is its replica share.
func Canary(o Observed) Plan {
	if o.HashCollision {
		return collisionPlan(o)
	}
	p := newPlan(o.Rollout)
	planNewReplicaSet(&p, o)
	c := o.Rollout.Spec.Strategy.Canary
	beginRevision(&p, o, len(c.Steps))
	boundStepIndex(&p, len(c.Steps))
	planBackgroundAnalysis(&p, o) // analysis hook: a failed background run aborts below
	syncAbort(&p, o)

	weight := canaryProgress(&p, o)
	settlePauses(&p, o)
	reached := scaleCanary(&p, o, weight)
	completeCanary(&p, o, reached)
	finishCanaryAnalysis(&p, o) // analysis hook: retire and prune runs
	canaryServices(&p, o)
	pruneHistory(&p, o)
	planRestart(&p, o)
	finishStatus(&p, o)
	announceWrites(&p, o)
	p.Metadata = RoleMetadata(o, p.Status)
	return p
}

// beginRevision notices a new pod template: the steps start over, pauses and an abort of the
// previous revision are forgotten. The first deploy, and a return to the stable template, skip
// the steps altogether.
func beginRevision(p *Plan, o Observed, stepCount int) {
	st := &p.Status
	newHash := v1alpha1.HashOf(o.NewRS)
	stepsHash := ""
	if c := o.Rollout.Spec.Strategy.Canary; c != nil {
		stepsHash = StepsHash(c.Steps)
	}
	if st.CurrentPodHash == newHash {
		if stepsHash != st.CurrentStepHash {
			// New steps for the same template restart them, as in Argo Rollouts.
			st.CurrentStepHash = stepsHash
			if st.StableRS != newHash && stepCount > 0 {
				st.CurrentStepIndex = ptr.To[int32](0)
			}
		}
		return
	}
	firstDeploy := st.StableRS == ""
	st.CurrentPodHash = newHash
	st.CurrentStepHash = stepsHash
	st.PauseConditions, st.ControllerPause = nil, false
	st.Abort, st.AbortedAt, st.PromoteFull = false, nil, false
	if firstDeploy {
		st.StableRS = newHash
	}
	if stepCount > 0 {
		index := int32(0)
		if st.StableRS == newHash || RollbackWithinWindow(o) {
			index = int32(stepCount)
		}
		st.CurrentStepIndex = &index
	}
	p.normal(ReasonRolloutUpdated, fmt.Sprintf("Rollout updated to revision %d", v1alpha1.RevisionOf(o.NewRS)))
}

// boundStepIndex brings a status.currentStepIndex written out of range by a client back into
// it: a negative index restarts the steps, one past the end means every step is done.
func boundStepIndex(p *Plan, stepCount int) {
	st := &p.Status
	switch {
	case st.CurrentStepIndex == nil:
	case *st.CurrentStepIndex < 0:
		p.event(corev1.EventTypeWarning, ReasonInvalidSpec, fmt.Sprintf(
			"status.currentStepIndex %d is negative; restarting the steps at 0", *st.CurrentStepIndex))
		st.CurrentStepIndex = ptr.To[int32](0)
	case int(*st.CurrentStepIndex) > stepCount:
		st.CurrentStepIndex = ptr.To(int32(stepCount))
	}
}

// syncAbort stamps an abort (status.abort, set by the CLI or on a failed analysis) and forgets
// it on retry (abort cleared).
func syncAbort(p *Plan, o Observed) {
	st := &p.Status
	switch {
	case st.Abort && st.AbortedAt == nil:
		now := metav1.NewTime(o.Now)
		st.AbortedAt = &now
		st.PauseConditions, st.ControllerPause = nil, false
		if st.CurrentStepIndex != nil {
			st.CurrentStepIndex = ptr.To[int32](0)
		}
		p.event(corev1.EventTypeWarning, ReasonAborted, abortMessage(o, st))
	case !st.Abort && st.AbortedAt != nil:
		st.AbortedAt = nil
		p.normal(ReasonRetried, fmt.Sprintf("Rollout retried update to revision %d", v1alpha1.RevisionOf(o.NewRS)))
	}
}

// abortMessage is Argo's: the run that made the rollout abort, if one did, is named after it.
func abortMessage(o Observed, st *v1alpha1.RolloutStatus) string {
	msg := fmt.Sprintf("Rollout aborted update to revision %d", v1alpha1.RevisionOf(o.NewRS))
	if reason := analysisAbortReason(st); reason != "" {
		msg += ": " + reason
	}
	return msg
}

// updating: the current template is not yet the stable one.
func updating(st *v1alpha1.RolloutStatus) bool { return st.StableRS != st.CurrentPodHash }

// canaryProgress runs the step machine for one reconcile and returns the canary weight to
// scale to. It advances at most one step, so every step leaves a status (and an Event) behind.
func canaryProgress(p *Plan, o Observed) int32 {
	st := &p.Status
	steps := o.Rollout.Spec.Strategy.Canary.Steps
	switch {
	case !updating(st):
		return 100
	case st.Abort:
		return 0
	case st.PromoteFull:
		st.CurrentStepIndex = ptr.To(int32(len(steps)))
		st.PauseConditions, st.ControllerPause = nil, false
		return 100
	case o.Rollout.Spec.Paused:
		return WeightAt(steps, stepIndex(st))
	}
	index := stepIndex(st)
	if int(index) >= len(steps) {
		return 100
	}
	weight := WeightAt(steps, index)
	if done := stepDone(p, o, steps[index], weight); done {
		p.normal(ReasonStepCompleted, fmt.Sprintf("Rollout step %d/%d completed (%s)", index+1, len(steps), DescribeStep(steps[index])))
		st.CurrentStepIndex = ptr.To(index + 1)
		p.requeue(time.Second)
	}
	return weight
}

// stepDone reports whether the current step is complete, recording pauses as it goes.
func stepDone(p *Plan, o Observed, step v1alpha1.CanaryStep, weight int32) bool {
	switch {
	case routed(o) && routedStep(step):
		return routedAtTarget(o, &p.Status)
	case step.SetWeight != nil || step.SetCanaryScale != nil:
		return canaryAtWeight(o, weight)
	case step.Pause != nil:
		return pauseDone(p, o, step.Pause)
	case step.Analysis != nil:
		return stepAnalysisDone(p, o, stepIndex(&p.Status), step)
	}
	// Experiment and plugin steps wait for controllers that own them; a human can still move
	// past them with promote.
	return false
}

// pauseDone handles a pause step; see holdPause.
func pauseDone(p *Plan, o Observed, pause *v1alpha1.RolloutPause) bool {
	d, timed := PauseDuration(pause)
	return holdPause(p, o, v1alpha1.PauseReasonCanaryPauseStep, d, timed)
}

// holdPause runs a controller pause (a canary pause step, a blue-green wait for promotion):
// the first call starts it and records why, a timed pause ends by itself after d, and a pause
// condition removed by promote while controllerPause is still set counts as done. It reports
// whether the pause is over.
func holdPause(p *Plan, o Observed, reason v1alpha1.PauseReason, d time.Duration, timed bool) bool {
	st := &p.Status
	cond := pauseCondition(st, reason)
	if cond == nil {
		if st.ControllerPause {
			st.ControllerPause = false
			p.normal(ReasonResumed, "Rollout is resumed")
			return true
		}
		st.PauseConditions = append(st.PauseConditions, v1alpha1.PauseCondition{Reason: reason, StartTime: metav1.NewTime(o.Now)})
		st.ControllerPause = true
		p.normal(ReasonPaused, fmt.Sprintf("Rollout is paused (%s)", reason))
		if timed {
			p.requeue(d)
		}
		return false
	}
	if !timed {
		return false
	}
	if left := cond.StartTime.Add(d).Sub(o.Now); left > 0 {
		p.requeue(left)
		return false
	}
	dropPauseCondition(st, reason)
	st.ControllerPause = len(st.PauseConditions) > 0
	return true
}

func pauseCondition(st *v1alpha1.RolloutStatus, reason v1alpha1.PauseReason) *v1alpha1.PauseCondition {
	for i := range st.PauseConditions {
		if st.PauseConditions[i].Reason == reason {
			return &st.PauseConditions[i]
		}
	}
	return nil
}

func dropPauseCondition(st *v1alpha1.RolloutStatus, reason v1alpha1.PauseReason) {
	kept := st.PauseConditions[:0]
	for _, c := range st.PauseConditions {
		if c.Reason != reason {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		kept = nil
	}
	st.PauseConditions = kept
}

// settlePauses keeps the pause of a canary pause step only while that step is current. A
// client may move the step index itself (Argo CD's promote-full and skip-current-step
// actions write status.currentStepIndex); the pause it left behind must not hold the rollout,
// and a controllerPause flag left without a pause condition must not resume a later pause
// step before it starts.
func settlePauses(p *Plan, o Observed) {
	st := &p.Status
	if atPauseStep(o, st) {
		return // holdPause owns the pause there
	}
	dropPauseCondition(st, v1alpha1.PauseReasonCanaryPauseStep)
	st.ControllerPause = len(st.PauseConditions) > 0
}

// atPauseStep: an update is running, not aborted, and its current step is a pause step.
func atPauseStep(o Observed, st *v1alpha1.RolloutStatus) bool {
	steps := o.Rollout.Spec.Strategy.Canary.Steps
	index := stepIndex(st)
	return updating(st) && !st.Abort && int(index) < len(steps) && steps[index].Pause != nil
}

// canaryTargets are the sizes a weight asks for.
func canaryTargets(o Observed, weight int32) (canary, stable int32) {
	surge, _ := surgeAndUnavailable(o)
	return replicas.BasicCanaryTargets(o.Rollout.Spec.ReplicasOrDefault(), weight, surge)
}

// surgeAndUnavailable resolves maxSurge and maxUnavailable to pod counts. The API server
// validates both fields; an unreadable value falls back to the safest pace (one pod at a
// time) rather than stalling the rollout.
func surgeAndUnavailable(o Observed) (surge, unavailable int32) {
	c := o.Rollout.Spec.Strategy.Canary
	surge, unavailable, err := replicas.ResolveSurgeUnavailable(o.Rollout.Spec.ReplicasOrDefault(), c.MaxSurgeOrDefault(), c.MaxUnavailableOrDefault())
	if err != nil {
		return 1, 0
	}
	return surge, unavailable
}

// canaryAtWeight: the ReplicaSets are at the weight's sizes, with every pod available, and no
// other ReplicaSet has pods left.
func canaryAtWeight(o Observed, weight int32) bool {
	canary, stable := canaryTargets(o, weight)
	if specReplicas(o.NewRS) != canary || o.NewRS.Status.AvailableReplicas < canary {
		return false
	}
	if o.StableRS != nil && o.StableRS != o.NewRS {
		if specReplicas(o.StableRS) != stable || o.StableRS.Status.AvailableReplicas < stable {
			return false
		}
	}
	for _, rs := range o.others() {
		if specReplicas(rs) > 0 || rs.Status.Replicas > 0 {
			return false
		}
	}
	return true
}

// scaleBasicCanary takes one safe step towards the weight's sizes and reports whether the
// sizes were already reached.
func scaleBasicCanary(p *Plan, o Observed, weight int32) bool {
	total := o.Rollout.Spec.ReplicasOrDefault()
	surge, unavailable := surgeAndUnavailable(o)
	others := o.others()
	slices.Reverse(others) // the replica math retires the oldest first
	in := replicas.BasicCanaryInput{
		Replicas: total, Weight: weight, MaxSurge: surge, MaxUnavailable: unavailable,
		Canary: countsOf(o.NewRS),
	}
	stable := o.StableRS
	if stable == o.NewRS {
		stable = nil
	}
	if stable != nil {
		sc := countsOf(stable)
		in.Stable = &sc
	}
	for _, rs := range others {
		in.Others = append(in.Others, countsOf(rs))
	}
	out := replicas.BasicCanary(in)
	p.Replicas[o.NewRS.Name] = out.Canary
	if stable != nil {
		p.Replicas[stable.Name] = out.Stable
	}
	for i, rs := range others {
		p.Replicas[rs.Name] = out.Others[i]
	}
	return canaryAtWeight(o, weight)
}

// completeCanary makes the new ReplicaSet the stable one once every step is done and it runs
// at full size.
func completeCanary(p *Plan, o Observed, reached bool) {
	st := &p.Status
	steps := o.Rollout.Spec.Strategy.Canary.Steps
	if !updating(st) || st.Abort || o.Rollout.Spec.Paused || !reached {
		return
	}
	if len(steps) > 0 && int(stepIndex(st)) < len(steps) {
		return
	}
	st.StableRS = st.CurrentPodHash
	st.PromoteFull = false
	p.normal(ReasonCompleted, fmt.Sprintf("Rollout completed update to revision %d (%s): Completed all %d canary steps",
		v1alpha1.RevisionOf(o.NewRS), st.CurrentPodHash, len(steps)))
}

// canaryServices points stableService at the stable pods and canaryService at the canary's,
// each only once the ReplicaSet it moves to is fully available. Without an update in flight,
// or after an abort, both select the stable pods.
func canaryServices(p *Plan, o Observed) {
	c := o.Rollout.Spec.Strategy.Canary
	st := &p.Status
	stableRS := o.StableRS
	if st.StableRS == st.CurrentPodHash {
		stableRS = o.NewRS
	}
	if c.StableService != "" && fullyAvailable(stableRS) {
		p.Selectors[c.StableService] = v1alpha1.HashOf(stableRS)
	}
	if c.CanaryService == "" {
		return
	}
	target := o.NewRS
	if st.Abort || !updating(st) {
		target = stableRS
	}
	if fullyAvailable(target) {
		p.Selectors[c.CanaryService] = v1alpha1.HashOf(target)
	}
}
