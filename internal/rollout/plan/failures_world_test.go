package plan_test

import (
	"testing"

	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// TestApplyFailedIsClearedByTheNextPlan: the condition an apply failure leaves is gone from
// the status of the next plan, which is applied in full or reports again.
func TestApplyFailedIsClearedByTheNextPlan(t *testing.T) {
	w := newWorld(t, talkCanary(), 3)
	w.settle()
	w.Rollout.Status = plan.ApplyFailedStatus(w.Rollout.Status, `patching Service "shop-canary": forbidden`, w.Now)
	if c := condition(w.Rollout.Status, plan.RolloutApplyFailed); c == nil || c.Reason != plan.ReasonApplyFailed {
		t.Fatalf("ApplyFailed condition %+v", c)
	}
	w.Reconcile()
	if c := condition(w.Rollout.Status, plan.RolloutApplyFailed); c != nil {
		t.Fatalf("the next plan kept %+v", c)
	}
}
