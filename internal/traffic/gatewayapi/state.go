package gatewayapi

import "github.com/aviary-dev/aviary/api/v1alpha1"

// State is the routing a Rollout wants on its routes at one moment.
type State struct {
	// StableService and CanaryService are the Services whose backendRefs carry the split; a
	// rule is managed for weights when it references both.
	StableService string
	CanaryService string
	// ServiceNamespace is the Rollout's namespace, where both Services live.
	ServiceNamespace string
	// CanaryWeight and StableWeight are backendRef weights (out of maxTrafficWeight).
	CanaryWeight int64
	StableWeight int64
	// ManagedRoutes are trafficRouting.managedRoutes in precedence order; rules named after
	// them belong to the controller and are rebuilt on every edit.
	ManagedRoutes []string
	// HeaderRoutes are the setHeaderRoute steps in force, by managed route name.
	HeaderRoutes map[string]*v1alpha1.SetHeaderRoute
	// MirrorRoutes are the setMirrorRoute steps in force, by managed route name.
	MirrorRoutes map[string]*v1alpha1.SetMirrorRoute
	// Label is set on the route while a canary is in progress and removed otherwise.
	Label InProgressLabel
}

// InProgressLabel is the label that marks routes during a canary.
type InProgressLabel struct {
	Key, Value string
	// Set adds the label; false removes it when it carries Value.
	Set bool
}

// Target is one route to edit: its kind, and whether it takes header and mirror rules.
type Target struct {
	Kind            string
	UseHeaderRoutes bool
}
