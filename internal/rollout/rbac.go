package rollout

// The permissions the Rollout reconciler needs; `make generate` merges them with those of the
// other reconcilers into config/rbac/role.yaml. Least privilege: no wildcards, and only the
// verbs the code uses. Keep this list in step with the code that needs it.
//
// Rollouts: read and update, status, the scale subresource (HPA), and finalizers, which the
// API server requires to set blockOwnerDeletion on the ReplicaSets and AnalysisRuns a Rollout owns.
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/finalizers,verbs=update
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts/scale,verbs=get;update;patch
//
// Analysis templates are read to build runs; AnalysisRuns and Experiments are created, retired
// and pruned by the Rollout that owns them.
// +kubebuilder:rbac:groups=argoproj.io,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
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
