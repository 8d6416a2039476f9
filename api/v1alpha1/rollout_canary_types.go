package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CanaryStrategy moves traffic to the new version step by step.
//
// +kubebuilder:validation:XValidation:rule="!has(self.canaryService) || !has(self.stableService) || self.canaryService != self.stableService",message="canaryService and stableService must be different Services"
// +kubebuilder:validation:XValidation:rule="!has(self.steps) || self.steps.all(s, !has(s.setWeight) || s.setWeight <= (has(self.trafficRouting) && has(self.trafficRouting.maxTrafficWeight) ? self.trafficRouting.maxTrafficWeight : 100))",message="setWeight must be at most 100, or at most trafficRouting.maxTrafficWeight when that is set",fieldPath=".steps"
type CanaryStrategy struct {
	// CanaryService selects only the new version's pods while a canary runs.
	// +optional
	CanaryService string `json:"canaryService,omitempty"`
	// StableService selects only the stable version's pods.
	// +optional
	StableService string `json:"stableService,omitempty"`
	// Steps run in order; an update without steps goes straight to 100%.
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Steps []CanaryStep `json:"steps,omitempty"`
	// TrafficRouting moves traffic by weight through a router instead of by replica ratio.
	// +optional
	TrafficRouting *RolloutTrafficRouting `json:"trafficRouting,omitempty"`
	// MaxUnavailable is how many pods may be unavailable during the update (basic canary
	// only). Defaults to 25%.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:Pattern=`^[0-9]+%$`
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] || (self >= 0 && self <= 2147483647)",message="maxUnavailable must be a number of pods from 0 to 2147483647 or a percentage like \"25%\""
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge is how many pods may run above the desired count during the update (basic
	// canary only). Defaults to 25%.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:Pattern=`^[0-9]+%$`
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] || (self >= 0 && self <= 2147483647)",message="maxSurge must be a number of pods from 0 to 2147483647 or a percentage like \"25%\""
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`
	// Analysis runs in the background for the whole update.
	// +optional
	Analysis *RolloutAnalysisBackground `json:"analysis,omitempty"`
	// AntiAffinity keeps canary pods off the nodes running the stable version.
	// +optional
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// CanaryMetadata is added to the canary's pods while it is the canary.
	// +optional
	CanaryMetadata *PodTemplateMetadata `json:"canaryMetadata,omitempty"`
	// StableMetadata is added to the stable version's pods.
	// +optional
	StableMetadata *PodTemplateMetadata `json:"stableMetadata,omitempty"`
	// ScaleDownDelaySeconds is how long the old version keeps running after traffic left it
	// (traffic routing only). Defaults to 30.
	// +kubebuilder:validation:Minimum=0
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// ScaleDownDelayRevisionLimit caps how many old ReplicaSets wait out their delay at once.
	// +kubebuilder:validation:Minimum=0
	// +optional
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// AbortScaleDownDelaySeconds is how long the canary keeps running after an abort;
	// 0 keeps it forever. Defaults to 30.
	// +kubebuilder:validation:Minimum=0
	// +optional
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
	// DynamicStableScale scales the stable version down as the canary's weight rises.
	// +optional
	DynamicStableScale bool `json:"dynamicStableScale,omitempty"`
	// PingPong alternates the stable and canary roles between two Services.
	// +optional
	PingPong *PingPongSpec `json:"pingPong,omitempty"`
	// MinPodsPerReplicaSet is the least number of pods each version runs (traffic routing
	// only), for availability at low weights.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinPodsPerReplicaSet *int32 `json:"minPodsPerReplicaSet,omitempty"`
	// ReplicaProgressThreshold lets a step complete once this share of the canary's pods is
	// available instead of all of them.
	// +optional
	ReplicaProgressThreshold *ReplicaProgressThreshold `json:"replicaProgressThreshold,omitempty"`
}

// PingPongSpec names the two Services that take turns being stable and canary.
type PingPongSpec struct {
	// +kubebuilder:validation:MinLength=1
	PingService string `json:"pingService"`
	// +kubebuilder:validation:MinLength=1
	PongService string `json:"pongService"`
}

// ReplicaProgressThreshold is a share of pods, as a percentage or a count.
type ReplicaProgressThreshold struct {
	// +kubebuilder:validation:Enum=Percent;Pods
	Type string `json:"type"`
	// +kubebuilder:validation:Minimum=0
	Value int32 `json:"value"`
}

// CanaryStep is one step of a canary; it sets exactly one action.
//
// +kubebuilder:validation:XValidation:rule="[has(self.setWeight), has(self.pause), has(self.experiment), has(self.analysis), has(self.setCanaryScale), has(self.setHeaderRoute), has(self.setMirrorRoute), has(self.plugin)].filter(x, x).size() == 1",message="each step must set exactly one of setWeight, pause, experiment, analysis, setCanaryScale, setHeaderRoute, setMirrorRoute or plugin; split combined actions into separate steps"
type CanaryStep struct {
	// SetWeight sends this share of traffic to the canary: a percentage, or a share of
	// trafficRouting.maxTrafficWeight when that is set (checked on CanaryStrategy).
	// +kubebuilder:validation:Minimum=0
	// +optional
	SetWeight *int32 `json:"setWeight,omitempty"`
	// Pause waits for a duration, or until promoted when the duration is omitted.
	// +optional
	Pause *RolloutPause `json:"pause,omitempty"`
	// Experiment runs an Experiment and waits for it.
	// +optional
	Experiment *RolloutExperimentStep `json:"experiment,omitempty"`
	// Analysis runs an AnalysisRun and waits for it.
	// +optional
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
	// SetCanaryScale sets the canary's replica count apart from its traffic weight.
	// +optional
	SetCanaryScale *SetCanaryScale `json:"setCanaryScale,omitempty"`
	// SetHeaderRoute sends requests matching headers to the canary.
	// +optional
	SetHeaderRoute *SetHeaderRoute `json:"setHeaderRoute,omitempty"`
	// SetMirrorRoute copies matching requests to the canary.
	// +optional
	SetMirrorRoute *SetMirrorRoute `json:"setMirrorRoute,omitempty"`
	// Plugin runs a step plugin.
	// +optional
	Plugin *PluginStep `json:"plugin,omitempty"`
}

// RolloutPause pauses a canary, for Duration or until promoted.
type RolloutPause struct {
	// Duration is a number of seconds, or a string such as "30", "30s", "5m" or "1h".
	// Omitted, the rollout stays paused until promoted. A number of seconds, whether an
	// integer or a string of digits, is at most 2147483647 (about 68 years): the Go types
	// hold the integer as an int32, and the server must not store what they cannot decode.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^([0-9]+|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$`
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] ? (!self.matches('^[0-9]+$') || (size(self) <= 10 && int(self) <= 2147483647)) : (self >= 0 && self <= 2147483647)",message="pause duration must be a number of seconds from 0 to 2147483647 or a duration such as 30s, 5m or 1h"
	// +optional
	Duration *intstr.IntOrString `json:"duration,omitempty"`
}

