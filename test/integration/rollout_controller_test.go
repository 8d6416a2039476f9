package integration

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

func setWeight(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: ptr.To(w)} }

func pauseFor(d string) v1alpha1.CanaryStep {
	if d == "" {
		return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}}
	}
	v := intstr.FromString(d)
	return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: &v}}
}

func walkCanary() v1alpha1.RolloutStrategy {
	return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		StableService: "shop-stable", CanaryService: "shop-canary",
		Steps: []v1alpha1.CanaryStep{setWeight(20), pauseFor(""), setWeight(40), pauseFor("10s"), setWeight(60), setWeight(80)},
	}}
}

// TestCanaryWalkedToCompletion walks the canary 20 / pause / 40 / pause 10s / 60 / 80 with a
// real API server, ReplicaSet controller and pods, checking sizes, Services and status at
// every step.
func TestCanaryWalkedToCompletion(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-stable")
	s.service("shop-canary")
	s.create(shopRollout(5, walkCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 5}})
	if s.selector("shop-stable") != "blue" || s.selector("shop-canary") != "blue" {
		t.Fatalf("services stable=%s canary=%s, want both blue", s.selector("shop-stable"), s.selector("shop-canary"))
	}

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 4, "green": 1}})
	if s.selector("shop-stable") != "blue" || s.selector("shop-canary") != "green" {
		t.Fatalf("services stable=%s canary=%s, want blue and green", s.selector("shop-stable"), s.selector("shop-canary"))
	}
	ro := s.rollout()
	if !ro.Status.ControllerPause || len(ro.Status.PauseConditions) != 1 || ro.Status.StableRS == ro.Status.CurrentPodHash {
		t.Fatalf("paused canary status: controllerPause=%v pauseConditions=%v stableRS=%s currentPodHash=%s",
			ro.Status.ControllerPause, ro.Status.PauseConditions, ro.Status.StableRS, ro.Status.CurrentPodHash)
	}

	s.promote()
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 3, sizes: map[string]int32{"blue": 3, "green": 2}})
	// The 10s pause ends by itself, then 60% and 80% pass without a human.
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"green": 5}})
	ro = s.rollout()
	if ro.Status.StableRS != ro.Status.CurrentPodHash || s.selector("shop-stable") != "green" || s.selector("shop-canary") != "green" {
		t.Fatalf("completed: stableRS=%s current=%s services stable=%s canary=%s", ro.Status.StableRS,
			ro.Status.CurrentPodHash, s.selector("shop-stable"), s.selector("shop-canary"))
	}
	for _, reason := range []string{plan.ReasonRolloutUpdated, plan.ReasonStepCompleted, plan.ReasonPaused,
		plan.ReasonResumed, plan.ReasonCompleted, plan.ReasonScalingReplicaSet, plan.ReasonSwitchService} {
		if s.events.count(reason) == 0 {
			t.Errorf("no %s event", reason)
		}
	}
}

// TestAbortRetryAndControllerRestart aborts a canary (everything back to stable, Degraded),
// retries it, then kills the controller mid-rollout: the new one resumes at the same step and
// scales nothing backwards.
func TestAbortRetryAndControllerRestart(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-stable")
	s.service("shop-canary")
	s.create(shopRollout(5, walkCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6})
	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1})

	s.update(func(ro *v1alpha1.Rollout) { ro.Status.Abort = true }, true)
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, message: "RolloutAborted: Rollout aborted update to revision 2",
		step: 0, sizes: map[string]int32{"blue": 5}})
	if s.selector("shop-canary") != "blue" {
		t.Fatalf("after abort the canary Service selects %s, want blue", s.selector("shop-canary"))
	}

	s.update(func(ro *v1alpha1.Rollout) { ro.Status.Abort = false }, true)
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 4, "green": 1}})

	s.stopController()
	s.startController()
	// Give the new controller time to act on the same state; it must change nothing.
	time.Sleep(2 * time.Second)
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 4, "green": 1}})

	s.promote()
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 3, sizes: map[string]int32{"blue": 3, "green": 2}})
	s.update(func(ro *v1alpha1.Rollout) { ro.Status.PromoteFull = true }, true)
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"green": 5}})
}

