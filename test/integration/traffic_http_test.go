package integration

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

const shopRoutePlugin = `{"httpRoutes":[{"name":"shop-route","useHeaderRoutes":true}]}`

// exampleCanary is the example: a header route for beta testers, then 10%, a pause,
// 50%, a timed pause (shortened from 30s) and 100%.
func exampleCanary() v1alpha1.RolloutStrategy {
	return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		StableService: "shop-stable", CanaryService: "shop-canary",
		TrafficRouting:             gatewayConfig(shopRoutePlugin, "beta-testers"),
		ScaleDownDelaySeconds:      ptr.To[int32](1),
		AbortScaleDownDelaySeconds: ptr.To[int32](1),
		Steps: []v1alpha1.CanaryStep{
			{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "beta-testers", Match: []v1alpha1.HeaderRoutingMatch{
				{HeaderName: "X-Beta", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}},
			}}},
			setWeight(10), pauseFor(""), setWeight(50), pauseFor("4s"), setWeight(100),
		},
	}}
}

func (s *scene) trafficBasics() {
	s.service("shop-stable")
	s.service("shop-canary")
	s.routeYAML(httpRouteYAML("shop-route"))
}

// TestTrafficExampleWalked walks the example step by step with the HTTPRoute checked
// at every stop: weights, the managed header rule, the in-progress label, the user's rule
// untouched, and the ReplicaSets sized by traffic.
func TestTrafficExampleWalked(t *testing.T) {
	s := newTrafficScene(t, false)
	s.trafficBasics()
	s.create(shopRollout(4, exampleCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 4}})
	u := s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 0, stable: 100, rules: "static,-"})
	s.userRulesUnchanged(u)
	s.generationStable("HTTPRoute", "shop-route")

	s.setImage("argoproj/rollouts-demo:green")
	// setHeaderRoute then setWeight 10 then the indefinite pause.
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 2, sizes: map[string]int32{"blue": 4, "green": 1}})
	u = s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 10, stable: 90, rules: "static,-,beta-testers", label: true})
	s.userRulesUnchanged(u)
	header := rule(u, "beta-testers")
	matches := header["matches"].([]any)
	headers := matches[0].(map[string]any)["headers"].([]any)
	if h := headers[0].(map[string]any); h["name"] != "X-Beta" || h["value"] != "yes" || h["type"] != "Exact" {
		t.Errorf("header match %v", h)
	}
	refs := header["backendRefs"].([]any)
	if len(refs) != 1 || refs[0].(map[string]any)["name"] != "shop-canary" {
		t.Errorf("header rule backends %v, want only shop-canary", refs)
	}
	if f, _, _ := unstructured.NestedSlice(header, "filters"); len(f) != 1 {
		t.Errorf("header rule filters %v, want the source rule's one filter", f)
	}
	if s.selector("shop-canary") != "green" || s.selector("shop-stable") != "blue" {
		t.Fatalf("services canary=%s stable=%s", s.selector("shop-canary"), s.selector("shop-stable"))
	}
	ro := s.rollout()
	if w := ro.Status.Canary.Weights; w == nil || w.Canary.Weight != 10 || w.Stable.Weight != 90 || w.Verified != nil {
		t.Errorf("status.canary.weights = %+v", w)
	}
	s.generationStable("HTTPRoute", "shop-route")

	s.promote()
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 4, sizes: map[string]int32{"blue": 4, "green": 2}})
	s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 50, stable: 50, rules: "static,-,beta-testers", label: true})

	// The timed pause ends, 100% goes to the canary, then the rollout completes: the stable
	// Service moves to green, all traffic goes back through it, the managed rule and the
	// label come off, and blue is scaled down.
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"green": 4}})
	u = s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 0, stable: 100, rules: "static,-"})
	s.userRulesUnchanged(u)
	if s.selector("shop-stable") != "green" {
		t.Errorf("stable Service selects %s after completion", s.selector("shop-stable"))
	}
	for _, reason := range []string{plan.ReasonTrafficWeightUpdated, plan.ReasonCompleted} {
		if s.events.count(reason) == 0 {
			t.Errorf("no %s event", reason)
		}
	}
	s.generationStable("HTTPRoute", "shop-route")
}

// TestTrafficAbortMidway aborts at 10%: all traffic returns to stable, the header rule and the
// label go, and the canary is scaled away after abortScaleDownDelaySeconds.
func TestTrafficAbortMidway(t *testing.T) {
	s := newTrafficScene(t, false)
	s.trafficBasics()
	s.create(shopRollout(4, exampleCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 4}})
	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 2, sizes: map[string]int32{"blue": 4, "green": 1}})
	s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 10, stable: 90, rules: "static,-,beta-testers", label: true})

	s.update(func(ro *v1alpha1.Rollout) { ro.Status.Abort = true }, true)
	u := s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 0, stable: 100, rules: "static,-"})
	s.userRulesUnchanged(u)
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: 0,
		message: "RolloutAborted: Rollout aborted update to revision 2", sizes: map[string]int32{"blue": 4}})
	if s.selector("shop-canary") != "blue" {
		t.Errorf("canary Service selects %s after abort", s.selector("shop-canary"))
	}
}

// TestTrafficMirrorStep mirrors POSTs under /api to the canary at 50% through a RequestMirror
// filter the real API server's HTTPRoute schema accepts.
func TestTrafficMirrorStep(t *testing.T) {
	s := newTrafficScene(t, false)
	s.trafficBasics()
	strategy := exampleCanary()
	strategy.Canary.TrafficRouting = gatewayConfig(shopRoutePlugin, "mirror-api")
	strategy.Canary.Steps = []v1alpha1.CanaryStep{
		setWeight(20),
		{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "mirror-api", Percentage: ptr.To[int32](50), Match: []v1alpha1.RouteMatch{
			{Method: &v1alpha1.StringMatch{Exact: "POST"}, Path: &v1alpha1.StringMatch{Prefix: "/api"}},
		}}},
		pauseFor(""),
		{SetMirrorRoute: &v1alpha1.SetMirrorRoute{Name: "mirror-api"}},
		pauseFor(""),
	}
	s.create(shopRollout(4, strategy))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 5, sizes: map[string]int32{"blue": 4}})
	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 2, sizes: map[string]int32{"blue": 4, "green": 1}})
	u := s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 20, stable: 80, rules: "static,-,mirror-api", label: true})
	mirror := rule(u, "mirror-api")
	filters := mirror["filters"].([]any)
	last := filters[len(filters)-1].(map[string]any)
	rm, _ := last["requestMirror"].(map[string]any)
	ref, _ := rm["backendRef"].(map[string]any)
	if last["type"] != "RequestMirror" || ref["name"] != "shop-canary" || rm["percent"] != int64(50) {
		t.Errorf("mirror filter %v", last)
	}
	m := mirror["matches"].([]any)[0].(map[string]any)
	if m["method"] != "POST" || m["path"].(map[string]any)["value"] != "/api" {
		t.Errorf("mirror match %v", m)
	}
	// The mirror rule answers like the split rule: same backends, same weights.
	if refs := mirror["backendRefs"].([]any); len(refs) != 2 {
		t.Errorf("mirror rule backends %v", refs)
	}
	s.generationStable("HTTPRoute", "shop-route")

	// A setMirrorRoute without match removes the mirror.
	s.promote()
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 4, sizes: map[string]int32{"blue": 4, "green": 1}})
	s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 20, stable: 80, rules: "static,-", label: true})
}
