package plan_test

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func blueGreen(autoPromote bool) v1alpha1.RolloutStrategy {
	return v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
		ActiveService: "shop-active", PreviewService: "shop-preview",
		AutoPromotionEnabled: ptr.To(autoPromote),
	}}
}

func TestBlueGreenManualPromotion(t *testing.T) {
	w := newWorld(t, blueGreen(false), 3)
	w.settle()
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	if w.Selector("shop-active") != "v1" || w.Selector("shop-preview") != "v1" {
		t.Fatalf("first deploy: active=%q preview=%q, want v1", w.Selector("shop-active"), w.Selector("shop-preview"))
	}

	w.Deploy("v2")
	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "BlueGreenPause")
	w.expectReplicas("v2", 3)
	w.expectReplicas("v1", 3)
	if w.Selector("shop-active") != "v1" || w.Selector("shop-preview") != "v2" {
		t.Fatalf("in preview: active=%q preview=%q, want v1 and v2", w.Selector("shop-active"), w.Selector("shop-preview"))
	}

	w.promote()
	w.settle()
	if w.Selector("shop-active") != "v2" || w.Rollout.Status.StableRS != "v2" || w.Rollout.Status.BlueGreen.ActiveSelector != "v2" {
		t.Fatalf("after promote: active=%q stableRS=%q", w.Selector("shop-active"), w.Rollout.Status.StableRS)
	}
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	w.expectReplicas("v1", 3) // kept for scaleDownDelaySeconds (30s)

	w.Now = w.Now.Add(31 * time.Second)
	w.settle()
	w.expectReplicas("v1", 0)
	w.expectReplicas("v2", 3)
}

func TestBlueGreenAutomaticPromotion(t *testing.T) {
	w := newWorld(t, blueGreen(true), 2)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
	if w.Selector("shop-active") != "v2" {
		t.Fatalf("active=%q, want v2 promoted without a human", w.Selector("shop-active"))
	}
}

func TestBlueGreenAutoPromotionSeconds(t *testing.T) {
	w := newWorld(t, blueGreen(false), 2)
	w.Rollout.Spec.Strategy.BlueGreen.AutoPromotionSeconds = 20
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "BlueGreenPause")
	w.Now = w.Now.Add(20 * time.Second)
	w.settle()
	if w.Selector("shop-active") != "v2" {
		t.Fatalf("active=%q, want v2 after autoPromotionSeconds", w.Selector("shop-active"))
	}
}

func TestBlueGreenPreviewReplicaCountScalesUpOnPromotion(t *testing.T) {
	w := newWorld(t, blueGreen(false), 4)
	w.Rollout.Spec.Strategy.BlueGreen.PreviewReplicaCount = ptr.To[int32](1)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.expectReplicas("v2", 1)
	w.promote()
	w.settle()
	w.expectReplicas("v2", 4)
	if w.Selector("shop-active") != "v2" {
		t.Fatal("the active Service must switch once the preview is at full size")
	}
}

func TestBlueGreenAbortKeepsActiveAndScalesPreviewDownLater(t *testing.T) {
	w := newWorld(t, blueGreen(false), 2)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.Rollout.Status.Abort = true
	w.settle()
	w.expect(v1alpha1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2")
	if w.Selector("shop-active") != "v1" || w.Selector("shop-preview") != "v1" {
		t.Fatalf("after abort active=%q preview=%q, want v1", w.Selector("shop-active"), w.Selector("shop-preview"))
	}
	w.expectReplicas("v2", 2)
	w.Now = w.Now.Add(31 * time.Second)
	w.settle()
	w.expectReplicas("v2", 0)
	w.expectReplicas("v1", 2)
}
