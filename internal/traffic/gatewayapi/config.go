// Package gatewayapi routes a canary's traffic through Gateway API routes (HTTPRoute,
// GRPCRoute, TCPRoute, TLSRoute). It reads the configuration Argo Rollouts users already write
// for the argoproj-labs/gatewayAPI plugin, and edits routes with pure functions: (route,
// desired routing state) -> route. The reconciler does the reading and writing.
package gatewayapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group is the Gateway API group.
const Group = "gateway.networking.k8s.io"

// Route kinds Aviary edits.
const (
	KindHTTPRoute = "HTTPRoute"
	KindGRPCRoute = "GRPCRoute"
	KindTCPRoute  = "TCPRoute"
	KindTLSRoute  = "TLSRoute"
)

// Kinds lists the route kinds in the order routes are processed.
var Kinds = []string{KindHTTPRoute, KindGRPCRoute, KindTCPRoute, KindTLSRoute}

// GroupKind is a route kind's GroupKind.
func GroupKind(kind string) schema.GroupKind { return schema.GroupKind{Group: Group, Kind: kind} }

// Default in-progress label, as the Argo plugin sets it, so GitOps tools configured to ignore
// routes carrying it keep working.
const (
	DefaultInProgressLabelKey   = "rollouts.argoproj.io/gatewayapi-canary"
	DefaultInProgressLabelValue = "in-progress"
)

// Config is the plugin configuration under trafficRouting.plugins["argoproj-labs/gatewayAPI"].
type Config struct {
	HTTPRoute         string                `json:"httpRoute,omitempty"`
	HTTPRoutes        []RouteConfig         `json:"httpRoutes,omitempty"`
	HTTPRouteSelector *metav1.LabelSelector `json:"httpRouteSelector,omitempty"`
	GRPCRoute         string                `json:"grpcRoute,omitempty"`
	GRPCRoutes        []RouteConfig         `json:"grpcRoutes,omitempty"`
	GRPCRouteSelector *metav1.LabelSelector `json:"grpcRouteSelector,omitempty"`
	TCPRoute          string                `json:"tcpRoute,omitempty"`
	TCPRoutes         []RouteConfig         `json:"tcpRoutes,omitempty"`
	TCPRouteSelector  *metav1.LabelSelector `json:"tcpRouteSelector,omitempty"`
	TLSRoute          string                `json:"tlsRoute,omitempty"`
	TLSRoutes         []RouteConfig         `json:"tlsRoutes,omitempty"`
	TLSRouteSelector  *metav1.LabelSelector `json:"tlsRouteSelector,omitempty"`
	// Namespace holds every route; it defaults to the Rollout's namespace.
	Namespace              string `json:"namespace,omitempty"`
	DisableInProgressLabel bool   `json:"disableInProgressLabel,omitempty"`
	InProgressLabelKey     string `json:"inProgressLabelKey,omitempty"`
	InProgressLabelValue   string `json:"inProgressLabelValue,omitempty"`
	// ConfigMap named the state ConfigMap of plugin versions before 0.15; accepted and ignored
	// so that older manifests keep loading.
	ConfigMap string `json:"configMap,omitempty"`
}

// RouteConfig names one route.
type RouteConfig struct {
	Name string `json:"name"`
	// UseHeaderRoutes lets setHeaderRoute and setMirrorRoute steps add rules to this route.
	UseHeaderRoutes bool `json:"useHeaderRoutes,omitempty"`
}

// RouteRef is a route named by the configuration, with its kind.
type RouteRef struct {
	Kind            string
	Name            string
	UseHeaderRoutes bool
}

// RouteSelector finds routes of a kind by label.
type RouteSelector struct {
	Kind     string
	Selector *metav1.LabelSelector
}

