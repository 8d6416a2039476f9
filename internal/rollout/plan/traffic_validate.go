package plan

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

// ParseRouting reads a canary's Gateway API configuration; nil without trafficRouting, and a
// message saying what to fix when it cannot be used.
func ParseRouting(ro *v1alpha1.Rollout) (*gatewayapi.Config, string) {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return nil, ""
	}
	raw, ok := c.TrafficRouting.Plugins[gatewayapi.PluginName]
	if !ok {
		return nil, fmt.Sprintf("spec.strategy.canary.trafficRouting names no router: configure trafficRouting.plugins[%q] with the routes to edit", gatewayapi.PluginName)
	}
	cfg, err := gatewayapi.ParseConfig(raw.Raw)
	if err != nil {
		return nil, "spec.strategy.canary.trafficRouting.plugins: " + err.Error()
	}
	return cfg, ""
}

// invalidTrafficRouting checks a traffic-routed canary's configuration and its route steps.
func invalidTrafficRouting(ro *v1alpha1.Rollout, _ map[string]*corev1.Service) []string {
	if c := ro.Spec.Strategy.Canary; c != nil {
		if msg := invalidRouter(c.TrafficRouting); msg != "" {
			return []string{msg} // the rest describes a router Aviary does not run
		}
	}
	cfg, msg := ParseRouting(ro)
	if msg != "" {
		return []string{msg}
	}
	if cfg == nil {
		return nil
	}
	var out []string
	c := ro.Spec.Strategy.Canary
	if c.StableService == "" || c.CanaryService == "" {
		out = append(out, "spec.strategy.canary: trafficRouting needs both stableService and canaryService, the Services whose backendRefs carry the split")
	} else if c.StableService == c.CanaryService {
		out = append(out, "spec.strategy.canary: stableService and canaryService must be two different Services")
	}
	for i := range c.Steps {
		out = append(out, invalidRoutedStep(c.Steps, i, cfg)...)
	}
	return out
}

// invalidRoutedStep checks one step of a traffic-routed canary.
func invalidRoutedStep(steps []v1alpha1.CanaryStep, i int, cfg *gatewayapi.Config) []string {
	s := steps[i]
	field := fmt.Sprintf("spec.strategy.canary.steps[%d]", i)
	var out []string
	if (s.SetHeaderRoute != nil || s.SetMirrorRoute != nil) && !cfg.HeaderRoutesPossible() {
		out = append(out, fmt.Sprintf("%s: %s needs a route that takes header routes: set useHeaderRoutes: true on an httpRoutes or grpcRoutes entry", field, DescribeStep(s)))
	}
	if s.SetHeaderRoute != nil {
		if err := gatewayapi.CheckHeaderRoute(s.SetHeaderRoute); err != nil {
			out = append(out, fmt.Sprintf("%s.setHeaderRoute: %v", field, err))
		}
	}
	if s.SetMirrorRoute != nil {
		if err := gatewayapi.CheckMirrorRoute(s.SetMirrorRoute); err != nil {
			out = append(out, fmt.Sprintf("%s.setMirrorRoute: %v", field, err))
		}
	}
	if w := WeightAt(steps, int32(i)); w > 0 && zeroCanaryScale(CanaryScaleAt(steps, int32(i))) {
		out = append(out, fmt.Sprintf("%s: weight %d would go to a canary that setCanaryScale sizes to 0 pods; scale the canary up (or use matchTrafficWeight: true) before sending it traffic", field, w))
	}
	return out
}

// zeroCanaryScale: a setCanaryScale that leaves the canary without pods.
func zeroCanaryScale(s *v1alpha1.SetCanaryScale) bool {
	if s == nil || s.MatchTrafficWeight {
		return false
	}
	return (s.Replicas != nil && *s.Replicas == 0) || (s.Replicas == nil && s.Weight != nil && *s.Weight == 0)
}