// TestPauseResumeAndUndo: spec.paused holds a rollout; undo to the stable template skips the
// steps.
func TestPauseResumeAndUndo(t *testing.T) {
	s := newScene(t, nil)
	s.create(shopRollout(3, walkCanary()))
	s.service("shop-stable")
	s.service("shop-canary")
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 3}})

	s.update(func(ro *v1alpha1.Rollout) { ro.Spec.Paused = true }, false)
	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "manually paused", step: 0})
	s.update(func(ro *v1alpha1.Rollout) { ro.Spec.Paused = false }, false)
	// 3 replicas at 20% with one surge pod: 1 canary beside 3 stable (25%) is closer to the
	// weight than 1 beside 2 (33%), as in Argo Rollouts.
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 3, "green": 1}})

	s.setImage("argoproj/rollouts-demo:blue") // undo
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 3}})
}

// TestBlueGreenManualPromotionAndScaleDownDelay: the new version waits behind the preview
// Service until promoted; the old one runs on for scaleDownDelaySeconds.
func TestBlueGreenManualPromotionAndScaleDownDelay(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-active")
	s.service("shop-preview")
	s.create(shopRollout(2, v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
		ActiveService: "shop-active", PreviewService: "shop-preview",
		AutoPromotionEnabled: ptr.To(false), ScaleDownDelaySeconds: ptr.To[int32](3),
	}}))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"blue": 2}})

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "BlueGreenPause", step: -1, sizes: map[string]int32{"blue": 2, "green": 2}})
	if s.selector("shop-active") != "blue" || s.selector("shop-preview") != "green" {
		t.Fatalf("in preview: active=%s preview=%s", s.selector("shop-active"), s.selector("shop-preview"))
	}
	s.promote()
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"blue": 2, "green": 2}})
	if s.selector("shop-active") != "green" {
		t.Fatalf("after promote the active Service selects %s", s.selector("shop-active"))
	}
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"green": 2}})
}

// TestBlueGreenAutomaticPromotion: with autoPromotionEnabled (the default) no human is needed.
func TestBlueGreenAutomaticPromotion(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-active")
	s.create(shopRollout(2, v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
		ActiveService: "shop-active", ScaleDownDelaySeconds: ptr.To[int32](1),
	}}))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"blue": 2}})
	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"green": 2}})
	if s.selector("shop-active") != "green" {
		t.Fatalf("the active Service selects %s, want green", s.selector("shop-active"))
	}
}

// TestInvalidSpecReportsAndRecovers: a missing Service is reported as InvalidSpec with a
// Warning Event, the controller keeps running, and creating the Service fixes the rollout.
func TestInvalidSpecReportsAndRecovers(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-stable")
	s.create(shopRollout(2, walkCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: -1,
		message: `InvalidSpec: spec.strategy.canary.canaryService: Service "shop-canary" not found in namespace "` + s.ns + `"; create it or fix the name`})
	if s.events.count(plan.ReasonInvalidSpec) != 1 {
		t.Fatalf("%d InvalidSpec events, want 1", s.events.count(plan.ReasonInvalidSpec))
	}
	ro := s.rollout()
	var invalid *v1alpha1.RolloutCondition
	for i := range ro.Status.Conditions {
		if ro.Status.Conditions[i].Type == v1alpha1.InvalidSpec {
			invalid = &ro.Status.Conditions[i]
		}
	}
	if invalid == nil || invalid.Status != corev1.ConditionTrue {
		t.Fatalf("no InvalidSpec=True condition: %+v", ro.Status.Conditions)
	}

	s.service("shop-canary")
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 2}})
}

// TestUnreadyCanaryHitsTheProgressDeadline: a canary whose pods never become ready does not
// advance, keeps the stable version serving, and is reported as ProgressDeadlineExceeded;
// with progressDeadlineAbort it is aborted back to stable.
func TestUnreadyCanaryHitsTheProgressDeadline(t *testing.T) {
	s := newScene(t, func(pod *corev1.Pod) bool {
		return pod.Spec.Containers[0].Image != "argoproj/rollouts-demo:bad-green"
	})
	s.service("shop-stable")
	s.service("shop-canary")
	ro := shopRollout(3, walkCanary())
	ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](5)
	s.create(ro)
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 3}})

	s.setImage("argoproj/rollouts-demo:bad-green")
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: 0,
		message: `ProgressDeadlineExceeded: ReplicaSet "` + s.newRSName() + `" has timed out progressing.`})
	if s.selector("shop-canary") != "blue" || s.selector("shop-stable") != "blue" {
		t.Fatalf("services moved to unready pods: canary=%s stable=%s", s.selector("shop-canary"), s.selector("shop-stable"))
	}

	s.update(func(ro *v1alpha1.Rollout) { ro.Spec.ProgressDeadlineAbort = true }, false)
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: 0,
		message: "RolloutAborted: Rollout aborted update to revision 2", sizes: map[string]int32{"blue": 3}})
}
