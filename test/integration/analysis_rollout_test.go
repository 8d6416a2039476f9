package integration

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// analysisScene is a scene with both controllers, a metric endpoint and a template on it.
func analysisScene(t *testing.T, rate string, tune func(*v1alpha1.Metric)) (*scene, *metricEndpoint) {
	t.Helper()
	s := newScene(t, nil)
	s.startAnalysisController()
	m := newMetricEndpoint(t, rate)
	s.create(successRateTemplate("success-rate", m.srv.URL, tune))
	return s, m
}

// TestAnalysisStepSuccessfulContinues: a Successful step run lets the canary go on to
// completion with no human; the run is named and labelled like Argo's, and a controller
// restart while it runs does not create a second one.
func TestAnalysisStepSuccessfulContinues(t *testing.T) {
	s, m := analysisScene(t, "0.99", func(m *v1alpha1.Metric) {
		m.Interval, m.Count = "1s", ptr.To(intOrStr(3))
	})
	s.create(shopRollout(2, canaryWithSteps(setWeight(50), analysisStep("success-rate"))))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"blue": 2}})

	s.setImage("argoproj/rollouts-demo:green")
	hash := ""
	for deadline := time.Now().Add(60 * time.Second); s.rollout().Status.Canary.CurrentStepAnalysisRunStatus == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("the analysis step never started: %s", s.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
	hash = s.newHash()
	// Restart the rollout controller while the run measures (3 measurements, 1s apart).
	s.stopController()
	s.startController()
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"green": 2}})

	name := fmt.Sprintf("shop-%s-2-1", hash)
	s.awaitRuns(name + "=Successful")
	run := s.runs()[0]
	wantLabels := map[string]string{"rollouts-pod-template-hash": hash, "rollout-type": "Step", "step-index": "1"}
	for k, v := range wantLabels {
		if run.Labels[k] != v {
			t.Errorf("run label %s=%q, want %q (labels %v)", k, run.Labels[k], v, run.Labels)
		}
	}
	if run.Annotations[v1alpha1.RevisionAnnotation] != "2" || len(run.OwnerReferences) != 1 || run.OwnerReferences[0].Kind != "Rollout" {
		t.Errorf("run annotations %v owners %v", run.Annotations, run.OwnerReferences)
	}
	res := run.Status.MetricResults
	if len(res) != 1 || res[0].Count != 3 || res[0].Successful != 3 || len(res[0].Measurements) != 3 || res[0].Measurements[0].Value != "0.99" {
		t.Errorf("metric results %+v", res)
	}
	if run.Status.RunSummary != (v1alpha1.RunSummary{Count: 1, Successful: 1}) {
		t.Errorf("runSummary %+v", run.Status.RunSummary)
	}
	if m.hits.Load() != 3 {
		t.Errorf("the endpoint was measured %d times, want 3", m.hits.Load())
	}
}

// TestAnalysisStepFailedAbortsAndRetryRunsAgain: a Failed step run aborts the update (stable
// back at full size, Degraded with Argo's message naming the metric); a retry measures again
// in a new run and a good result then completes the update.
func TestAnalysisStepFailedAbortsAndRetryRunsAgain(t *testing.T) {
	s, m := analysisScene(t, "0.10", nil)
	s.service("shop-stable")
	s.service("shop-canary")
	strategy := canaryWithSteps(setWeight(50), analysisStep("success-rate"), indefinitePause())
	strategy.Canary.StableService, strategy.Canary.CanaryService = "shop-stable", "shop-canary"
	s.create(shopRollout(2, strategy))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 3, sizes: map[string]int32{"blue": 2}})

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: 0, sizes: map[string]int32{"blue": 2},
		message: `RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)`})
	hash := s.newHash()
	first := fmt.Sprintf("shop-%s-2-1", hash)
	s.awaitRuns(first + "=Failed")
	if s.selector("shop-stable") != "blue" || s.selector("shop-canary") != "blue" {
		t.Fatalf("after the abort services stable=%s canary=%s, want both blue", s.selector("shop-stable"), s.selector("shop-canary"))
	}
	st := s.rollout().Status.Canary.CurrentStepAnalysisRunStatus
	if st == nil || st.Name != first || st.Status != v1alpha1.AnalysisPhaseFailed {
		t.Fatalf("currentStepAnalysisRunStatus %+v", st)
	}

	m.set("0.99")
	s.update(func(ro *v1alpha1.Rollout) { ro.Status.Abort = false }, true) // kubectl argo rollouts retry
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 2, sizes: map[string]int32{"blue": 1, "green": 1}})
	s.awaitRuns(first + "=Failed " + first + ".1=Successful")
	if !s.runs()[0].Spec.Terminate {
		t.Errorf("the failed run was not retired (spec.terminate)")
	}
	if s.events.count(plan.ReasonAborted) == 0 {
		t.Errorf("no %s event", plan.ReasonAborted)
	}
}

// TestAnalysisStepInconclusivePauses: an Inconclusive run pauses the rollout; promoting it
// measures again, and a good result continues.
func TestAnalysisStepInconclusivePauses(t *testing.T) {
	s, m := analysisScene(t, "0.70", nil)
	s.create(shopRollout(2, canaryWithSteps(setWeight(50), analysisStep("success-rate"))))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"blue": 2}})

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "InconclusiveAnalysisRun", step: 1, sizes: map[string]int32{"blue": 1, "green": 1}})
	first := fmt.Sprintf("shop-%s-2-1", s.newHash())
	s.awaitRuns(first + "=Inconclusive")

	m.set("0.99")
	s.promote()
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"green": 2}})
	s.awaitRuns(first + "=Inconclusive " + first + ".1=Successful")
}