// SetCanaryScale sets the canary's size by count, by percentage of spec.replicas, or to match
// the current traffic weight.
//
// +kubebuilder:validation:XValidation:rule="[has(self.replicas), has(self.weight), has(self.matchTrafficWeight) && self.matchTrafficWeight].filter(x, x).size() == 1",message="setCanaryScale must set exactly one of replicas, weight or matchTrafficWeight: true"
type SetCanaryScale struct {
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Weight *int32 `json:"weight,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// +optional
	MatchTrafficWeight bool `json:"matchTrafficWeight,omitempty"`
}

// SetHeaderRoute routes requests whose headers match to the canary, under a managed route
// named in trafficRouting.managedRoutes. Without Match the route is removed.
type SetHeaderRoute struct {
	// Name is one of trafficRouting.managedRoutes.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Match lists header conditions; all must hold.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Match []HeaderRoutingMatch `json:"match,omitempty"`
}

// HeaderRoutingMatch is one header condition.
type HeaderRoutingMatch struct {
	// +kubebuilder:validation:MinLength=1
	HeaderName string `json:"headerName"`
	// HeaderValue matches the header's value.
	HeaderValue *StringMatch `json:"headerValue"`
}

// StringMatch matches a string exactly, by prefix, or by regular expression; set exactly one.
//
// +kubebuilder:validation:XValidation:rule="[has(self.exact), has(self.prefix), has(self.regex)].filter(x, x).size() == 1",message="set exactly one of exact, prefix or regex"
type StringMatch struct {
	// +optional
	Exact string `json:"exact,omitempty"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	Regex string `json:"regex,omitempty"`
}