// ParseConfig reads the plugin configuration. Unknown keys are refused with the list of known
// ones, so a typo never silently leaves a route unmanaged.
func ParseConfig(raw []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	c := &Config{}
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("reading the %q configuration: %w (known keys: httpRoute(s), grpcRoute(s), tcpRoute(s), tlsRoute(s), *RouteSelector, namespace, disableInProgressLabel, inProgressLabelKey, inProgressLabelValue)", PluginName, err)
	}
	if len(c.Refs()) == 0 && len(c.Selectors()) == 0 {
		return nil, fmt.Errorf("the %q configuration names no route: set httpRoute, httpRoutes, grpcRoutes, tcpRoutes, tlsRoutes or a *RouteSelector", PluginName)
	}
	for _, ref := range c.Refs() {
		if strings.TrimSpace(ref.Name) == "" {
			return nil, fmt.Errorf("the %q configuration lists a %s without a name", PluginName, ref.Kind)
		}
		if ref.UseHeaderRoutes && (ref.Kind == KindTCPRoute || ref.Kind == KindTLSRoute) {
			return nil, fmt.Errorf("%s %q: useHeaderRoutes is only possible on HTTPRoutes and GRPCRoutes", ref.Kind, ref.Name)
		}
	}
	for _, s := range c.Selectors() {
		if _, err := metav1.LabelSelectorAsSelector(s.Selector); err != nil {
			return nil, fmt.Errorf("the %q configuration has an invalid %s selector: %w", PluginName, s.Kind, err)
		}
	}
	return c, nil
}

// PluginName is the trafficRouting.plugins key of the Argo Rollouts Gateway API plugin, whose
// configuration Aviary implements natively. It is the one spelling of the key: the validator,
// the reconciler and the metrics all read it from here.
const PluginName = "argoproj-labs/gatewayAPI"

// Refs lists the routes named explicitly. A route named in the single form (httpRoute,
// grpcRoute) takes header routes, as it is the only route of its kind.
func (c *Config) Refs() []RouteRef {
	var out []RouteRef
	add := func(kind, single string, many []RouteConfig) {
		if single != "" {
			out = append(out, RouteRef{Kind: kind, Name: single, UseHeaderRoutes: kind == KindHTTPRoute || kind == KindGRPCRoute})
		}
		for _, r := range many {
			out = append(out, RouteRef{Kind: kind, Name: r.Name, UseHeaderRoutes: r.UseHeaderRoutes})
		}
	}
	add(KindHTTPRoute, c.HTTPRoute, c.HTTPRoutes)
	add(KindGRPCRoute, c.GRPCRoute, c.GRPCRoutes)
	add(KindTCPRoute, c.TCPRoute, c.TCPRoutes)
	add(KindTLSRoute, c.TLSRoute, c.TLSRoutes)
	return out
}

// Selectors lists the label selectors that find routes.
func (c *Config) Selectors() []RouteSelector {
	var out []RouteSelector
	for _, s := range []RouteSelector{
		{KindHTTPRoute, c.HTTPRouteSelector}, {KindGRPCRoute, c.GRPCRouteSelector},
		{KindTCPRoute, c.TCPRouteSelector}, {KindTLSRoute, c.TLSRouteSelector},
	} {
		if s.Selector != nil {
			out = append(out, s)
		}
	}
	return out
}

// Kinds lists the route kinds the configuration uses.
func (c *Config) Kinds() []string {
	seen := map[string]bool{}
	for _, r := range c.Refs() {
		seen[r.Kind] = true
	}
	for _, s := range c.Selectors() {
		seen[s.Kind] = true
	}
	var out []string
	for _, k := range Kinds {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out
}

// HeaderRoutesPossible reports whether some route takes header and mirror rules.
func (c *Config) HeaderRoutesPossible() bool {
	for _, r := range c.Refs() {
		if r.UseHeaderRoutes {
			return true
		}
	}
	return c.HTTPRouteSelector != nil || c.GRPCRouteSelector != nil
}

// RouteNamespace is where the routes live.
func (c *Config) RouteNamespace(rolloutNamespace string) string {
	if c.Namespace != "" {
		return c.Namespace
	}
	return rolloutNamespace
}

// InProgressLabel is the label set on routes while a canary runs; ok is false when disabled.
func (c *Config) InProgressLabel() (key, value string, ok bool) {
	if c.DisableInProgressLabel {
		return "", "", false
	}
	key, value = c.InProgressLabelKey, c.InProgressLabelValue
	if key == "" {
		key = DefaultInProgressLabelKey
	}
	if value == "" {
		value = DefaultInProgressLabelValue
	}
	return key, value, true
}
