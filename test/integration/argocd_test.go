package integration

import (
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/test/argocd"
)

// These tests drive Aviary with Argo CD's own Rollout actions (its Lua scripts, written to the
// API server the way Argo CD writes them) and judge each state with Argo CD's own health check.

var (
	argoCDOnce    sync.Once
	argoCDScripts argocd.Scripts
	argoCDErr     error
)

func argoCD(t *testing.T) argocd.Scripts {
	t.Helper()
	argoCDOnce.Do(func() { argoCDScripts, argoCDErr = argocd.LoadScripts() })
	if argoCDErr != nil {
		t.Fatal(argoCDErr)
	}
	return argoCDScripts
}

func (s *scene) key() client.ObjectKey { return client.ObjectKey{Namespace: s.ns, Name: "shop"} }

// argoAction clicks an action in Argo CD's UI.
func (s *scene) argoAction(name string) {
	s.t.Helper()
	if err := argoCD(s.t).Run(s.t.Context(), env.Client, name, s.key()); err != nil {
		s.t.Fatalf("Argo CD action %s: %v", name, err)
	}
}

// argoHealth asserts Argo CD's health verdict on the Rollout as it is now.
func (s *scene) argoHealth(want string) {
	s.t.Helper()
	live, err := argocd.Rollout(s.t.Context(), env.Client, s.key())
	if err != nil {
		s.t.Fatal(err)
	}
	got, err := argoCD(s.t).Health(live)
	if err != nil {
		s.t.Fatal(err)
	}
	if got.Status != want {
		s.t.Fatalf("Argo CD's health: %+v, want %s (%s)", got, want, s.describe())
	}
}

// argoEnabled asserts which actions Argo CD's UI offers now.
func (s *scene) argoEnabled(want ...string) {
	s.t.Helper()
	live, err := argocd.Rollout(s.t.Context(), env.Client, s.key())
	if err != nil {
		s.t.Fatal(err)
	}
	enabled, err := argoCD(s.t).Enabled(live)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, name := range want {
		if !enabled[name] {
			s.t.Fatalf("Argo CD does not offer %s (offers %v)", name, enabled)
		}
	}
}

func TestArgoCDActionsWalkACanary(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-stable")
	s.service("shop-canary")
	s.create(shopRollout(5, walkCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 5}})
	s.argoHealth("Healthy")

	// Paused at the indefinite pause: resume moves on to the 10 s pause.
	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 4, "green": 1}})
	s.argoHealth("Suspended")
	s.argoEnabled("resume", "abort", "promote-full", "skip-current-step", "pause")
	s.argoAction("resume")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 3, sizes: map[string]int32{"blue": 3, "green": 2}})
	s.argoHealth("Suspended")

	// skip-current-step leaves the 10 s pause at once; 60 % and 80 % follow by themselves.
	s.argoAction("skip-current-step")
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"green": 5}})
	s.argoHealth("Healthy")

	// abort, then retry: back to the first pause.
	s.setImage("argoproj/rollouts-demo:yellow")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"green": 4, "yellow": 1}})
	s.argoAction("abort")
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, message: "RolloutAborted: Rollout aborted update to revision 3",
		step: 0, sizes: map[string]int32{"green": 5}})
	s.argoHealth("Degraded")
	s.argoEnabled("retry", "promote-full")
	s.argoAction("retry")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"green": 4, "yellow": 1}})
	s.argoHealth("Suspended")

	// promote-full as Argo CD writes it for Rollouts of v0.10 on (status.promoteFull).
	s.argoAction("promote-full")
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"yellow": 5}})
	s.argoHealth("Healthy")

	// pause (spec.paused) holds an update; resume lets it go on.
	s.setImage("argoproj/rollouts-demo:blue")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"yellow": 4, "blue": 1}})
	s.argoAction("skip-current-step")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 3, sizes: map[string]int32{"yellow": 3, "blue": 2}})
	s.argoAction("pause")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "manually paused", step: 3, sizes: map[string]int32{"yellow": 3, "blue": 2}})
	s.argoHealth("Suspended")
	s.argoAction("resume") // clears spec.paused and the 10 s pause's condition
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 5}})
	s.argoHealth("Healthy")

	// restart stamps spec.restartAt in its own time format; every pod is replaced.
	s.argoAction("restart")
	deadline := time.Now().Add(90 * time.Second)
	for ro := s.rollout(); ro.Status.RestartedAt == nil || !ro.Status.RestartedAt.Equal(ro.Spec.RestartAt); ro = s.rollout() {
		if time.Now().After(deadline) {
			t.Fatalf("the restart did not finish: restartAt %v restartedAt %v (%s)", ro.Spec.RestartAt, ro.Status.RestartedAt, s.describe())
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 5}})
	s.argoHealth("Healthy")
}

// TestArgoCDPromoteFullByStepIndex: for a Rollout it takes for v0.9 (no numeric
// observedGeneration), Argo CD's promote-full clears abort and sets currentStepIndex to the
// number of steps. The Rollout must finish its update and leave the pause, not stay Paused.
func TestArgoCDPromoteFullByStepIndex(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-stable")
	s.service("shop-canary")
	s.create(shopRollout(5, walkCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 5}})
	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 4, "green": 1}})

	live, err := argocd.Rollout(t.Context(), env.Client, s.key())
	if err != nil {
		t.Fatal(err)
	}
	asV09 := live.DeepCopy()
	unstructured.RemoveNestedField(asV09.Object, "status", "observedGeneration")
	updated, err := argoCD(t).Action("promote-full", asV09)
	if err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(updated.Object, s.rollout().Status.ObservedGeneration, "status", "observedGeneration"); err != nil {
		t.Fatal(err)
	}
	if err := argocd.Write(t.Context(), env.Client, live, updated); err != nil {
		t.Fatal(err)
	}
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"green": 5}})
	s.argoHealth("Healthy")
	if ro := s.rollout(); len(ro.Status.PauseConditions) != 0 || ro.Status.ControllerPause {
		t.Fatalf("after promote-full: pauseConditions %v controllerPause %v", ro.Status.PauseConditions, ro.Status.ControllerPause)
	}
}

func TestArgoCDActionsWalkABlueGreen(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-active")
	s.service("shop-preview")
	s.create(shopRollout(2, v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
		ActiveService: "shop-active", PreviewService: "shop-preview",
		AutoPromotionEnabled: ptr.To(false), ScaleDownDelaySeconds: ptr.To[int32](1),
	}}))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"blue": 2}})
	s.argoHealth("Healthy")

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "BlueGreenPause", step: -1, sizes: map[string]int32{"blue": 2, "green": 2}})
	s.argoHealth("Suspended")
	s.argoAction("resume")
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"green": 2}})
	s.argoHealth("Healthy")
	if s.selector("shop-active") != "green" {
		t.Fatalf("after resume the active Service selects %s, want green", s.selector("shop-active"))
	}

	s.setImage("argoproj/rollouts-demo:yellow")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "BlueGreenPause", step: -1, sizes: map[string]int32{"green": 2, "yellow": 2}})
	s.argoAction("abort")
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, message: "RolloutAborted: Rollout aborted update to revision 3", step: -1})
	s.argoHealth("Degraded")
	s.argoAction("retry")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "BlueGreenPause", step: -1})
	s.argoHealth("Suspended")
	s.argoAction("promote-full")
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: -1, sizes: map[string]int32{"yellow": 2}})
	s.argoHealth("Healthy")
	if s.selector("shop-active") != "yellow" {
		t.Fatalf("after promote-full the active Service selects %s, want yellow", s.selector("shop-active"))
	}
}
