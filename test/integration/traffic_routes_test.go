package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

const grpcRouteYAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: shop-grpc
spec:
  parentRefs:
    - name: gw
  rules:
    - matches:
        - method: {service: shop.Cart, method: Add}
      backendRefs:
        - {name: shop-stable, port: 80}
        - {name: shop-canary, port: 80}
`

const tcpRouteYAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata:
  name: shop-tcp
spec:
  parentRefs:
    - {name: gw, sectionName: tcp}
  rules:
    - backendRefs:
        - {name: shop-stable, port: 80}
        - {name: shop-canary, port: 80}
`

const tlsRouteYAML = `
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata:
  name: shop-tls
  labels: {app: shop}
spec:
  parentRefs:
    - {name: gw, sectionName: tls}
  hostnames: [shop.example.com]
  rules:
    - backendRefs:
        - {name: shop-stable, port: 80}
        - {name: shop-canary, port: 80}
`

// TestTrafficSeveralRouteKinds splits one canary over two HTTPRoutes (one taking header
// routes), a GRPCRoute with header routes, a TCPRoute and a TLSRoute found by label selector.
func TestTrafficSeveralRouteKinds(t *testing.T) {
	s := newTrafficScene(t, false)
	s.service("shop-stable")
	s.service("shop-canary")
	s.routeYAML(httpRouteYAML("shop-route"))
	s.routeYAML(httpRouteYAML("shop-route-2"))
	s.routeYAML(grpcRouteYAML)
	s.routeYAML(tcpRouteYAML)
	s.routeYAML(tlsRouteYAML)
	plugin := `{"httpRoutes":[{"name":"shop-route","useHeaderRoutes":true},{"name":"shop-route-2"}],
		"grpcRoutes":[{"name":"shop-grpc","useHeaderRoutes":true}],"tcpRoute":"shop-tcp",
		"tlsRouteSelector":{"matchLabels":{"app":"shop"}}}`
	strategy := exampleCanary()
	strategy.Canary.TrafficRouting = gatewayConfig(plugin, "beta-testers")
	strategy.Canary.Steps = []v1alpha1.CanaryStep{strategy.Canary.Steps[0], setWeight(30), pauseFor("")}
	s.create(shopRollout(4, strategy))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 3, sizes: map[string]int32{"blue": 4}})

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 2, sizes: map[string]int32{"blue": 4, "green": 2}})
	s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 30, stable: 70, rules: "static,-,beta-testers", label: true})
	s.awaitRoute("HTTPRoute", "shop-route-2", routeSummary{canary: 30, stable: 70, rules: "static,-", label: true})
	g := s.awaitRoute("GRPCRoute", "shop-grpc", routeSummary{canary: 30, stable: 70, rules: "-,beta-testers", label: true})
	s.awaitRoute("TCPRoute", "shop-tcp", routeSummary{canary: 30, stable: 70, rules: "-", label: true})
	s.awaitRoute("TLSRoute", "shop-tls", routeSummary{canary: 30, stable: 70, rules: "-", label: true})
	m := rule(g, "beta-testers")["matches"].([]any)[0].(map[string]any)
	if method, _ := m["method"].(map[string]any); method["service"] != "shop.Cart" || len(m["headers"].([]any)) != 1 {
		t.Errorf("GRPCRoute header rule match %v", m)
	}
	for _, kind := range []string{"HTTPRoute", "GRPCRoute", "TCPRoute"} {
		name := map[string]string{"HTTPRoute": "shop-route", "GRPCRoute": "shop-grpc", "TCPRoute": "shop-tcp"}[kind]
		s.generationStable(kind, name)
	}

	s.update(func(ro *v1alpha1.Rollout) { ro.Status.PromoteFull = true }, true)
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 3, sizes: map[string]int32{"green": 4}})
	s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 0, stable: 100, rules: "static,-"})
	s.awaitRoute("GRPCRoute", "shop-grpc", routeSummary{canary: 0, stable: 100, rules: "-"})
	s.awaitRoute("TLSRoute", "shop-tls", routeSummary{canary: 0, stable: 100, rules: "-"})
}

// TestTrafficRouteDeletedMidway deletes the HTTPRoute at a pause: the rollout goes Degraded
// with InvalidSpec naming the route, and nothing moves, not even on promote, until the route
// is back.
func TestTrafficRouteDeletedMidway(t *testing.T) {
	s := newTrafficScene(t, false)
	s.trafficBasics()
	s.create(shopRollout(4, exampleCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 4}})
	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 2, sizes: map[string]int32{"blue": 4, "green": 1}})

	if err := env.Client.Delete(s.t.Context(), s.route("HTTPRoute", "shop-route")); err != nil {
		t.Fatal(err)
	}
	msg := "InvalidSpec: HTTPRoute " + s.ns + "/shop-route not found: create it, or fix the route named in trafficRouting.plugins[\"argoproj-labs/gatewayAPI\"]"
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, message: msg, step: 2, sizes: map[string]int32{"blue": 4, "green": 1}})
	if !hasReason(s.events, plan.ReasonInvalidSpec, "shop-route not found") {
		t.Error("no InvalidSpec Warning Event naming the route")
	}
	s.promote() // refused while the route is missing
	time.Sleep(time.Second)
	if ro := s.rollout(); ptr.Deref(ro.Status.CurrentStepIndex, -1) != 2 {
		t.Fatalf("the rollout advanced without its route: %s", s.describe())
	}

	// Back with the route, the promote recorded meanwhile takes effect: the rollout re-applies
	// its routing to the new route and goes on to completion.
	s.routeYAML(httpRouteYAML("shop-route"))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"green": 4}})
	s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 0, stable: 100, rules: "static,-"})
}

