package gatewayapi

// The Rollout reconciler reads, watches and edits the routes a Rollout's trafficRouting names,
// and lists them to find routes by label selector.
//
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes;tcproutes;tlsroutes,verbs=get;list;watch;update;patch
