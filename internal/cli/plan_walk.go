package cli

import (
	"encoding/json"
	"fmt"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/rollout/sim"
)

// releasedVersion is the pod-template hash the walk releases, beside sim.FirstVersion.
const releasedVersion = "v2"

// walkStart is the simulated clock's start; nothing in the output depends on it.
var walkStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// waitBound is how many times a walk may wait (promote, let time pass, finish an analysis)
// before it calls the release stuck.
const waitBound = 500

// walk is one release of a Rollout through the simulated cluster: the first version is
// deployed and settles, then a second one is released, and whatever the controller waits for
// is granted as a healthy release would: analysis runs succeed, time passes, a human promotes.
type walk struct {
	w *sim.World
	// steps is what the release settles at during each canary step, by step index (the
	// index one past the last is "every step done").
	steps map[int32]*PlanStep
	// waited is the time spent waiting at each canary step, by index, and why.
	waited map[int32]timedWait
	phases []PlanPhase // blue-green
}

// timedWait is time that passed at one step before the controller moved on.
type timedWait struct {
	what string
	d    time.Duration
}

// walkRollout releases a new version of the Rollout and reports what the controller does.
func walkRollout(ro *v1alpha1.Rollout) (*walk, error) {
	k := &walk{w: sim.New(standInWorkload(ro), walkStart), steps: map[int32]*PlanStep{}, waited: map[int32]timedWait{}}
	k.w.StandInTemplates()
	// As the controller runs by default: a route change counts once the gateway accepted it.
	k.w.VerifyRoutes, k.w.GatewayAccepts = true, true
	if _, err := k.w.Settle(); err != nil {
		return nil, err
	}
	if st := k.w.Rollout.Status; st.StableRS != sim.FirstVersion {
		return nil, fmt.Errorf("the first version never became stable (%s: %s): fix what the message names", st.Phase, st.Message)
	}
	k.w.Deploy(releasedVersion)
	if k.canary() {
		k.w.AfterReconcile = func(plan.Plan) { k.recordStep() }
	}
	for range waitBound {
		p, err := k.w.Settle()
		if err != nil {
			return nil, err
		}
		if st := k.w.Rollout.Status; st.Phase == v1alpha1.RolloutPhaseDegraded {
			return nil, fmt.Errorf("the release stops, %s: fix what the message names", st.Message)
		}
		if k.released() {
			k.finish()
			return k, nil
		}
		if err := k.waitOnce(p); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("the release did not finish after %d waits: %s", waitBound, k.w.Rollout.Status.Message)
}

// standInWorkload gives a Rollout whose pods come from a workloadRef a template and selector
// of its own: the steps do not depend on what the pods run.
func standInWorkload(ro *v1alpha1.Rollout) *v1alpha1.Rollout {
	ro = ro.DeepCopy()
	if ro.Spec.Selector == nil {
		ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"aviary.plan/stand-in": ro.Name}}
	}
	if ro.Spec.Template == nil {
		ro.Spec.Template = &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: ro.Spec.Selector.MatchLabels}}
	}
	return ro
}

func (k *walk) canary() bool { return k.w.Rollout.Spec.Strategy.Canary != nil }

// released: the new version is stable and no other version has pods left.
func (k *walk) released() bool {
	if k.w.Rollout.Status.StableRS != releasedVersion {
		return false
	}
	return k.w.Replicas(sim.FirstVersion) == 0
}

// stepIndex is status.currentStepIndex, one past the last step once every step is done.
func (k *walk) stepIndex() int32 {
	return ptr.Deref(k.w.Rollout.Status.CurrentStepIndex, int32(len(k.w.Rollout.Spec.Strategy.Canary.Steps)))
}

// waitOnce grants what the settled release waits for, in the order the controller would get
// it: a measuring analysis run succeeds; a pause without end is promoted, as is a step
// Aviary does not run; otherwise the time the controller asked to be woken after passes.
func (k *walk) waitOnce(p plan.Plan) error {
	st := &k.w.Rollout.Status
	if run := waitedOnRun(st); run != nil {
		k.note(fmt.Sprintf("AnalysisRun %s must be Successful", run.Name), runPhase(st))
		k.w.GrantRuns()
		return nil
	}
	if k.w.GrantRuns() { // background analysis: it does not hold the steps
		return nil
	}
	if p.RequeueAfter > 0 {
		k.wait(p.RequeueAfter)
		k.w.Now = k.w.Now.Add(p.RequeueAfter)
		return nil
	}
	switch {
	case k.w.Rollout.Spec.Paused:
		k.note("paused by hand (spec.paused) until promoted", "paused")
		return k.promote()
	case len(st.PauseConditions) > 0:
		k.note("pause until promoted", "paused")
		return k.promote()
	case plan.StepNotRun(k.w.Rollout, st) != "":
		k.note("until promoted: Aviary does not run "+stepKind(k.w.Rollout.Spec.Strategy.Canary.Steps[k.stepIndex()])+" steps yet", "")
		return k.promote()
	}
	return fmt.Errorf("the release waits for nothing the plan can grant (%s: %s)", st.Phase, st.Message)
}