// SetMirrorRoute copies matching requests to the canary without using its responses,
// under a managed route named in trafficRouting.managedRoutes. Without Match it is removed.
type SetMirrorRoute struct {
	// Name is one of trafficRouting.managedRoutes.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Match blocks are ORed; the conditions inside one block are ANDed.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Match []RouteMatch `json:"match,omitempty"`
	// Percentage of matching requests to mirror, 0–100. Defaults to 100.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Percentage *int32 `json:"percentage,omitempty"`
}

// RouteMatch is one block of request conditions for a mirror route.
type RouteMatch struct {
	// +optional
	Method *StringMatch `json:"method,omitempty"`
	// +optional
	Path *StringMatch `json:"path,omitempty"`
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	Headers map[string]StringMatch `json:"headers,omitempty"`
}

// PluginStep runs a step plugin registered under stepPlugins in the argo-rollouts-config ConfigMap.
type PluginStep struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Config is passed to the plugin as is.
	// +optional
	Config *apiextensionsv1.JSON `json:"config,omitempty"`
}

// RolloutTrafficRouting configures how traffic is split between stable and canary.
// Aviary routes through the Gateway API (the argoproj-labs/gatewayAPI plugin configuration);
// the other routers are accepted so existing manifests load, and reported as unsupported.
type RolloutTrafficRouting struct {
	// +optional
	Istio *apiextensionsv1.JSON `json:"istio,omitempty"`
	// +optional
	Nginx *apiextensionsv1.JSON `json:"nginx,omitempty"`
	// +optional
	ALB *apiextensionsv1.JSON `json:"alb,omitempty"`
	// +optional
	SMI *apiextensionsv1.JSON `json:"smi,omitempty"`
	// +optional
	Ambassador *apiextensionsv1.JSON `json:"ambassador,omitempty"`
	// +optional
	AppMesh *apiextensionsv1.JSON `json:"appMesh,omitempty"`
	// +optional
	Traefik *apiextensionsv1.JSON `json:"traefik,omitempty"`
	// +optional
	Apisix *apiextensionsv1.JSON `json:"apisix,omitempty"`
	// ManagedRoutes lists the header and mirror routes steps may create; the order is their
	// precedence. All are removed when the rollout completes or aborts. Steps name a route,
	// so the names are unique.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(x, self.exists_one(y, y.name == x.name))",message="managedRoutes names must be unique: setHeaderRoute and setMirrorRoute steps refer to a route by its name; rename or remove the duplicate"
	// +optional
	ManagedRoutes []ManagedRoute `json:"managedRoutes,omitempty"`
	// Plugins holds traffic-router plugin configuration by plugin name, e.g.
	// "argoproj-labs/gatewayAPI".
	// +optional
	Plugins map[string]apiextensionsv1.JSON `json:"plugins,omitempty"`
	// MaxTrafficWeight is the total weight that 100% corresponds to. Defaults to 100.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxTrafficWeight *int32 `json:"maxTrafficWeight,omitempty"`
}

// ManagedRoute names a route that setHeaderRoute or setMirrorRoute steps manage.
type ManagedRoute struct {
	// Name names a route rule, as a Gateway API SectionName does: at most 253 characters.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}
