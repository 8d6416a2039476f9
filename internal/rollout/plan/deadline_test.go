package plan_test

import (
	"strings"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// Argo Rollouts does not count the time a rollout waits on an analysis (or experiment, or
// plugin) step against progressDeadlineSeconds; only time waiting for pods counts.

func deadlineWorld(t *testing.T, strategy v1alpha1.RolloutStrategy) *world {
	w := newWorld(t, strategy, 3)
	w.Rollout.Spec.ProgressDeadlineSeconds = ptr.To[int32](15)
	w.Rollout.Spec.ProgressDeadlineAbort = true
	w.Templates = map[string]*v1alpha1.AnalysisTemplateSpec{"namespaced/check": {Metrics: []v1alpha1.Metric{{Name: "check"}}}}
	w.settle()
	w.Deploy("v2")
	return w
}

func checkAnalysis() *v1alpha1.RolloutAnalysis {
	return &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "check"}}}
}

func TestLongAnalysisStepIsNotAProgressDeadline(t *testing.T) {
	w := deadlineWorld(t, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Steps: []v1alpha1.CanaryStep{weight(20), {Analysis: checkAnalysis()}, weight(60)},
	}})
	w.settle()
	w.expectStep(1)
	w.SetRunPhase(v1alpha1.AnalysisPhaseRunning)
	for range 10 { // 50 s of analysis against a 15 s deadline
		w.Now = w.Now.Add(5 * time.Second)
		w.settle()
	}
	if w.Rollout.Status.Abort || w.HasEvent(plan.ReasonProgressDeadline) {
		t.Fatalf("a running analysis step counted against the deadline: %s", w.Snapshot())
	}
	w.expect(v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated")
	w.SetRunPhase(v1alpha1.AnalysisPhaseSuccessful)
	w.settle()
	w.expectStep(3)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	expectHealthyThroughScaleDownDelay(w)
}

func TestDeadlineCountsAgainOnceTheAnalysisStepEnds(t *testing.T) {
	w := deadlineWorld(t, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Steps: []v1alpha1.CanaryStep{weight(20), {Analysis: checkAnalysis()}, weight(60)},
	}})
	w.settle()
	w.SetRunPhase(v1alpha1.AnalysisPhaseRunning)
	w.Now = w.Now.Add(50 * time.Second)
	w.settle()
	w.Unready["v2"] = true // the next step's pods never come up
	w.SetRunPhase(v1alpha1.AnalysisPhaseSuccessful)
	w.settle()
	w.expectStep(2)
	w.Now = w.Now.Add(16 * time.Second)
	w.settle()
	if !w.HasEvent(plan.ReasonProgressDeadline) || !w.Rollout.Status.Abort {
		t.Fatalf("pods stuck for 16 s after the analysis did not exceed the 15 s deadline: %s", w.Snapshot())
	}
}

func TestBlueGreenPrePromotionAnalysisIsNotAProgressDeadline(t *testing.T) {
	w := deadlineWorld(t, v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
		ActiveService: "shop-active", PrePromotionAnalysis: checkAnalysis(),
	}})
	w.settle()
	w.SetRunPhase(v1alpha1.AnalysisPhaseRunning)
	w.Now = w.Now.Add(50 * time.Second)
	w.settle()
	if w.Rollout.Status.Abort || w.HasEvent(plan.ReasonProgressDeadline) {
		t.Fatalf("a running pre-promotion analysis counted against the deadline: %s", w.Snapshot())
	}
	w.SetRunPhase(v1alpha1.AnalysisPhaseSuccessful)
	w.settle()
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	expectHealthyThroughScaleDownDelay(w)
}

// expectHealthyThroughScaleDownDelay: the old version stays up for scaleDownDelaySeconds (30 s)
// after the update completed, which is no lack of progress either.
func expectHealthyThroughScaleDownDelay(w *world) {
	w.t.Helper()
	w.Now = w.Now.Add(20 * time.Second)
	w.settle()
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	w.Now = w.Now.Add(11 * time.Second)
	w.settle()
	w.expectReplicas("v1", 0)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
}

func TestExperimentAndPluginStepsSayTheyWaitForAPromote(t *testing.T) {
	for _, step := range []v1alpha1.CanaryStep{
		{Experiment: &v1alpha1.RolloutExperimentStep{}},
		{Plugin: &v1alpha1.PluginStep{Name: "acme/step"}},
	} {
		w := deadlineWorld(t, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			Steps: []v1alpha1.CanaryStep{weight(20), step, weight(60)},
		}})
		w.settle()
		w.Now = w.Now.Add(time.Minute)
		w.settle()
		w.expectStep(1)
		if w.Rollout.Status.Phase != v1alpha1.RolloutPhaseProgressing || !strings.Contains(w.Rollout.Status.Message, "which Aviary does not run yet") ||
			!strings.Contains(w.Rollout.Status.Message, "kubectl aviary promote shop") {
			t.Fatalf("phase %q message %q: want Progressing and a message naming the step and the remedy", w.Rollout.Status.Phase, w.Rollout.Status.Message)
		}
		if c := condition(w.Rollout.Status, v1alpha1.RolloutProgressing); c == nil || c.Reason != plan.ReasonStepNotRun {
			t.Fatalf("Progressing condition %+v, want reason %s", c, plan.ReasonStepNotRun)
		}
		if w.Rollout.Status.Abort || w.HasEvent(plan.ReasonProgressDeadline) {
			t.Fatal("waiting at an unsupported step counted against the progress deadline")
		}
		warnings := 0
		for _, e := range w.Events {
			if e.Reason == plan.ReasonStepNotRun {
				warnings++
			}
		}
		if warnings != 1 {
			t.Fatalf("%d %s events, want exactly one", warnings, plan.ReasonStepNotRun)
		}
		w.Rollout.Status.CurrentStepIndex = ptr.To[int32](2) // promote
		w.settle()
		w.expect(v1alpha1.RolloutPhaseHealthy, "")
	}
}
