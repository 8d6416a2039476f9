package plan_test

import (
	"fmt"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

// routedWorld is the planner's world with one HTTPRoute, "shop", that the plan's route edits
// are applied to; its invariants are checked after every reconcile.
type routedWorld struct {
	*world
	before *unstructured.Unstructured // the route as the reconcile being applied found it
}

func routedStrategy(steps ...v1alpha1.CanaryStep) v1alpha1.RolloutStrategy {
	return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		StableService: "shop-stable", CanaryService: "shop-canary",
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{
			ManagedRoutes: []v1alpha1.ManagedRoute{{Name: "beta"}},
			Plugins:       map[string]apiextensionsv1.JSON{gatewayapi.PluginName: {Raw: []byte(`{"httpRoutes":[{"name":"shop","useHeaderRoutes":true}]}`)}},
		},
		Steps: steps,
	}}
}

func newRoutedWorld(t *testing.T, strategy v1alpha1.RolloutStrategy, replicas int32) *routedWorld {
	w := &routedWorld{world: newWorld(t, strategy, replicas)}
	if len(w.Routes) != 1 {
		t.Fatalf("want the one route of the strategy, got %d", len(w.Routes))
	}
	w.before = w.route().DeepCopy()
	w.AfterApply = func(plan.Plan) {
		w.checkInvariants(w.before)
		w.before = w.route().DeepCopy()
	}
	return w
}

// route is the world's one route, as the last reconcile left it.
func (w *routedWorld) route() *unstructured.Unstructured { return w.Routes[0].Object }

// checkInvariants holds after every reconcile, with the pods as they were when it planned
// (new pods only start afterwards):
//   - a Service whose share of the traffic grew selects a ReplicaSet with available pods for
//     that share;
//   - a header rule only exists while the canary Service selects available pods.
func (w *routedWorld) checkInvariants(before *unstructured.Unstructured) {
	w.t.Helper()
	s := gatewayapi.State{StableService: "shop-stable", CanaryService: "shop-canary", ServiceNamespace: "default"}
	canary, stable, _ := gatewayapi.Weights(w.route(), s)
	oldCanary, oldStable, _ := gatewayapi.Weights(before, s)
	total := *w.Rollout.Spec.Replicas
	share := func(a, b int64) float64 { return float64(a) / float64(max(a+b, 1)) }
	grew := map[string]bool{
		"shop-canary": share(canary, stable) > share(oldCanary, oldStable),
		"shop-stable": share(stable, canary) > share(oldStable, oldCanary),
	}
	for svc, weight := range map[string]int64{"shop-canary": canary, "shop-stable": stable} {
		if weight == 0 || !grew[svc] {
			continue
		}
		weight = weight * 100 / (canary + stable)
		rs := w.ReplicaSets[w.Selector(svc)]
		need := int32((int64(total)*weight + 99) / 100)
		if rs == nil || rs.Status.AvailableReplicas < need || *rs.Spec.Replicas < need {
			w.t.Fatalf("%s gets weight %d but selects %v with too few pods: %s", svc, weight, w.Selector(svc), w.Snapshot())
		}
	}
	if w.ruleNames() != "-" {
		rs := w.ReplicaSets[w.Selector("shop-canary")]
		if rs == nil || rs.Status.AvailableReplicas == 0 {
			w.t.Fatalf("header rule %s routes to a canary without pods: %s", w.ruleNames(), w.Snapshot())
		}
	}
}

func (w *routedWorld) ruleNames() string {
	rules, _, _ := unstructured.NestedSlice(w.route().Object, "spec", "rules")
	out := ""
	for i, r := range rules {
		name, _ := r.(map[string]any)["name"].(string)
		if name == "" {
			name = "-"
		}
		if i > 0 {
			out += ","
		}
		out += name
	}
	return out
}

func (w *routedWorld) weights() string {
	s := gatewayapi.State{StableService: "shop-stable", CanaryService: "shop-canary", ServiceNamespace: "default"}
	c, st, _ := gatewayapi.Weights(w.route(), s)
	return formatWeights(c, st)
}

func formatWeights(c, s int64) string { return fmt.Sprintf("%d/%d", c, s) }

func (w *routedWorld) expectRoute(weights, rules string) {
	w.t.Helper()
	if w.weights() != weights || w.ruleNames() != rules {
		w.t.Fatalf("route %s rules %s, want %s rules %s (%s)", w.weights(), w.ruleNames(), weights, rules, w.Snapshot())
	}
}

func headerStep() v1alpha1.CanaryStep {
	return v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "beta", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "X-Beta", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}}}}}
}

func pauseStep(seconds int32) v1alpha1.CanaryStep {
	if seconds == 0 {
		return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}}
	}
	d := intstr.FromInt32(seconds)
	return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{Duration: &d}}
}

func weightStep(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: ptr.To(w)} }

