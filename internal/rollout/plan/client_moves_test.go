package plan_test

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// These scenarios move a Rollout the way clients other than Aviary's CLI do: Argo CD's UI
// actions write status.currentStepIndex and status.pauseConditions directly.

// pausedAtFirstPause walks the talk's canary to its first (indefinite) pause.
func pausedAtFirstPause(t *testing.T) *world {
	w := newWorld(t, talkCanary(), 5)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")
	w.expectStep(1)
	return w
}

func TestPromoteFullByStepIndexCompletesAndUnpauses(t *testing.T) {
	w := pausedAtFirstPause(t)
	// Argo CD's promote-full for Rollouts it takes for v0.9: abort cleared, index = len(steps).
	w.Rollout.Status.Abort = false
	w.Rollout.Status.CurrentStepIndex = ptr.To(int32(len(w.Rollout.Spec.Strategy.Canary.Steps)))
	w.settle()
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	w.expectReplicas("v2", 5)
	w.expectReplicas("v1", 0)
	if w.Rollout.Status.StableRS != "v2" || len(w.Rollout.Status.PauseConditions) != 0 || w.Rollout.Status.ControllerPause {
		t.Fatalf("stableRS %q, pauseConditions %v, controllerPause %v: want v2, none, false",
			w.Rollout.Status.StableRS, w.Rollout.Status.PauseConditions, w.Rollout.Status.ControllerPause)
	}
}

func TestSkipCurrentStepLeavesLaterPausesInForce(t *testing.T) {
	w := pausedAtFirstPause(t)
	// Argo CD's skip-current-step: pause conditions cleared, index + 1; controllerPause stays.
	w.Rollout.Status.PauseConditions = nil
	w.Rollout.Status.CurrentStepIndex = ptr.To(*w.Rollout.Status.CurrentStepIndex + 1)
	w.settle()
	// setWeight 40 is done and the timed pause 10s holds: the stale controllerPause must not
	// count as a human resuming it.
	w.expectStep(3)
	w.expectReplicas("v2", 2)
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")
	w.Now = w.Now.Add(10 * time.Second)
	w.settle()
	w.expectStep(6)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
}

func TestSkipCurrentStepFromAWeightStep(t *testing.T) {
	w := pausedAtFirstPause(t)
	w.promote()
	w.settle()
	w.expectStep(3) // at the 10s pause
	w.Rollout.Status.PauseConditions = nil
	w.Rollout.Status.CurrentStepIndex = ptr.To(int32(4))
	w.settle()
	w.expectStep(6)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
}

func TestNegativeStepIndexRestartsTheSteps(t *testing.T) {
	w := pausedAtFirstPause(t)
	w.Rollout.Status.CurrentStepIndex = ptr.To[int32](-3)
	w.settle() // must not panic
	w.expectStep(1)
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")
	if !w.HasEvent(plan.ReasonInvalidSpec) {
		t.Fatal("no Warning event about the negative step index")
	}
}

func TestStepIndexPastTheEndMeansDone(t *testing.T) {
	w := pausedAtFirstPause(t)
	w.Rollout.Status.CurrentStepIndex = ptr.To[int32](40)
	w.settle()
	w.expectStep(6)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
}
