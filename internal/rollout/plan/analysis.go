package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// How a rollout waits on analysis (Argo Rollouts' semantics):
//   - each run a rollout needs (a step's, the background one, blue-green pre/post promotion)
//     has a deterministic name, so a reconcile that crashed after creating it finds it again;
//   - a Successful run lets the rollout go on, a Failed or Error run aborts it (the abort
//     message carries the run's message), an Inconclusive run pauses it with
//     InconclusiveAnalysisRun;
//   - a run that is done with (an abort, a promoted inconclusive run, a completed update, a
//     superseded revision) is retired by setting spec.terminate; the next attempt of the same
//     slot gets the next ".<n>" name. Retiring is what keeps one run per attempt across
//     controller restarts: "current" is always the newest run of the slot not yet retired.

// analysisRequeue is how soon a rollout waiting on a run looks again, besides the watch on
// AnalysisRuns that usually wakes it first.
const analysisRequeue = 5 * time.Second

// waitOnRun finds (or plans to create) the slot's current run, records its status, and acts on
// its outcome. It returns the run's phase ("" while it is being created).
func waitOnRun(p *Plan, o Observed, s runSlot) v1alpha1.AnalysisPhase {
	cur, attempts := currentRun(o, s)
	if cur == nil {
		name := s.baseName(o)
		if attempts > 0 {
			name += "." + strconv.Itoa(attempts)
		}
		run, err := newRun(o, s, name)
		if err != nil {
			*s.status = &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhaseError, Message: err.Error()}
			abortForAnalysis(p, o)
			return v1alpha1.AnalysisPhaseError
		}
		p.Analysis.Create = append(p.Analysis.Create, run)
		*s.status = &v1alpha1.RolloutAnalysisRunStatus{Name: name, Status: v1alpha1.AnalysisPhasePending}
		p.requeue(analysisRequeue)
		return ""
	}
	phase := cur.Status.Phase
	if phase == "" {
		phase = v1alpha1.AnalysisPhasePending
	}
	*s.status = &v1alpha1.RolloutAnalysisRunStatus{Name: cur.Name, Status: phase, Message: cur.Status.Message}
	switch phase {
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		abortForAnalysis(p, o)
	case v1alpha1.AnalysisPhaseInconclusive:
		holdInconclusive(p, o, s, cur)
	case v1alpha1.AnalysisPhaseSuccessful:
	default:
		p.requeue(analysisRequeue)
	}
	return phase
}

// currentRun is the newest run of the slot that is not retired, and how many attempts the
// slot has had (the suffix the next one takes).
func currentRun(o Observed, s runSlot) (*v1alpha1.AnalysisRun, int) {
	base := s.baseName(o)
	var (
		cur      *v1alpha1.AnalysisRun
		curN     = -1
		attempts = 0
	)
	for _, run := range o.Analysis.Runs {
		n, ok := attemptOf(run.Name, base)
		if !ok {
			continue
		}
		attempts = max(attempts, n+1)
		if !run.Spec.Terminate && n > curN {
			cur, curN = run, n
		}
	}
	return cur, attempts
}

