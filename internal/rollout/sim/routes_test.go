package sim_test

import (
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/sim"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

func routedRollout(config string) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "apps"},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](4),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				StableService: "shop-stable", CanaryService: "shop-canary",
				TrafficRouting: &v1alpha1.RolloutTrafficRouting{
					Plugins: map[string]apiextensionsv1.JSON{gatewayapi.PluginName: {Raw: []byte(config)}},
				},
			}},
		},
	}
}

// TestStandInRoutesFollowTheConfiguration: one route per named route, in the configured
// namespace with backendRefs to the Rollout's namespace, and one labelled route per selector.
func TestStandInRoutesFollowTheConfiguration(t *testing.T) {
	w := sim.New(routedRollout(`{"httpRoute":"web","tcpRoutes":[{"name":"raw"}],"grpcRouteSelector":{"matchLabels":{"team":"shop"}},"namespace":"edge"}`), time.Now())
	var got []string
	for _, r := range w.Routes {
		refs, _, _ := unstructured.NestedSlice(r.Object.Object, "spec", "rules")
		ns, _, _ := unstructured.NestedString(refs[0].(map[string]any)["backendRefs"].([]any)[0].(map[string]any), "namespace")
		got = append(got, r.Object.GetKind()+"/"+r.Object.GetNamespace()+"/"+r.Object.GetName()+" refs@"+ns+" team="+r.Object.GetLabels()["team"])
	}
	want := []string{"HTTPRoute/edge/web refs@apps team=", "TCPRoute/edge/raw refs@apps team=", "GRPCRoute/edge/shop refs@apps team=shop"}
	if len(got) != len(want) {
		t.Fatalf("routes %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("route %d is %q, want %q", i, got[i], want[i])
		}
	}
}

// TestUnreadableRoutingIsAnInvalidSpec: the world, like the controller, reports a routing
// configuration it cannot read instead of acting on it.
func TestUnreadableRoutingIsAnInvalidSpec(t *testing.T) {
	w := sim.New(routedRollout(`{"httpRoutez":"web"}`), time.Now())
	if _, err := w.Settle(); err != nil {
		t.Fatal(err)
	}
	if st := w.Rollout.Status; st.Phase != v1alpha1.RolloutPhaseDegraded || w.Replicas(sim.FirstVersion) != 0 {
		t.Fatalf("phase %q %q, %d replicas: want Degraded InvalidSpec and nothing scaled", st.Phase, st.Message, w.Replicas(sim.FirstVersion))
	}
}
