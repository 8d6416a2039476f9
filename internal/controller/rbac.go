package controller

// The permissions of the controller's ServiceAccount. `make generate` turns these markers into
// config/rbac/role.yaml: a ClusterRole aviary-controller, and a Role aviary-controller in
// aviary-system for the leader election Lease. Least privilege: no wildcards, and only the
// verbs the controllers use. Keep this list in step with the code that needs it.
//
// Rollouts: read and update, status, the scale subresource (HPA), and finalizers, which the
// API server requires to set blockOwnerDeletion on the ReplicaSets and AnalysisRuns a Rollout owns.
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/finalizers,verbs=update
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/scale,verbs=get;update;patch
//
// Analysis templates are only read.
// +kubebuilder:rbac:groups=argoproj.io,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
//
// AnalysisRuns and Experiments are created and run by the controller, which writes their
// status (a subresource) and owns their Jobs and ReplicaSets.
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns;experiments,verbs=create;get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns/status;experiments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns/finalizers;experiments/finalizers,verbs=update
//
// ReplicaSets are the Rollout's revisions; Deployments are scaled down for workloadRef.
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=create;get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;update;patch
//
// Pods: restart (delete) and in-place relabelling of ephemeral metadata (update, patch).
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;update;patch;delete
//
// Services: stable/canary/active/preview selectors.
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;update;patch
//
// Secrets: read for analysis arguments (valueFrom.secretKeyRef).
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
//
// Events, through the events.k8s.io API and the core API (leader election).
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
//
// Job metric provider.
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=create;get;list;watch;delete
//
// Gateway API traffic routing.
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes;tcproutes;tlsroutes,verbs=get;list;watch;update;patch
//
// Leader election, only in the namespace config/default installs to. With
// --leader-election-namespace elsewhere, grant this Role in that namespace too.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch,namespace=aviary-system
