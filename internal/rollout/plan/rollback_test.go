package plan_test

import (
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// history deploys v1, v2 and v3 a minute apart, each fully promoted: v3 is stable.
func history(w *world) {
	w.t.Helper()
	w.settle()
	for _, v := range []string{"v2", "v3"} {
		w.Now = w.Now.Add(time.Minute)
		w.Deploy(v)
		w.settle()
		w.Rollout.Status.PromoteFull = true
		w.settle()
		if w.Rollout.Status.StableRS != v {
			w.t.Fatalf("%s did not become stable: %s", v, w.Snapshot())
		}
	}
	w.Now = w.Now.Add(time.Minute)
}

func TestRollbackWindowSkipsTheSteps(t *testing.T) {
	canary := func() v1alpha1.RolloutStrategy {
		return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			Steps: []v1alpha1.CanaryStep{weight(20), pause(""), weight(60), pause("")},
		}}
	}
	for _, tc := range []struct {
		name   string
		window *v1alpha1.RollbackWindowSpec
		back   string // the version rolled back to
		skips  bool
	}{
		{name: "v2 within a window of 2", window: &v1alpha1.RollbackWindowSpec{Revisions: 2}, back: "v2", skips: true},
		{name: "v1 within a window of 2", window: &v1alpha1.RollbackWindowSpec{Revisions: 2}, back: "v1", skips: true},
		{name: "v2 within a window of 1", window: &v1alpha1.RollbackWindowSpec{Revisions: 1}, back: "v2", skips: true},
		{name: "v1 outside a window of 1", window: &v1alpha1.RollbackWindowSpec{Revisions: 1}, back: "v1", skips: false},
		{name: "window of 0", window: &v1alpha1.RollbackWindowSpec{Revisions: 0}, back: "v2", skips: false},
		{name: "no window", back: "v2", skips: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, canary(), 5)
			w.Rollout.Spec.RollbackWindow = tc.window
			history(w)
			w.Deploy(tc.back)
			w.settle()
			if tc.skips {
				w.expect(v1alpha1.RolloutPhaseHealthy, "")
				w.expectStep(4)
				w.expectReplicas(tc.back, 5)
				w.expectReplicas("v3", 0)
				if w.Rollout.Status.StableRS != tc.back {
					t.Fatalf("stableRS %q, want %q", w.Rollout.Status.StableRS, tc.back)
				}
				return
			}
			w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")
			w.expectStep(1)
			w.expectReplicas(tc.back, 1)
			w.expectReplicas("v3", 4)
		})
	}
}

// A new version (created after the stable one) is not a rollback, whatever the window.
func TestRollbackWindowIgnoresNewVersions(t *testing.T) {
	w := newWorld(t, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		Steps: []v1alpha1.CanaryStep{weight(20), pause("")},
	}}, 5)
	w.Rollout.Spec.RollbackWindow = &v1alpha1.RollbackWindowSpec{Revisions: 10}
	w.settle()
	w.Now = w.Now.Add(time.Minute)
	w.Deploy("v2")
	w.settle()
	w.expect(v1alpha1.RolloutPhasePaused, "CanaryPauseStep")
	w.expectStep(1)
}

// Blue-green: a rollback within the window is promoted without the manual pause.
func TestRollbackWindowSkipsTheBlueGreenPause(t *testing.T) {
	for _, revisions := range []int32{0, 2} {
		w := newWorld(t, v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
			ActiveService: "shop-active", AutoPromotionEnabled: ptr.To(false),
		}}, 2)
		w.Rollout.Spec.RollbackWindow = &v1alpha1.RollbackWindowSpec{Revisions: revisions}
		history(w)
		w.Deploy("v2")
		w.settle()
		if revisions == 0 {
			w.expect(v1alpha1.RolloutPhasePaused, "BlueGreenPause")
			continue
		}
		w.expect(v1alpha1.RolloutPhaseHealthy, "")
		if w.Selector("shop-active") != "v2" || w.Rollout.Status.StableRS != "v2" {
			t.Fatalf("active %q stable %q, want v2", w.Selector("shop-active"), w.Rollout.Status.StableRS)
		}
	}
}
