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
	raw, ok := c.TrafficRouting.Plugins[GatewayAPIPlugin]
	if !ok {
		return nil, fmt.Sprintf("spec.strategy.canary.trafficRouting names no router: configure trafficRouting.plugins[%q] with the routes to edit", GatewayAPIPlugin)
	}
	cfg, err := gatewayapi.ParseConfig(raw.Raw)
	if err != nil {
		return nil, "spec.strategy.canary.trafficRouting.plugins: " + err.Error()
	}
	return cfg, ""
}

// invalidTrafficRouting checks a traffic-routed canary's configuration and its route steps.
func invalidTrafficRouting(ro *v1alpha1.Rollout, _ map[string]*corev1.Service) string {
	cfg, msg := ParseRouting(ro)
	if msg != "" || cfg == nil {
		return msg
	}
	c := ro.Spec.Strategy.Canary
	if c.StableService == "" || c.CanaryService == "" {
		return "spec.strategy.canary: trafficRouting needs both stableService and canaryService, the Services whose backendRefs carry the split"
	}
	if c.StableService == c.CanaryService {
		return "spec.strategy.canary: stableService and canaryService must be two different Services"
	}
	for i, s := range c.Steps {
		field := fmt.Sprintf("spec.strategy.canary.steps[%d]", i)
		if (s.SetHeaderRoute != nil || s.SetMirrorRoute != nil) && !cfg.HeaderRoutesPossible() {
			return fmt.Sprintf("%s: %s needs a route that takes header routes: set useHeaderRoutes: true on an httpRoutes or grpcRoutes entry", field, DescribeStep(s))
		}
		if s.SetHeaderRoute != nil {
			if err := gatewayapi.CheckHeaderRoute(s.SetHeaderRoute); err != nil {
				return fmt.Sprintf("%s.setHeaderRoute: %v", field, err)
			}
		}
		if s.SetMirrorRoute != nil {
			if err := gatewayapi.CheckMirrorRoute(s.SetMirrorRoute); err != nil {
				return fmt.Sprintf("%s.setMirrorRoute: %v", field, err)
			}
		}
		if w := WeightAt(c.Steps, int32(i)); w > 0 && zeroCanaryScale(CanaryScaleAt(c.Steps, int32(i))) {
			return fmt.Sprintf("%s: weight %d would go to a canary that setCanaryScale sizes to 0 pods; scale the canary up (or use matchTrafficWeight: true) before sending it traffic", field, w)
		}
	}
	return ""
}

// zeroCanaryScale: a setCanaryScale that leaves the canary without pods.
func zeroCanaryScale(s *v1alpha1.SetCanaryScale) bool {
	if s == nil || s.MatchTrafficWeight {
		return false
	}
	return (s.Replicas != nil && *s.Replicas == 0) || (s.Replicas == nil && s.Weight != nil && *s.Weight == 0)
}