// TestBackgroundAnalysisFailingAborts: background analysis from step 1 measures every second;
// when the endpoint turns bad mid-rollout the update is aborted.
func TestBackgroundAnalysisFailingAborts(t *testing.T) {
	s, m := analysisScene(t, "0.99", func(m *v1alpha1.Metric) { m.Interval = "1s" })
	strategy := canaryWithSteps(setWeight(50), indefinitePause())
	strategy.Canary.Analysis = &v1alpha1.RolloutAnalysisBackground{
		RolloutAnalysis: v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "success-rate"}}},
		StartingStep:    ptr.To[int32](1),
	}
	s.create(shopRollout(2, strategy))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"blue": 2}})

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 1, "green": 1}})
	bg := fmt.Sprintf("shop-%s-2", s.newHash())
	s.awaitRuns(bg + "=Running")
	for deadline := time.Now().Add(30 * time.Second); m.hits.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("background analysis measured %d times", m.hits.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1})
	m.set("0.20")
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: 0, sizes: map[string]int32{"blue": 2},
		message: `RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)`})
	s.awaitRuns(bg + "=Failed")
	run := s.runs()[0]
	if run.Labels["rollout-type"] != "Background" || run.Status.MetricResults[0].Successful < 2 {
		t.Errorf("background run labels %v results %+v", run.Labels, run.Status.MetricResults)
	}
}

// TestBlueGreenPrePromotionFailureKeepsActive: a failed prePromotionAnalysis aborts the
// update and the active Service never leaves the old version.
func TestBlueGreenPrePromotionFailureKeepsActive(t *testing.T) {
	s, _ := analysisScene(t, "0.10", nil)
	s.service("shop-active")
	s.service("shop-preview")
	s.create(shopRollout(2, v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
		ActiveService: "shop-active", PreviewService: "shop-preview",
		PrePromotionAnalysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "success-rate"}}},
	}}))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"blue": 2}})

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: -1,
		message: `RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)`})
	pre := fmt.Sprintf("shop-%s-2-pre", s.newHash())
	s.awaitRuns(pre + "=Failed")
	if got := s.selector("shop-active"); got != "blue" {
		t.Fatalf("active Service selects %s after a failed pre-promotion analysis, want blue", got)
	}
	if run := s.runs()[0]; run.Labels["rollout-type"] != "PrePromotion" {
		t.Errorf("pre-promotion run labels %v", run.Labels)
	}
}

// TestAnalysisRunHistoryLimits: finished runs beyond successfulRunHistoryLimit are deleted.
func TestAnalysisRunHistoryLimits(t *testing.T) {
	s, _ := analysisScene(t, "0.99", nil)
	ro := shopRollout(1, canaryWithSteps(analysisStep("success-rate")))
	ro.Spec.Analysis = &v1alpha1.AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](1), UnsuccessfulRunHistoryLimit: ptr.To[int32](1)}
	s.create(ro)
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 1, sizes: map[string]int32{"blue": 1}})
	var last string
	for i, color := range []string{"green", "yellow", "red"} {
		s.setImage("argoproj/rollouts-demo:" + color)
		s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 1, sizes: map[string]int32{color: 1}})
		last = fmt.Sprintf("shop-%s-%d-0", s.newHash(), i+2)
	}
	s.awaitRuns(last + "=Successful")
}

// TestMissingTemplateIsInvalidSpec: a Rollout naming a template that does not exist is
// Degraded with a message naming it, and recovers when the template appears.
func TestMissingTemplateIsInvalidSpec(t *testing.T) {
	s := newScene(t, nil)
	s.startAnalysisController()
	m := newMetricEndpoint(t, "0.99")
	s.create(shopRollout(1, canaryWithSteps(analysisStep("nope"))))
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: -1,
		message: `InvalidSpec: AnalysisTemplate "nope" not found in namespace "` + s.ns + `"; create it, fix the templateName, or set clusterScope: true for a ClusterAnalysisTemplate`})
	s.create(successRateTemplate("nope", m.srv.URL, nil))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 1, sizes: map[string]int32{"blue": 1}})
}

// TestBlueGreenPostPromotionFailureSwitchesBack: the active Service switches to the new
// version, postPromotionAnalysis fails, and the active Service goes back to the old version,
// which was kept running; after a retry with a good metric the new version is promoted.
func TestBlueGreenPostPromotionFailureSwitchesBack(t *testing.T) {
	s, m := analysisScene(t, "0.10", func(m *v1alpha1.Metric) { m.InitialDelay = "1s" })
	s.service("shop-active")
	s.create(shopRollout(2, v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
		ActiveService:         "shop-active",
		PostPromotionAnalysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "success-rate"}}},
	}}))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"blue": 2}})

	s.setImage("argoproj/rollouts-demo:green")
	post := ""
	for deadline := time.Now().Add(60 * time.Second); s.selector("shop-active") != "green"; {
		if time.Now().After(deadline) {
			t.Fatalf("the active Service never switched to green: %s", s.describe())
		}
		time.Sleep(50 * time.Millisecond)
	}
	post = fmt.Sprintf("shop-%s-2-post", s.newHash())
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: -1,
		message: `RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)`})
	s.awaitRuns(post + "=Failed")
	if got := s.selector("shop-active"); got != "blue" {
		t.Fatalf("active Service selects %s after a failed post-promotion analysis, want blue", got)
	}
	if ro := s.rollout(); ro.Status.StableRS == ro.Status.CurrentPodHash {
		t.Fatalf("the failed version became stable")
	}

	m.set("0.99")
	s.update(func(ro *v1alpha1.Rollout) { ro.Status.Abort = false }, true)
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1})
	s.awaitRuns(post + "=Failed " + post + ".1=Successful")
	if got := s.selector("shop-active"); got != "green" {
		t.Fatalf("active Service selects %s after promotion, want green", got)
	}
}