// stepKind names the kind of a step Aviary waits at for a human.
func stepKind(s v1alpha1.CanaryStep) string {
	if s.Experiment != nil {
		return "experiment"
	}
	return "plugin"
}

// promote applies what `kubectl aviary promote` writes to the Rollout.
func (k *walk) promote() error {
	p := promotePatches(k.w.Rollout, false)
	for _, patch := range [][]byte{p.status, p.spec} {
		if patch == nil {
			continue
		}
		if err := mergePatch(k.w.Rollout, patch); err != nil {
			return fmt.Errorf("promoting: %w", err)
		}
	}
	return nil
}

// waitedOnRun is the analysis run the release waits on and that has not succeeded yet.
func waitedOnRun(st *v1alpha1.RolloutStatus) *v1alpha1.RolloutAnalysisRunStatus {
	for _, s := range []*v1alpha1.RolloutAnalysisRunStatus{st.Canary.CurrentStepAnalysisRunStatus,
		st.BlueGreen.PrePromotionAnalysisRunStatus, st.BlueGreen.PostPromotionAnalysisRunStatus} {
		if s != nil && s.Status != v1alpha1.AnalysisPhaseSuccessful {
			return s
		}
	}
	return nil
}

// runPhase names the blue-green phase a waited-on run belongs to ("" for a canary step).
func runPhase(st *v1alpha1.RolloutStatus) string {
	switch {
	case waitedOn(st.BlueGreen.PrePromotionAnalysisRunStatus):
		return "pre-promotion analysis"
	case waitedOn(st.BlueGreen.PostPromotionAnalysisRunStatus):
		return "post-promotion analysis"
	}
	return ""
}

func waitedOn(s *v1alpha1.RolloutAnalysisRunStatus) bool {
	return s != nil && s.Status != v1alpha1.AnalysisPhaseSuccessful
}

// note records what the release waited for: on the current canary step, or as a blue-green
// phase.
func (k *walk) note(wait, phase string) {
	if k.canary() {
		s := k.stepAt(k.stepIndex())
		s.Wait = joinWaits(s.Wait, wait)
		return
	}
	k.recordPhase(phase, wait)
}

// wait records time that passes before the controller moves on: a timed pause, an
// auto-promotion, an old version kept for scaleDownDelaySeconds.
func (k *walk) wait(d time.Duration) {
	st := k.w.Rollout.Status
	what := "old ReplicaSet scaled to 0 after"
	if len(st.PauseConditions) > 0 {
		what = "pause"
		if !k.canary() {
			what = "auto-promotion after"
		}
	}
	if k.canary() {
		index := k.stepIndex()
		t := k.waited[index]
		k.waited[index] = timedWait{what: what, d: t.d + d}
		return
	}
	phase := "scale-down"
	if len(st.PauseConditions) > 0 {
		phase = "paused"
	}
	if n := len(k.phases); n > 0 && k.phases[n-1].Phase == phase && k.phases[n-1].waited > 0 {
		last := &k.phases[n-1]
		last.waited += d
		last.Wait = what + " " + last.waited.String()
		return
	}
	k.recordPhase(phase, what+" "+d.String())
	k.phases[len(k.phases)-1].waited = d
}

func joinWaits(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// mergePatch applies a JSON merge patch to the Rollout, as the API server does.
func mergePatch(ro *v1alpha1.Rollout, patch []byte) error {
	doc, err := json.Marshal(ro)
	if err != nil {
		return err
	}
	patched, err := jsonpatch.MergePatch(doc, patch)
	if err != nil {
		return err
	}
	out := &v1alpha1.Rollout{}
	if err := json.Unmarshal(patched, out); err != nil {
		return err
	}
	*ro = *out
	return nil
}
