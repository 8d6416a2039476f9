package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

type fakeLister struct {
	rollouts []v1alpha1.Rollout
	err      error
}

func (f *fakeLister) List(context.Context) ([]v1alpha1.Rollout, error) { return f.rollouts, f.err }

func testRollout(ns, name string, mutate func(*v1alpha1.Rollout)) v1alpha1.Rollout {
	ro := v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1}}
	ro.Status.ObservedGeneration = "1"
	mutate(&ro)
	return ro
}

func TestRolloutCollector(t *testing.T) {
	lister := &fakeLister{rollouts: []v1alpha1.Rollout{
		testRollout("shop", "checkout", func(ro *v1alpha1.Rollout) {
			ro.Spec.Replicas = ptr.To[int32](5)
			ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{TrafficRouting: &v1alpha1.RolloutTrafficRouting{
				Plugins: map[string]apiextensionsv1.JSON{gatewayapi.PluginName: {Raw: []byte(`{"httpRoute":"checkout"}`)}},
			}}
			ro.Status.Phase = v1alpha1.RolloutPhasePaused
			ro.Status.Replicas = 6
			ro.Status.AvailableReplicas = 4
			ro.Status.UpdatedReplicas = 1
		}),
		testRollout("shop", "cart", func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{ActiveService: "cart"}
			ro.Status.Phase = v1alpha1.RolloutPhaseHealthy
			ro.Status.Replicas = 1
			ro.Status.AvailableReplicas = 1
			ro.Status.UpdatedReplicas = 1
		}),
		// The spec changed since the controller last wrote status: reported as Progressing.
		testRollout("web", "front", func(ro *v1alpha1.Rollout) {
			ro.Generation = 3
			ro.Spec.Replicas = ptr.To[int32](2)
			ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{}
			ro.Status.Phase = v1alpha1.RolloutPhaseHealthy
			ro.Status.Replicas = 2
			ro.Status.AvailableReplicas = 2
			ro.Status.UpdatedReplicas = 2
		}),
	}}

	const want = `
# HELP aviary_rollout_info_scrape_error 1 when this scrape could not list Rollouts (rollout_info is then missing), else 0.
# TYPE aviary_rollout_info_scrape_error gauge
aviary_rollout_info_scrape_error 0
# HELP rollout_info Information about rollout.
# TYPE rollout_info gauge
rollout_info{name="cart",namespace="shop",phase="Healthy",strategy="blueGreen",traffic_router=""} 1
rollout_info{name="checkout",namespace="shop",phase="Paused",strategy="canary",traffic_router="GatewayAPI"} 1
rollout_info{name="front",namespace="web",phase="Progressing",strategy="canary",traffic_router=""} 1
# HELP rollout_info_replicas_available The number of available replicas per rollout.
# TYPE rollout_info_replicas_available gauge
rollout_info_replicas_available{name="cart",namespace="shop"} 1
rollout_info_replicas_available{name="checkout",namespace="shop"} 4
rollout_info_replicas_available{name="front",namespace="web"} 2
# HELP rollout_info_replicas_desired The number of desired replicas per rollout.
# TYPE rollout_info_replicas_desired gauge
rollout_info_replicas_desired{name="cart",namespace="shop"} 1
rollout_info_replicas_desired{name="checkout",namespace="shop"} 5
rollout_info_replicas_desired{name="front",namespace="web"} 2
# HELP rollout_info_replicas_unavailable The number of unavailable replicas per rollout.
# TYPE rollout_info_replicas_unavailable gauge
rollout_info_replicas_unavailable{name="cart",namespace="shop"} 0
rollout_info_replicas_unavailable{name="checkout",namespace="shop"} 2
rollout_info_replicas_unavailable{name="front",namespace="web"} 0
# HELP rollout_info_replicas_updated The number of updated replicas per rollout.
# TYPE rollout_info_replicas_updated gauge
rollout_info_replicas_updated{name="cart",namespace="shop"} 1
rollout_info_replicas_updated{name="checkout",namespace="shop"} 1
rollout_info_replicas_updated{name="front",namespace="web"} 2
`
	c := NewRolloutCollector(lister, nil)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}

	// A deleted Rollout is gone from the next scrape.
	lister.rollouts = lister.rollouts[1:]
	if n := testutil.CollectAndCount(c, "rollout_info"); n != 2 {
		t.Errorf("after deleting one of three Rollouts, rollout_info has %d series, want 2", n)
	}
}

