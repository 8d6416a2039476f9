package plan_test

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

func weight(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: ptr.To(w)} }

func pause(d string) v1alpha1.CanaryStep {
	if d == "" {
		return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}}
	}
	v := intstr.FromString(d)
	return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: &v}}
}

// The canary walk of the controller issue: 20 / pause / 40 / pause 10s / 60 / 80.
func talkCanary() v1alpha1.RolloutStrategy {
	return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		StableService: "shop-stable", CanaryService: "shop-canary",
		Steps: []v1alpha1.CanaryStep{weight(20), pause(""), weight(40), pause("10s"), weight(60), weight(80)},
	}}
}

func TestFirstDeployGoesStraightToFullSize(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.expectReplicas("v1", 5)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	if w.Rollout.Status.StableRS != "v1" || w.Selector("shop-stable") != "v1" || w.Selector("shop-canary") != "v1" {
		t.Fatalf("stableRS %q, services %q/%q: want all v1", w.Rollout.Status.StableRS, w.Selector("shop-stable"), w.Selector("shop-canary"))
	}
	w.expectStep(6)
}

func TestCanaryWalksEveryStepToCompletion(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.Deploy("v2")

	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")
	w.expectStep(1)
	w.expectReplicas("v2", 1)
	w.expectReplicas("v1", 4)
	if w.Selector("shop-canary") != "v2" || w.Selector("shop-stable") != "v1" {
		t.Fatalf("services canary=%q stable=%q, want v2 and v1", w.Selector("shop-canary"), w.Selector("shop-stable"))
	}

	w.promote()
	w.settle()
	w.expectStep(3)
	w.expectReplicas("v2", 2)
	w.expectReplicas("v1", 3)
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")

	w.Now = w.Now.Add(9 * time.Second)
	w.settle()
	w.expectStep(3)
	w.Now = w.Now.Add(time.Second)
	w.settle()
	w.expectStep(6)
	w.expectReplicas("v2", 5)
	w.expectReplicas("v1", 0)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	if w.Rollout.Status.StableRS != "v2" || w.Selector("shop-stable") != "v2" {
		t.Fatalf("after completion stableRS=%q stable service=%q, want v2", w.Rollout.Status.StableRS, w.Selector("shop-stable"))
	}
	for _, reason := range []string{plan.ReasonRolloutUpdated, plan.ReasonPaused, plan.ReasonResumed, plan.ReasonStepCompleted, plan.ReasonCompleted} {
		if !w.HasEvent(reason) {
			t.Errorf("no %s event", reason)
		}
	}
}

func TestTimedPauseAsksToBeWokenUp(t *testing.T) {
	w := newWorld(t, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Steps: []v1alpha1.CanaryStep{weight(50), pause("30s")},
	}}, 2)
	w.settle()
	w.Deploy("v2")
	p := w.settle()
	if p.RequeueAfter <= 0 || p.RequeueAfter > 30*time.Second {
		t.Fatalf("a 30s pause must ask to be reconciled within 30s, got %v", p.RequeueAfter)
	}
}

func TestAbortReturnsToStableAndRetryStartsOver(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.promote()
	w.settle()
	w.expectStep(3)

	w.Rollout.Status.Abort = true
	w.settle()
	w.expect(v1alpha1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2")
	w.expectReplicas("v2", 0)
	w.expectReplicas("v1", 5)
	w.expectStep(0)
	if w.Selector("shop-canary") != "v1" || w.Rollout.Status.AbortedAt == nil {
		t.Fatalf("after abort canary service=%q abortedAt=%v, want v1 and a time", w.Selector("shop-canary"), w.Rollout.Status.AbortedAt)
	}

	w.Rollout.Status.Abort = false // retry
	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")
	w.expectStep(1)
	w.expectReplicas("v2", 1)
	if w.Rollout.Status.AbortedAt != nil || !w.HasEvent(plan.ReasonRetried) {
		t.Fatal("retry must clear abortedAt and record RolloutRetried")
	}
}

func TestPromoteFullSkipsTheRemainingSteps(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.Rollout.Status.PromoteFull = true
	w.settle()
	w.expectReplicas("v2", 5)
	w.expectReplicas("v1", 0)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	if w.Rollout.Status.PromoteFull {
		t.Fatal("promoteFull must be cleared once the promotion is done")
	}
}

func TestManualPauseHoldsTheSteps(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.Rollout.Spec.Paused = true
	w.Deploy("v2")
	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "manually paused")
	w.expectStep(0)
	w.Rollout.Spec.Paused = false
	w.settle()
	w.expectStep(1)
}

func TestNewRevisionMidCanaryRestartsTheSteps(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.promote()
	w.settle()
	w.Deploy("v3")
	w.settle()
	w.expectStep(1)
	w.expectReplicas("v2", 0)
	w.expectReplicas("v3", 1)
	w.expectReplicas("v1", 4)
}

func TestUndoToStableSkipsTheSteps(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.Deploy("v1") // undo: the template is the stable one again
	w.settle()
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	w.expectReplicas("v1", 5)
	w.expectReplicas("v2", 0)
}

func TestProgressDeadlineExceededDegradesAndMayAbort(t *testing.T) {
	for _, abort := range []bool{false, true} {
		w := newWorld(t, talkCanary(), 5)
		w.Rollout.Spec.ProgressDeadlineSeconds = ptr.To[int32](60)
		w.Rollout.Spec.ProgressDeadlineAbort = abort
		w.settle()
		w.Unready["v2"] = true
		w.Deploy("v2")
		w.settle()
		w.expect(v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated")
		w.Now = w.Now.Add(61 * time.Second)
		w.settle()
		if abort {
			w.expect(v1alpha1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2")
			w.expectReplicas("v2", 0)
		} else {
			w.expect(v1alpha1.RolloutPhaseDegraded, `ProgressDeadlineExceeded: ReplicaSet "shop-v2" has timed out progressing.`)
		}
		if !w.HasEvent(plan.ReasonProgressDeadline) {
			t.Error("no ProgressDeadlineExceeded event")
		}
	}
}

func TestIdleRolloutKeepsItsStatus(t *testing.T) {
	w := newWorld(t, talkCanary(), 3)
	w.settle()
	before := w.Snapshot()
	w.Now = w.Now.Add(time.Hour)
	p := w.Reconcile()
	if w.Snapshot() != before || len(p.Events) != 0 {
		t.Fatalf("an idle rollout changed: %s\nevents %v", w.Snapshot(), p.Events)
	}
}

func TestInvalidSpecNamesTheProblemOnce(t *testing.T) {
	w := newWorld(t, talkCanary(), 3)
	delete(w.Services, "shop-canary")
	w.settle()
	w.expect(v1alpha1.RolloutPhaseDegraded, `InvalidSpec: spec.strategy.canary.canaryService: Service "shop-canary" not found in namespace "default"; create it or fix the name`)
	w.Reconcile()
	warnings := 0
	for _, e := range w.Events {
		if e.Reason == plan.ReasonInvalidSpec {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("%d InvalidSpec events, want exactly one per distinct problem", warnings)
	}
	w.expectReplicas("v1", 0)
}
