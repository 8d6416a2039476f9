package plan

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
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
	if w.ro.Status.StableRS != "v1" || w.selector("shop-stable") != "v1" || w.selector("shop-canary") != "v1" {
		t.Fatalf("stableRS %q, services %q/%q: want all v1", w.ro.Status.StableRS, w.selector("shop-stable"), w.selector("shop-canary"))
	}
	w.expectStep(6)
}

func TestCanaryWalksEveryStepToCompletion(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.deploy("v2")

	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")
	w.expectStep(1)
	w.expectReplicas("v2", 1)
	w.expectReplicas("v1", 4)
	if w.selector("shop-canary") != "v2" || w.selector("shop-stable") != "v1" {
		t.Fatalf("services canary=%q stable=%q, want v2 and v1", w.selector("shop-canary"), w.selector("shop-stable"))
	}

	w.promote()
	w.settle()
	w.expectStep(3)
	w.expectReplicas("v2", 2)
	w.expectReplicas("v1", 3)
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")

	w.now = w.now.Add(9 * time.Second)
	w.settle()
	w.expectStep(3)
	w.now = w.now.Add(time.Second)
	w.settle()
	w.expectStep(6)
	w.expectReplicas("v2", 5)
	w.expectReplicas("v1", 0)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	if w.ro.Status.StableRS != "v2" || w.selector("shop-stable") != "v2" {
		t.Fatalf("after completion stableRS=%q stable service=%q, want v2", w.ro.Status.StableRS, w.selector("shop-stable"))
	}
	for _, reason := range []string{ReasonRolloutUpdated, ReasonPaused, ReasonResumed, ReasonStepCompleted, ReasonCompleted} {
		if !w.hasEvent(reason) {
			t.Errorf("no %s event", reason)
		}
	}
}

func TestTimedPauseAsksToBeWokenUp(t *testing.T) {
	w := newWorld(t, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Steps: []v1alpha1.CanaryStep{weight(50), pause("30s")},
	}}, 2)
	w.settle()
	w.deploy("v2")
	p := w.settle()
	if p.RequeueAfter <= 0 || p.RequeueAfter > 30*time.Second {
		t.Fatalf("a 30s pause must ask to be reconciled within 30s, got %v", p.RequeueAfter)
	}
}

func TestAbortReturnsToStableAndRetryStartsOver(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.deploy("v2")
	w.settle()
	w.promote()
	w.settle()
	w.expectStep(3)

	w.ro.Status.Abort = true
	w.settle()
	w.expect(v1alpha1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2")
	w.expectReplicas("v2", 0)
	w.expectReplicas("v1", 5)
	w.expectStep(0)
	if w.selector("shop-canary") != "v1" || w.ro.Status.AbortedAt == nil {
		t.Fatalf("after abort canary service=%q abortedAt=%v, want v1 and a time", w.selector("shop-canary"), w.ro.Status.AbortedAt)
	}

	w.ro.Status.Abort = false // retry
	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")
	w.expectStep(1)
	w.expectReplicas("v2", 1)
	if w.ro.Status.AbortedAt != nil || !w.hasEvent(ReasonRetried) {
		t.Fatal("retry must clear abortedAt and record RolloutRetried")
	}
}

func TestPromoteFullSkipsTheRemainingSteps(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.deploy("v2")
	w.settle()
	w.ro.Status.PromoteFull = true
	w.settle()
	w.expectReplicas("v2", 5)
	w.expectReplicas("v1", 0)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	if w.ro.Status.PromoteFull {
		t.Fatal("promoteFull must be cleared once the promotion is done")
	}
}

func TestManualPauseHoldsTheSteps(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.ro.Spec.Paused = true
	w.deploy("v2")
	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "manually paused")
	w.expectStep(0)
	w.ro.Spec.Paused = false
	w.settle()
	w.expectStep(1)
}

func TestNewRevisionMidCanaryRestartsTheSteps(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.deploy("v2")
	w.settle()
	w.promote()
	w.settle()
	w.deploy("v3")
	w.settle()
	w.expectStep(1)
	w.expectReplicas("v2", 0)
	w.expectReplicas("v3", 1)
	w.expectReplicas("v1", 4)
}

func TestUndoToStableSkipsTheSteps(t *testing.T) {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.deploy("v2")
	w.settle()
	w.deploy("v1") // undo: the template is the stable one again
	w.settle()
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	w.expectReplicas("v1", 5)
	w.expectReplicas("v2", 0)
}

func TestProgressDeadlineExceededDegradesAndMayAbort(t *testing.T) {
	for _, abort := range []bool{false, true} {
		w := newWorld(t, talkCanary(), 5)
		w.ro.Spec.ProgressDeadlineSeconds = ptr.To[int32](60)
		w.ro.Spec.ProgressDeadlineAbort = abort
		w.settle()
		w.unready["v2"] = true
		w.deploy("v2")
		w.settle()
		w.expect(v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated")
		w.now = w.now.Add(61 * time.Second)
		w.settle()
		if abort {
			w.expect(v1alpha1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2")
			w.expectReplicas("v2", 0)
		} else {
			w.expect(v1alpha1.RolloutPhaseDegraded, `ProgressDeadlineExceeded: ReplicaSet "shop-v2" has timed out progressing.`)
		}
		if !w.hasEvent(ReasonProgressDeadline) {
			t.Error("no ProgressDeadlineExceeded event")
		}
	}
}

func TestIdleRolloutKeepsItsStatus(t *testing.T) {
	w := newWorld(t, talkCanary(), 3)
	w.settle()
	before := w.snapshot()
	w.now = w.now.Add(time.Hour)
	p := w.reconcile()
	if w.snapshot() != before || len(p.Events) != 0 {
		t.Fatalf("an idle rollout changed: %s\nevents %v", w.snapshot(), p.Events)
	}
}

func TestInvalidSpecNamesTheProblemOnce(t *testing.T) {
	w := newWorld(t, talkCanary(), 3)
	delete(w.services, "shop-canary")
	w.settle()
	w.expect(v1alpha1.RolloutPhaseDegraded, `InvalidSpec: spec.strategy.canary.canaryService: Service "shop-canary" not found in namespace "default"; create it or fix the name`)
	w.reconcile()
	warnings := 0
	for _, e := range w.events {
		if e.Reason == ReasonInvalidSpec {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("%d InvalidSpec events, want exactly one per distinct problem", warnings)
	}
	w.expectReplicas("v1", 0)
}
