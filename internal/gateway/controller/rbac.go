package controller

// RBAC of `aviary gateway`: it reads the Gateway API objects, Services, EndpointSlices,
// Namespaces and Secrets (HTTPS certificates), and writes Gateway API status. RBAC cannot narrow
// Secrets by type; the gateway's cache lists and watches kubernetes.io/tls ones only
// (cacheOptions). It reads no Pods: endpoints come from EndpointSlices.
//
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gatewayclasses;gateways;httproutes;referencegrants,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gatewayclasses/status;gateways/status;httproutes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=services;namespaces;secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