// TestRoutedCanaryHoldsTrafficUntilPodsAreUp walks the example: no header rule and no
// weight reach the canary while its pods are not available; the route carries each step;
// completion switches the stable Service before traffic returns to it, and the old version
// goes only after scaleDownDelaySeconds.
func TestRoutedCanaryHoldsTrafficUntilPodsAreUp(t *testing.T) {
	w := newRoutedWorld(t, routedStrategy(headerStep(), weightStep(10), pauseStep(0), weightStep(50), pauseStep(30), weightStep(100)), 4)
	w.settle()
	w.expectRoute("0/100", "-")
	w.expect(v1alpha1.RolloutPhaseHealthy, "")

	w.Deploy("v2")
	w.Unready["v2"] = true
	w.settle()
	w.expectStep(0)
	w.expectReplicas("v2", 1)
	w.expectRoute("0/100", "-")

	delete(w.Unready, "v2")
	w.settle()
	w.expectStep(2)
	w.expectRoute("10/90", "-,beta")
	w.expectReplicas("v2", 1)
	w.expectReplicas("v1", 4)
	if w.route().GetLabels()[gatewayapi.DefaultInProgressLabelKey] != "in-progress" {
		t.Fatalf("no in-progress label: %v", w.route().GetLabels())
	}

	w.promote()
	w.settle()
	w.expectStep(4)
	w.expectRoute("50/50", "-,beta")
	w.expectReplicas("v2", 2)

	w.Now = w.Now.Add(31 * time.Second)
	w.settle()
	w.expect(v1alpha1.RolloutPhaseProgressing, "old replicas are pending termination")
	w.expectRoute("0/100", "-")
	if w.Selector("shop-stable") != "v2" || len(w.route().GetLabels()) != 0 {
		t.Fatalf("after completion: stable Service %s, labels %v", w.Selector("shop-stable"), w.route().GetLabels())
	}
	w.expectReplicas("v1", 4) // scaleDownDelaySeconds
	w.Now = w.Now.Add(31 * time.Second)
	w.settle()
	w.expectReplicas("v1", 0)
	w.expectReplicas("v2", 4)
	w.expect(v1alpha1.RolloutPhaseHealthy, "")
}

// TestRoutedDynamicStableScale shrinks the stable only after traffic left it, and on abort
// brings it back before traffic returns.
func TestRoutedDynamicStableScale(t *testing.T) {
	strategy := routedStrategy(weightStep(75), pauseStep(0))
	strategy.Canary.DynamicStableScale = true
	w := newRoutedWorld(t, strategy, 4)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.expectStep(1)
	w.expectRoute("75/25", "-")
	w.expectReplicas("v2", 3)
	w.expectReplicas("v1", 1)

	w.Rollout.Status.Abort = true
	w.Unready["v1"] = true // the stable's returning pods take a while
	w.settle()
	w.expectRoute("75/25", "-")
	w.expectReplicas("v1", 4)
	delete(w.Unready, "v1")
	w.settle()
	w.expectRoute("0/100", "-")
	w.expect(v1alpha1.RolloutPhaseDegraded, "RolloutAborted: Rollout aborted update to revision 2")
}

// TestRoutedStepWaitsForVerification keeps a step open until the gateway accepted the route's
// new generation, and reports verified weights in the status.
func TestRoutedStepWaitsForVerification(t *testing.T) {
	w := newRoutedWorld(t, routedStrategy(weightStep(20), pauseStep(0)), 5)
	w.VerifyRoutes = true
	w.GatewayAccepts = true
	w.settle()
	w.Deploy("v2")
	w.GatewayAccepts = false
	w.settle()
	w.expectStep(0)
	w.expectRoute("20/80", "-")
	if v := w.Rollout.Status.Canary.Weights.Verified; v == nil || *v {
		t.Fatalf("verified = %v before the gateway accepted", v)
	}
	w.GatewayAccepts = true
	w.AcceptRoutes()
	w.settle()
	w.expectStep(1)
	if v := w.Rollout.Status.Canary.Weights.Verified; v == nil || !*v {
		t.Fatalf("verified = %v after the gateway accepted", v)
	}
	w.expectReplicas("v2", 1)
}

// TestRoutedMaxTrafficWeight sets weights out of maxTrafficWeight and sizes pods by the share.
func TestRoutedMaxTrafficWeight(t *testing.T) {
	strategy := routedStrategy(weightStep(250), pauseStep(0))
	strategy.Canary.TrafficRouting.MaxTrafficWeight = ptr.To[int32](1000)
	w := newRoutedWorld(t, strategy, 8)
	w.settle()
	w.expectRoute("0/1000", "-")
	w.Deploy("v2")
	w.settle()
	w.expectStep(1)
	w.expectRoute("250/750", "-")
	w.expectReplicas("v2", 2)
	w.expectReplicas("v1", 8)
}

// TestRoutedCanaryScaleAndMinPods: setCanaryScale sizes the canary apart from its weight, and
// minPodsPerReplicaSet raises small canaries.
func TestRoutedCanaryScaleAndMinPods(t *testing.T) {
	strategy := routedStrategy(
		v1alpha1.CanaryStep{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr.To[int32](3)}}, weightStep(5), pauseStep(0),
		v1alpha1.CanaryStep{SetCanaryScale: &v1alpha1.SetCanaryScale{MatchTrafficWeight: true}}, pauseStep(0))
	strategy.Canary.MinPodsPerReplicaSet = ptr.To[int32](2)
	w := newRoutedWorld(t, strategy, 10)
	w.settle()
	w.Deploy("v2")
	w.settle()
	w.expectStep(2)
	w.expectRoute("5/95", "-")
	w.expectReplicas("v2", 3)
	w.promote()
	w.settle()
	w.expectStep(4)
	w.expectReplicas("v2", 2) // ceil(10*5%) = 1, raised to minPodsPerReplicaSet
}
