package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Experiment runs one or more ReplicaSets side by side for a limited time, usually a
// baseline and a canary, with analyses comparing them. Rollouts create Experiments from
// experiment steps; users may also create them directly.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=exp
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`,description="Experiment status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`,description="Time since resource was created"
type Experiment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ExperimentSpec `json:"spec"`
	// +optional
	Status ExperimentStatus `json:"status,omitempty"`
}

// ExperimentList is a list of Experiments.
//
// +kubebuilder:object:root=true
type ExperimentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Experiment `json:"items"`
}

func init() {
	register(&Experiment{}, &ExperimentList{})
}

// ExperimentSpec is the desired state of an Experiment.
type ExperimentSpec struct {
	// Templates are the ReplicaSets to run; each gets its own pod-template hash.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Templates []TemplateSpec `json:"templates"`

	// Duration is how long the ReplicaSets run once available. Unset, the experiment runs
	// until its required analyses complete or it is terminated.
	// +optional
	Duration DurationString `json:"duration,omitempty"`

	// ProgressDeadlineSeconds is how long a template may take to become available before the
	// experiment fails. Default 600.
	// +kubebuilder:validation:Minimum=0
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// Terminate stops the experiment early: analyses are terminated and ReplicaSets scaled down.
	// +optional
	Terminate bool `json:"terminate,omitempty"`

	// Analyses run while the experiment runs, typically comparing its templates.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Analyses []ExperimentAnalysisTemplateRef `json:"analyses,omitempty"`

	// ScaleDownDelaySeconds keeps the ReplicaSets up this long after the experiment ends, so
	// traffic routed to them can drain. Default 30.
	// +kubebuilder:validation:Minimum=0
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`

	// DryRun lists metrics whose results are recorded but never fail the analyses.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty"`

	// MeasurementRetention overrides how many measurements the analyses keep per metric.
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`

	// AnalysisRunMetadata is added to the AnalysisRuns the experiment creates.
	// +optional
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
}

// TemplateSpec is one ReplicaSet of an experiment.
type TemplateSpec struct {
	// Name identifies the template; it is part of the ReplicaSet's name.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Replicas is the number of pods. Default 1.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// MinReadySeconds is how long a pod must be ready before it counts as available.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// Selector selects the template's pods; it must match the template's labels. The
	// pod-template hash is added to it so templates never select each other's pods.
	Selector *metav1.LabelSelector `json:"selector"`

	// Template is the pod template of the ReplicaSet.
	Template corev1.PodTemplateSpec `json:"template"`

	// Service, when set, gets a Service created for the template's pods, e.g. for weighted
	// traffic to an experiment step.
	// +optional
	Service *TemplateService `json:"service,omitempty"`
}

// TemplateService asks for a Service in front of an experiment template.
type TemplateService struct {
	// Name of the Service. Unset, it is named after the ReplicaSet.
	// +optional
	Name string `json:"name,omitempty"`
}

// ExperimentAnalysisTemplateRef is an analysis an Experiment runs.
type ExperimentAnalysisTemplateRef struct {
	// Name identifies the analysis within the experiment's status.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// TemplateName is the AnalysisTemplate (or with ClusterScope the ClusterAnalysisTemplate).
	// +kubebuilder:validation:MinLength=1
	TemplateName string `json:"templateName"`

	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`

	// Args supply the template's arguments.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Args []Argument `json:"args,omitempty"`

	// RequiredForCompletion makes the experiment wait for this analysis to finish, and
	// without a duration ends the experiment when it does.
	// +optional
	RequiredForCompletion bool `json:"requiredForCompletion,omitempty"`
}

// ExperimentStatus is the observed state of an Experiment.
type ExperimentStatus struct {
	// Phase is the experiment's outcome so far.
	// +optional
	Phase AnalysisPhase `json:"phase,omitempty"`

	// Message explains the phase.
	// +optional
	Message string `json:"message,omitempty"`

	// TemplateStatuses has one entry per template.
	// +optional
	TemplateStatuses []TemplateStatus `json:"templateStatuses,omitempty"`

	// AvailableAt is when all templates became available; Duration counts from here.
	// +optional
	AvailableAt *metav1.Time `json:"availableAt,omitempty"`

	// +optional
	Conditions []ExperimentCondition `json:"conditions,omitempty"`

	// AnalysisRuns has one entry per analysis that has been started.
	// +optional
	AnalysisRuns []ExperimentAnalysisRunStatus `json:"analysisRuns,omitempty"`
}

// TemplateStatusCode is the state of one experiment template.
// +kubebuilder:validation:Enum=Progressing;Running;Successful;Failed;Error
type TemplateStatusCode string

// Template status codes: Progressing until the ReplicaSet is available, Running while the
// experiment runs, then Successful; Failed when the progress deadline is missed; Error when
// the ReplicaSet cannot be managed.
const (
	TemplateStatusProgressing TemplateStatusCode = "Progressing"
	TemplateStatusRunning     TemplateStatusCode = "Running"
	TemplateStatusSuccessful  TemplateStatusCode = "Successful"
	TemplateStatusFailed      TemplateStatusCode = "Failed"
	TemplateStatusError       TemplateStatusCode = "Error"
)

// TemplateStatus is the observed state of one experiment template's ReplicaSet.
type TemplateStatus struct {
	Name              string `json:"name"`
	Replicas          int32  `json:"replicas"`
	UpdatedReplicas   int32  `json:"updatedReplicas"`
	ReadyReplicas     int32  `json:"readyReplicas"`
	AvailableReplicas int32  `json:"availableReplicas"`

	// CollisionCount is bumped when the template's hash collides with an existing
	// ReplicaSet, to derive a new name.
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty"`

	// +optional
	Status TemplateStatusCode `json:"status,omitempty"`

	// +optional
	Message string `json:"message,omitempty"`

	// LastTransitionTime is when Status last changed; the progress deadline counts from here.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`

	// ServiceName is the Service created for the template, if any.
	// +optional
	ServiceName string `json:"serviceName,omitempty"`

	// PodTemplateHash is the hash of the template's ReplicaSet.
	// +optional
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

// ExperimentConditionType is the type of an ExperimentCondition.
type ExperimentConditionType string

// ExperimentConditionInvalidSpec is set while the spec cannot be acted upon (e.g. a missing
// template); it is the condition Argo Rollouts uses for this.
const ExperimentConditionInvalidSpec ExperimentConditionType = "InvalidSpec"

// ExperimentCondition is a condition of an Experiment. It keeps Argo's shape (with
// lastUpdateTime) rather than metav1.Condition, for compatibility.
type ExperimentCondition struct {
	Type               ExperimentConditionType `json:"type"`
	Status             corev1.ConditionStatus  `json:"status"`
	LastUpdateTime     metav1.Time             `json:"lastUpdateTime"`
	LastTransitionTime metav1.Time             `json:"lastTransitionTime"`
	Reason             string                  `json:"reason"`
	Message            string                  `json:"message"`
}

// ExperimentAnalysisRunStatus links an experiment analysis to its AnalysisRun.
type ExperimentAnalysisRunStatus struct {
	// Name is the analysis's name in the experiment spec.
	Name string `json:"name"`
	// AnalysisRun is the name of the AnalysisRun.
	AnalysisRun string `json:"analysisRun"`
	// Phase mirrors the AnalysisRun's phase.
	Phase AnalysisPhase `json:"phase"`
	// +optional
	Message string `json:"message,omitempty"`
}
