package plan_test

import (
	"testing"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// TestRoutedRetryClearsAbortDeadline: the scale-down deadline an abort stamps on the canary
// is dropped when the update is retried, so that the version, once stable and later replaced,
// gets its full scaleDownDelaySeconds instead of being scaled down at once by a stale deadline.
func TestRoutedRetryClearsAbortDeadline(t *testing.T) {
	w := newRoutedWorld(t, routedStrategy(weightStep(20), pauseStep(0)), 4)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.expectStep(1)

	w.Rollout.Status.Abort = true
	w.settle()
	if _, ok := w.ReplicaSets["v2"].Annotations[v1alpha1.ScaleDownDeadlineAnnotation]; !ok {
		t.Fatal("abort did not stamp a scale-down deadline on the canary")
	}

	w.Rollout.Status.Abort = false // retry
	w.settle()
	w.expectStep(1)
	if at, ok := w.ReplicaSets["v2"].Annotations[v1alpha1.ScaleDownDeadlineAnnotation]; ok {
		t.Fatalf("the retried canary keeps the abort's scale-down deadline %s", at)
	}
}
