package analysis

// The permissions the AnalysisRun reconciler needs (see internal/controller/rbac.go).
//
// The job provider runs one Job per measurement and deletes it on terminate or retention.
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=create;get;list;watch;delete
//
// Arguments may read a Secret key (valueFrom.secretKeyRef); read one at a time, never cached.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
//
// Runs are resolved from (cluster) analysis templates and record Events.
// +kubebuilder:rbac:groups=argoproj.io,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns,verbs=create;get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns/status,verbs=get;update;patch
