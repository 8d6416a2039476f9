package plan_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

func TestInvalidTrafficRouting(t *testing.T) {
	cases := map[string]struct {
		change func(*v1alpha1.CanaryStrategy)
		want   string
	}{
		"valid":     {func(*v1alpha1.CanaryStrategy) {}, ""},
		"no plugin": {func(c *v1alpha1.CanaryStrategy) { c.TrafficRouting.Plugins = nil }, "names no router"},
		"bad plugin config": {func(c *v1alpha1.CanaryStrategy) {
			c.TrafficRouting.Plugins[gatewayapi.PluginName] = apiextensionsv1.JSON{Raw: []byte(`{"httpRoutez":"x"}`)}
		}, `unknown field "httpRoutez"`},
		"no canary service": {func(c *v1alpha1.CanaryStrategy) { c.CanaryService = "" }, "needs both stableService and canaryService"},
		"same services":     {func(c *v1alpha1.CanaryStrategy) { c.CanaryService = c.StableService }, "two different Services"},
		"header route without a route taking it": {func(c *v1alpha1.CanaryStrategy) {
			c.TrafficRouting.Plugins[gatewayapi.PluginName] = apiextensionsv1.JSON{Raw: []byte(`{"httpRoutes":[{"name":"shop"}]}`)}
		}, "set useHeaderRoutes: true"},
		"bad regex": {func(c *v1alpha1.CanaryStrategy) {
			c.Steps[0].SetHeaderRoute.Match[0].HeaderValue = &v1alpha1.StringMatch{Regex: "("}
		}, "steps[0].setHeaderRoute: header \"X-Beta\": regex \"(\" does not compile"},
		"weight to a zero-scaled canary": {func(c *v1alpha1.CanaryStrategy) {
			c.Steps = append([]v1alpha1.CanaryStep{{SetCanaryScale: &v1alpha1.SetCanaryScale{Replicas: ptr.To[int32](0)}}}, c.Steps...)
		}, "steps[2]: weight 10 would go to a canary that setCanaryScale sizes to 0 pods"},
	}
	for name, c := range cases {
		strategy := routedStrategy(headerStep(), weightStep(10))
		strategy.Canary.TrafficRouting.ManagedRoutes = []v1alpha1.ManagedRoute{{Name: "beta"}}
		c.change(strategy.Canary)
		ro := shopRollout(strategy, 1)
		services := map[string]*corev1.Service{}
		for _, ref := range plan.ServiceRefs(ro) {
			services[ref.Name] = &corev1.Service{}
		}
		got := strings.Join(plan.Problems(ro, services), "\n")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", name, got, c.want)
		}
	}
}