// TestTrafficRouteWithoutSplit refuses a route that does not reference both Services.
func TestTrafficRouteWithoutSplit(t *testing.T) {
	s := newTrafficScene(t, false)
	s.service("shop-stable")
	s.service("shop-canary")
	s.routeYAML(strings.ReplaceAll(httpRouteYAML("shop-route"), "shop-canary", "shop-preview"))
	s.create(shopRollout(2, exampleCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseDegraded, step: -1,
		message: `InvalidSpec: HTTPRoute ` + s.ns + `/shop-route has no rule whose backendRefs reference both Service "shop-stable" and Service "shop-canary" (in namespace "` + s.ns + `"): add both to the rule that should carry the canary split`})
}

// setParentStatus writes on HTTPRoute shop-route what a gateway would: one parent entry for gw with Accepted at the
// route's current generation.
func (s *scene) setParentStatus(accepted bool) {
	s.t.Helper()
	for attempt := 0; ; attempt++ {
		u := s.route("HTTPRoute", "shop-route")
		status, reason := "True", "Accepted"
		if !accepted {
			status, reason = "False", "NotAllowedByListeners"
		}
		parents := []any{map[string]any{
			"parentRef":      map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"},
			"controllerName": "example.com/test-gateway",
			"conditions": []any{map[string]any{
				"type": "Accepted", "status": status, "reason": reason, "message": "written by the test",
				"observedGeneration": u.GetGeneration(), "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
			}},
		}}
		if err := unstructured.SetNestedSlice(u.Object, parents, "status", "parents"); err != nil {
			s.t.Fatal(err)
		}
		err := env.Client.Status().Update(context.Background(), u)
		if err == nil {
			return
		}
		if attempt > 20 {
			s.t.Fatalf("writing route status: %v", err)
		}
	}
}

// TestTrafficWeightsVerified runs with verification on: a weight change counts only once the
// gateway (played by the test) accepted the route's new generation; a rejection stops the
// rollout with a TrafficRouting condition and a Warning Event.
func TestTrafficWeightsVerified(t *testing.T) {
	s := newTrafficScene(t, true)
	s.trafficBasics()
	strategy := exampleCanary()
	strategy.Canary.TrafficRouting = gatewayConfig(shopRoutePlugin)
	strategy.Canary.Steps = []v1alpha1.CanaryStep{setWeight(25), pauseFor(""), setWeight(50), pauseFor("")}
	s.create(shopRollout(4, strategy))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 4, sizes: map[string]int32{"blue": 4}})
	s.setParentStatus(true)

	s.setImage("argoproj/rollouts-demo:green")
	s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 25, stable: 75, rules: "static,-", label: true})
	time.Sleep(2 * time.Second)
	ro := s.rollout()
	if ptr.Deref(ro.Status.CurrentStepIndex, -1) != 0 || ro.Status.Canary.Weights == nil || ptr.Deref(ro.Status.Canary.Weights.Verified, true) {
		t.Fatalf("the step completed before the gateway accepted the route: step=%v weights=%+v", ro.Status.CurrentStepIndex, ro.Status.Canary.Weights)
	}

	s.setParentStatus(true)
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 4, "green": 1}})
	deadline := time.Now().Add(30 * time.Second)
	for ro = s.rollout(); !ptr.Deref(ro.Status.Canary.Weights.Verified, false); ro = s.rollout() {
		if time.Now().After(deadline) {
			t.Fatalf("weights never verified: %+v", ro.Status.Canary.Weights)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The gateway rejects the 50% edit: the rollout stays at step 2 and says why.
	s.promote()
	s.awaitRoute("HTTPRoute", "shop-route", routeSummary{canary: 50, stable: 50, rules: "static,-", label: true})
	s.setParentStatus(false)
	deadline = time.Now().Add(30 * time.Second)
	for {
		ro = s.rollout()
		c := findRolloutCondition(ro, plan.RolloutTrafficRouting)
		if c != nil && c.Status == corev1.ConditionFalse && strings.Contains(c.Message, "NotAllowedByListeners") &&
			hasReason(s.events, plan.ReasonTrafficRoutingError, "NotAllowedByListeners") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TrafficRouting condition for a rejected route: %+v", ro.Status.Conditions)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ptr.Deref(ro.Status.CurrentStepIndex, -1) != 2 {
		t.Fatalf("the rollout moved past a rejected route: %s", s.describe())
	}
	s.setParentStatus(true)
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 3, sizes: map[string]int32{"blue": 4, "green": 2}})
}

func findRolloutCondition(ro *v1alpha1.Rollout, t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range ro.Status.Conditions {
		if ro.Status.Conditions[i].Type == t {
			return &ro.Status.Conditions[i]
		}
	}
	return nil
}