// attemptOf parses "<base>" (attempt 0) or "<base>.<n>".
func attemptOf(name, base string) (int, bool) {
	if name == base {
		return 0, true
	}
	rest, ok := strings.CutPrefix(name, base+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}

// abortForAnalysis aborts the update because a run failed.
func abortForAnalysis(p *Plan, _ Observed) {
	st := &p.Status
	if st.Abort {
		return
	}
	// syncAbort stamps abortedAt, resets the steps and records the event (in this reconcile
	// for background analysis, in the next for a step's).
	st.Abort = true
	p.requeue(time.Second)
}

// holdInconclusive pauses the rollout on an inconclusive run. A human resumes it by promoting
// (which clears the pause condition); the run is then retired and the slot measured again.
func holdInconclusive(p *Plan, o Observed, s runSlot, cur *v1alpha1.AnalysisRun) {
	st := &p.Status
	if pauseCondition(st, v1alpha1.PauseReasonInconclusiveAnalysis) != nil {
		return
	}
	if s.before != nil && s.before.Name == cur.Name && s.before.Status == v1alpha1.AnalysisPhaseInconclusive {
		// We paused for this run and the pause is gone: a human resumed. Measure again.
		p.Analysis.Terminate = append(p.Analysis.Terminate, cur.Name)
		st.ControllerPause = len(st.PauseConditions) > 0
		p.requeue(time.Second)
		return
	}
	st.PauseConditions = append(st.PauseConditions, v1alpha1.PauseCondition{Reason: v1alpha1.PauseReasonInconclusiveAnalysis, StartTime: metav1.NewTime(o.Now)})
	st.ControllerPause = true
	p.normal(ReasonPaused, fmt.Sprintf("Rollout is paused (%s)", v1alpha1.PauseReasonInconclusiveAnalysis))
}

// analysisAbortReason is the message of the run that made the rollout abort, if one did.
func analysisAbortReason(st *v1alpha1.RolloutStatus) string {
	for _, s := range []*v1alpha1.RolloutAnalysisRunStatus{
		st.Canary.CurrentStepAnalysisRunStatus, st.Canary.CurrentBackgroundAnalysisRunStatus,
		st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus,
	} {
		if s != nil && (s.Status == v1alpha1.AnalysisPhaseFailed || s.Status == v1alpha1.AnalysisPhaseError) && s.Message != "" {
			return s.Message
		}
	}
	return ""
}

// stepAnalysisDone runs the analysis of the current canary step; the step is done once its
// run is Successful.
func stepAnalysisDone(p *Plan, o Observed, index int32, step v1alpha1.CanaryStep) bool {
	st := &p.Status
	s := runSlot{kind: RolloutTypeStep, step: &index, analysis: step.Analysis,
		status: &st.Canary.CurrentStepAnalysisRunStatus, before: o.Rollout.Status.Canary.CurrentStepAnalysisRunStatus}
	return waitOnRun(p, o, s) == v1alpha1.AnalysisPhaseSuccessful
}

// planBackgroundAnalysis runs a canary's background analysis from its startingStep on; call
// it before syncAbort, so that a failed run aborts this very reconcile.
func planBackgroundAnalysis(p *Plan, o Observed) {
	st := &p.Status
	c := o.Rollout.Spec.Strategy.Canary
	if bg := c.Analysis; bg != nil && updating(st) && !st.Abort && !st.PromoteFull && !o.Rollout.Spec.Paused {
		start := int32(0)
		if bg.StartingStep != nil {
			start = *bg.StartingStep
		}
		if stepIndex(st) >= start {
			s := runSlot{kind: RolloutTypeBackground, analysis: &bg.RolloutAnalysis,
				status: &st.Canary.CurrentBackgroundAnalysisRunStatus, before: o.Rollout.Status.Canary.CurrentBackgroundAnalysisRunStatus}
			waitOnRun(p, o, s)
		}
	}
}

// finishCanaryAnalysis forgets the runs no step waits on and retires and prunes runs.
func finishCanaryAnalysis(p *Plan, o Observed) {
	st := &p.Status
	c := o.Rollout.Spec.Strategy.Canary
	keep := map[string]bool{}
	if !updating(st) {
		st.Canary.CurrentBackgroundAnalysisRunStatus = nil
		st.Canary.CurrentStepAnalysisRunStatus = nil
	}
	if i := stepIndex(st); int(i) >= len(c.Steps) || c.Steps[i].Analysis == nil {
		if !st.Abort {
			st.Canary.CurrentStepAnalysisRunStatus = nil
		}
	}
	for _, s := range []*v1alpha1.RolloutAnalysisRunStatus{st.Canary.CurrentStepAnalysisRunStatus, st.Canary.CurrentBackgroundAnalysisRunStatus} {
		if s != nil {
			keep[s.Name] = true
		}
	}
	retireAndPrune(p, o, keep)
}

// retireAndPrune terminates the runs no slot waits on any more (all of them when the update
// is aborted or finished), and deletes finished runs beyond the history limits.
func retireAndPrune(p *Plan, o Observed, waitedOn map[string]bool) {
	st := &p.Status
	for _, run := range o.Analysis.Runs {
		if run.Spec.Terminate || run.DeletionTimestamp != nil {
			continue
		}
		current := run.Labels[v1alpha1.PodTemplateHashLabel] == v1alpha1.HashOf(o.NewRS) &&
			run.Annotations[v1alpha1.RevisionAnnotation] == strconv.FormatInt(v1alpha1.RevisionOf(o.NewRS), 10)
		if st.Abort || !updating(st) || !current || (!waitedOn[run.Name] && !run.Status.Phase.Completed()) {
			p.Analysis.Terminate = appendOnce(p.Analysis.Terminate, run.Name)
		}
	}
	pruneRuns(p, o, waitedOn)
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// pruneRuns keeps the newest successfulRunHistoryLimit Successful and
// unsuccessfulRunHistoryLimit other finished runs that no slot waits on; older ones go.
func pruneRuns(p *Plan, o Observed, waitedOn map[string]bool) {
	okLimit, badLimit := int32(5), int32(5)
	if h := o.Rollout.Spec.Analysis; h != nil {
		if h.SuccessfulRunHistoryLimit != nil {
			okLimit = *h.SuccessfulRunHistoryLimit
		}
		if h.UnsuccessfulRunHistoryLimit != nil {
			badLimit = *h.UnsuccessfulRunHistoryLimit
		}
	}
	done := make([]*v1alpha1.AnalysisRun, 0, len(o.Analysis.Runs))
	for _, run := range o.Analysis.Runs {
		if run.Status.Phase.Completed() && !waitedOn[run.Name] && run.DeletionTimestamp == nil {
			done = append(done, run)
		}
	}
	// Newest first. Creation times have one-second resolution, so ties are broken by the
	// revision and then the name, the same way on every reconcile.
	sort.SliceStable(done, func(i, j int) bool {
		a, b := done[i], done[j]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return b.CreationTimestamp.Before(&a.CreationTimestamp)
		}
		ra, rb := v1alpha1.RevisionIn(a.Annotations), v1alpha1.RevisionIn(b.Annotations)
		if ra != rb {
			return ra > rb
		}
		return a.Name > b.Name
	})
	var ok, bad int32
	for _, run := range done {
		if run.Status.Phase == v1alpha1.AnalysisPhaseSuccessful {
			ok++
			if ok > okLimit {
				p.Analysis.Delete = append(p.Analysis.Delete, run.Name)
			}
			continue
		}
		bad++
		if bad > badLimit {
			p.Analysis.Delete = append(p.Analysis.Delete, run.Name)
		}
	}
}

// prePromotionPassed runs blue-green prePromotionAnalysis once the preview is up; promotion
// waits until it is Successful.
func prePromotionPassed(p *Plan, o Observed) bool {
	bg := o.Rollout.Spec.Strategy.BlueGreen
	st := &p.Status
	if bg.PrePromotionAnalysis == nil || st.PromoteFull || RollbackWithinWindow(o) {
		return true
	}
	s := runSlot{kind: RolloutTypePrePromotion, analysis: bg.PrePromotionAnalysis,
		status: &st.BlueGreen.PrePromotionAnalysisRunStatus, before: o.Rollout.Status.BlueGreen.PrePromotionAnalysisRunStatus}
	return waitOnRun(p, o, s) == v1alpha1.AnalysisPhaseSuccessful
}

// postPromotionPassed runs blue-green postPromotionAnalysis once the active Service selects
// the new version; the new version becomes stable (and the old one may go) only when it is
// Successful.
func postPromotionPassed(p *Plan, o Observed) bool {
	bg := o.Rollout.Spec.Strategy.BlueGreen
	st := &p.Status
	if bg.PostPromotionAnalysis == nil || st.PromoteFull || RollbackWithinWindow(o) {
		return true
	}
	s := runSlot{kind: RolloutTypePostPromotion, analysis: bg.PostPromotionAnalysis,
		status: &st.BlueGreen.PostPromotionAnalysisRunStatus, before: o.Rollout.Status.BlueGreen.PostPromotionAnalysisRunStatus}
	return waitOnRun(p, o, s) == v1alpha1.AnalysisPhaseSuccessful
}

// revertActive points the active Service back at the stable version after an abort that
// happened once it had switched (a failed post-promotion analysis), and returns the
// version the active Service now selects.
func revertActive(p *Plan, o Observed, active *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	st := &p.Status
	stable := o.StableRS
	if stable == nil || stable == o.NewRS || st.BlueGreen.ActiveSelector == v1alpha1.HashOf(stable) || !fullyAvailable(stable) {
		return active
	}
	p.Selectors[o.Rollout.Spec.Strategy.BlueGreen.ActiveService] = v1alpha1.HashOf(stable)
	st.BlueGreen.ActiveSelector = v1alpha1.HashOf(stable)
	return stable
}

// planBlueGreenAnalysis retires and prunes a blue-green rollout's runs.
func planBlueGreenAnalysis(p *Plan, o Observed) {
	st := &p.Status
	if !updating(st) {
		st.BlueGreen.PrePromotionAnalysisRunStatus = nil
		st.BlueGreen.PostPromotionAnalysisRunStatus = nil
	}
	keep := map[string]bool{}
	for _, s := range []*v1alpha1.RolloutAnalysisRunStatus{st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus} {
		if s != nil {
			keep[s.Name] = true
		}
	}
	retireAndPrune(p, o, keep)
}
