package controller

// The permissions the manager itself needs. Each reconciler keeps its own markers beside it
// (internal/rollout, internal/analysis, internal/traffic/gatewayapi); `make generate` merges
// them all into config/rbac/role.yaml: a ClusterRole aviary-controller, and a Role
// aviary-controller in aviary-system for the leader election Lease.
//
// Events, through the events.k8s.io API and the core API (leader election).
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
//
// Leader election, only in the namespace config/default installs to. With
// --leader-election-namespace elsewhere, grant this Role in that namespace too.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch,namespace=aviary-system