func TestRolloutCollectorListError(t *testing.T) {
	c := NewRolloutCollector(&fakeLister{err: errors.New("cache not synced")}, nil)
	const want = `
# HELP aviary_rollout_info_scrape_error 1 when this scrape could not list Rollouts (rollout_info is then missing), else 0.
# TYPE aviary_rollout_info_scrape_error gauge
aviary_rollout_info_scrape_error 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestRolloutCollectorNotLeader(t *testing.T) {
	lister := &fakeLister{rollouts: []v1alpha1.Rollout{testRollout("a", "b", func(*v1alpha1.Rollout) {})}}
	leader := false
	c := NewRolloutCollector(lister, func() bool { return leader })
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("a replica that is not the leader reported %d series, want 0", n)
	}
	leader = true
	if n := testutil.CollectAndCount(c, "rollout_info"); n != 1 {
		t.Errorf("the leader reported %d rollout_info series, want 1", n)
	}
}

func TestTrafficRouter(t *testing.T) {
	raw := apiextensionsv1.JSON{Raw: []byte(`{}`)}
	tests := map[string]struct {
		strategy v1alpha1.RolloutStrategy
		want     string
	}{
		"no strategy":        {v1alpha1.RolloutStrategy{}, ""},
		"blue-green":         {v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{}}, ""},
		"basic canary":       {v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}}, ""},
		"empty trafficRoute": {v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{TrafficRouting: &v1alpha1.RolloutTrafficRouting{}}}, ""},
		"istio": {v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			TrafficRouting: &v1alpha1.RolloutTrafficRouting{Istio: &raw},
		}}, "Istio"},
		"gateway api plugin": {v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			TrafficRouting: &v1alpha1.RolloutTrafficRouting{Plugins: map[string]apiextensionsv1.JSON{gatewayapi.PluginName: raw}},
		}}, "GatewayAPI"},
		"nginx and plugins": {v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			TrafficRouting: &v1alpha1.RolloutTrafficRouting{Nginx: &raw, Plugins: map[string]apiextensionsv1.JSON{
				"zeta/router": raw, gatewayapi.PluginName: raw,
			}},
		}}, "Nginx,GatewayAPI,zeta/router"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: tc.strategy}}
			if got := TrafficRouter(ro); got != tc.want {
				t.Errorf("TrafficRouter = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPhase(t *testing.T) {
	tests := map[string]struct {
		generation int64
		observed   string
		phase      v1alpha1.RolloutPhase
		want       v1alpha1.RolloutPhase
	}{
		"observed":                {2, "2", v1alpha1.RolloutPhaseDegraded, v1alpha1.RolloutPhaseDegraded},
		"spec not yet observed":   {3, "2", v1alpha1.RolloutPhaseHealthy, v1alpha1.RolloutPhaseProgressing},
		"never reconciled":        {1, "", "", v1alpha1.RolloutPhaseProgressing},
		"legacy hash observedGen": {4, "7d9f8c6b5", v1alpha1.RolloutPhasePaused, v1alpha1.RolloutPhasePaused},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Generation: tc.generation}}
			ro.Status.ObservedGeneration = tc.observed
			ro.Status.Phase = tc.phase
			if got := Phase(ro); got != tc.want {
				t.Errorf("Phase = %q, want %q", got, tc.want)
			}
		})
	}
}
