package cli

import (
	"testing"

	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func TestPromotePatches(t *testing.T) {
	canary := func(steps int) v1alpha1.RolloutStrategy {
		return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: make([]v1alpha1.CanaryStep, steps)}}
	}
	blueGreen := v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "active"}}
	pauseCond := []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep}}
	for _, tc := range []struct {
		name         string
		strategy     v1alpha1.RolloutStrategy
		paused       bool
		conditions   []v1alpha1.PauseCondition
		step         *int32
		current      string
		full         bool
		spec, status string
	}{
		{name: "canary paused at a pause step", strategy: canary(3), conditions: pauseCond, step: ptr.To[int32](1),
			status: `{"status":{"pauseConditions":null}}`},
		{name: "canary paused by hand and by a step", strategy: canary(3), paused: true, conditions: pauseCond, step: ptr.To[int32](1),
			spec: `{"spec":{"paused":false}}`, status: `{"status":{"pauseConditions":null}}`},
		{name: "canary paused by hand only: unpause and skip the step, as Argo", strategy: canary(3), paused: true, step: ptr.To[int32](1),
			spec: `{"spec":{"paused":false}}`, status: `{"status":{"pauseConditions":null,"currentStepIndex":2}}`},
		{name: "canary in a step: skip it", strategy: canary(3), step: ptr.To[int32](0),
			status: `{"status":{"pauseConditions":null,"currentStepIndex":1}}`},
		{name: "canary without an index is at step 0", strategy: canary(2),
			status: `{"status":{"pauseConditions":null,"currentStepIndex":1}}`},
		{name: "canary at the end stays at the end", strategy: canary(2), step: ptr.To[int32](2),
			status: `{"status":{"pauseConditions":null,"currentStepIndex":2}}`},
		{name: "canary without steps: nothing", strategy: canary(0)},
		{name: "canary without steps paused by hand", strategy: canary(0), paused: true, spec: `{"spec":{"paused":false}}`},
		{name: "blue-green paused for promotion", strategy: blueGreen,
			conditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause}},
			status:     `{"status":{"pauseConditions":null}}`},
		{name: "blue-green not paused: nothing", strategy: blueGreen},
		{name: "full", strategy: canary(3), step: ptr.To[int32](1), current: "abc", full: true,
			status: `{"status":{"promoteFull":true}}`},
		{name: "full while paused only sets promoteFull", strategy: canary(3), paused: true, conditions: pauseCond, current: "abc", full: true,
			status: `{"status":{"promoteFull":true}}`},
		{name: "full on the stable revision: nothing", strategy: blueGreen, current: "stable", full: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{}
			ro.Spec.Strategy = tc.strategy
			ro.Spec.Paused = tc.paused
			ro.Status.PauseConditions = tc.conditions
			ro.Status.ControllerPause = len(tc.conditions) > 0
			ro.Status.CurrentStepIndex = tc.step
			ro.Status.StableRS = "stable"
			ro.Status.CurrentPodHash = "stable"
			if tc.current != "" {
				ro.Status.CurrentPodHash = tc.current
			}
			p := promotePatches(ro, tc.full)
			if string(p.spec) != tc.spec || string(p.status) != tc.status {
				t.Errorf("got spec %s status %s, want spec %s status %s", p.spec, p.status, tc.spec, tc.status)
			}
		})
	}
}
