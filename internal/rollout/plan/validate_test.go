package plan_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

func TestInvalidNamesTheProblem(t *testing.T) {
	cases := map[string]struct {
		change func(*v1alpha1.Rollout, map[string]*corev1.Service)
		want   string // a substring of the message; "" for a valid spec
	}{
		"valid": {change: func(*v1alpha1.Rollout, map[string]*corev1.Service) {}},
		"selector does not match the template": {
			change: func(ro *v1alpha1.Rollout, _ map[string]*corev1.Service) {
				ro.Spec.Selector.MatchLabels = map[string]string{"app": "cart"}
			},
			want: `spec.selector "app=cart" does not match the labels of spec.template.metadata.labels`,
		},
		"empty selector": {
			change: func(ro *v1alpha1.Rollout, _ map[string]*corev1.Service) { ro.Spec.Selector = &metav1.LabelSelector{} },
			want:   "spec.selector is empty",
		},
		"missing Service": {
			change: func(_ *v1alpha1.Rollout, svcs map[string]*corev1.Service) { delete(svcs, "shop-canary") },
			want:   `spec.strategy.canary.canaryService: Service "shop-canary" not found`,
		},
		"Service selecting other pods": {
			change: func(_ *v1alpha1.Rollout, svcs map[string]*corev1.Service) {
				svcs["shop-stable"].Spec.Selector = map[string]string{"app": "cart"}
			},
			want: `spec.strategy.canary.stableService: Service "shop-stable" selects app=cart, which does not match the pod template's labels`,
		},
		"header route without traffic routing": {
			change: func(ro *v1alpha1.Rollout, _ map[string]*corev1.Service) {
				ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps,
					v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "beta"}})
			},
			want: "spec.strategy.canary.steps[2]: setHeaderRoute: beta needs spec.strategy.canary.trafficRouting",
		},
		"header route not in managedRoutes": {
			change: func(ro *v1alpha1.Rollout, _ map[string]*corev1.Service) {
				ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{
					Plugins: map[string]apiextensionsv1.JSON{gatewayapi.PluginName: {Raw: []byte(`{"httpRoute":"shop"}`)}},
				}
				ro.Spec.Strategy.Canary.Steps = append(ro.Spec.Strategy.Canary.Steps,
					v1alpha1.CanaryStep{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "beta"}})
			},
			want: `route "beta" is not listed in spec.strategy.canary.trafficRouting.managedRoutes`,
		},
		"unsupported router": {
			change: func(ro *v1alpha1.Rollout, _ map[string]*corev1.Service) {
				ro.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{Istio: &apiextensionsv1.JSON{Raw: []byte(`{}`)}}
			},
			want: "spec.strategy.canary.trafficRouting.istio is not supported",
		},
		"surge and unavailable both zero": {
			change: func(ro *v1alpha1.Rollout, _ map[string]*corev1.Service) {
				zero := intstr.FromInt32(0)
				ro.Spec.Strategy.Canary.MaxSurge, ro.Spec.Strategy.Canary.MaxUnavailable = &zero, &zero
			},
			want: "maxSurge and maxUnavailable cannot both be 0",
		},
		"revision limit above history": {
			change: func(ro *v1alpha1.Rollout, _ map[string]*corev1.Service) {
				ro.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
					ActiveService: "shop-stable", ScaleDownDelayRevisionLimit: ptr.To[int32](5)}}
				ro.Spec.RevisionHistoryLimit = ptr.To[int32](2)
			},
			want: "scaleDownDelayRevisionLimit cannot exceed spec.revisionHistoryLimit",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				StableService: "shop-stable", CanaryService: "shop-canary",
				Steps: []v1alpha1.CanaryStep{weight(50), pause("")},
			}}, 2)
			tc.change(w.Rollout, w.Services)
			got := plan.Invalid(w.Rollout, w.Services)
			if tc.want == "" && got != "" {
				t.Fatalf("a valid spec was refused: %s", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("Invalid() = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestProblemsListsEveryProblem(t *testing.T) {
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop"},
		Spec: v1alpha1.RolloutSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop"}}},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				StableService: "shop-stable", CanaryService: "shop-canary",
				Steps: []v1alpha1.CanaryStep{
					{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr.To[int32](1)}},
					{SetHeaderRoute: &v1alpha1.SetHeaderRoute{Name: "beta"}},
				},
			}},
		},
	}
	got := plan.Problems(ro, map[string]*corev1.Service{})
	want := []string{
		"spec.strategy.canary.steps[0]: setCanaryScale needs spec.strategy.canary.trafficRouting",
		"spec.strategy.canary.steps[1]: setHeaderRoute: beta needs spec.strategy.canary.trafficRouting",
		`spec.strategy.canary.stableService: Service "shop-stable" not found in namespace "shop"; create it or fix the name`,
		`spec.strategy.canary.canaryService: Service "shop-canary" not found in namespace "shop"; create it or fix the name`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if plan.Invalid(ro, map[string]*corev1.Service{}) != want[0] {
		t.Fatalf("Invalid %q, want the first problem", plan.Invalid(ro, map[string]*corev1.Service{}))
	}
}
