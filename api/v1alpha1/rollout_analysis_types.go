package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RolloutAnalysis is an analysis a Rollout runs: as a step, in the background, or around a
// blue-green promotion.
type RolloutAnalysis struct {
	// Templates are merged into one AnalysisRun.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:Required
	Templates []AnalysisTemplateRef `json:"templates,omitempty"`
	// Args fill the templates' args.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Args []AnalysisRunArgument `json:"args,omitempty"`
	// DryRun lists metrics whose failures are only recorded.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty"`
	// MeasurementRetention overrides how many measurements are kept per metric.
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	// AnalysisRunMetadata is added to the AnalysisRuns created.
	// +optional
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
}

// RolloutAnalysisBackground is an analysis that runs for the whole canary, from StartingStep on.
type RolloutAnalysisBackground struct {
	RolloutAnalysis `json:",inline"`
	// StartingStep is the step index at which the analysis starts. Defaults to 0.
	// +kubebuilder:validation:Minimum=0
	// +optional
	StartingStep *int32 `json:"startingStep,omitempty"`
}

// AnalysisRunArgument is an argument a Rollout passes to its analysis templates.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.value) && has(self.valueFrom))",message="set either value or valueFrom, not both"
type AnalysisRunArgument struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +optional
	Value string `json:"value,omitempty"`
	// +optional
	ValueFrom *ArgumentValueFrom `json:"valueFrom,omitempty"`
}

// ArgumentValueFrom takes an argument's value from the Rollout itself.
//
// +kubebuilder:validation:XValidation:rule="has(self.podTemplateHashValue) != has(self.fieldRef)",message="set exactly one of podTemplateHashValue or fieldRef"
type ArgumentValueFrom struct {
	// PodTemplateHashValue is the pod-template hash of the Stable or Latest version.
	// +optional
	PodTemplateHashValue *ValueFromPodTemplateHash `json:"podTemplateHashValue,omitempty"`
	// FieldRef is a field of the Rollout, e.g. "metadata.labels['app']".
	// +optional
	FieldRef *FieldRef `json:"fieldRef,omitempty"`
}

// ValueFromPodTemplateHash names which version's pod-template hash to use.
// +kubebuilder:validation:Enum=Stable;Latest
type ValueFromPodTemplateHash string

const (
	Stable ValueFromPodTemplateHash = "Stable"
	Latest ValueFromPodTemplateHash = "Latest"
)

// RolloutExperimentStep runs an Experiment as a canary step.
type RolloutExperimentStep struct {
	// Templates are the ReplicaSets the experiment runs.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Templates []RolloutExperimentTemplate `json:"templates"`
	// Duration the experiment runs for; omitted, it runs until its analyses finish.
	// +optional
	Duration DurationString `json:"duration,omitempty"`
	// Analyses run against the experiment's ReplicaSets.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Analyses []RolloutExperimentStepAnalysisTemplateRef `json:"analyses,omitempty"`
	// DryRun lists metrics whose failures are only recorded.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty"`
	// AnalysisRunMetadata is added to the AnalysisRuns created.
	// +optional
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
}

// ReplicaSetSpecRef names which version's pod template an experiment template copies.
// +kubebuilder:validation:Enum=stable;canary
type ReplicaSetSpecRef string

const (
	CanarySpecRef ReplicaSetSpecRef = "canary"
	StableSpecRef ReplicaSetSpecRef = "stable"
)

// RolloutExperimentTemplate is one ReplicaSet of an experiment step.
type RolloutExperimentTemplate struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// SpecRef copies the stable or the canary pod template.
	SpecRef ReplicaSetSpecRef `json:"specRef"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// Metadata is added to the template's pods.
	// +optional
	Metadata PodTemplateMetadata `json:"metadata,omitempty"`
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Weight of traffic sent to this template (traffic routing only).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	Weight *int32 `json:"weight,omitempty"`
	// Service, when set, is created for the template's pods.
	// +optional
	Service *TemplateService `json:"service,omitempty"`
}

// RolloutExperimentStepAnalysisTemplateRef is an analysis of an experiment step.
type RolloutExperimentStepAnalysisTemplateRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	TemplateName string `json:"templateName"`
	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Args []AnalysisRunArgument `json:"args,omitempty"`
	// RequiredForCompletion keeps the experiment running until this analysis finishes.
	// +optional
	RequiredForCompletion bool `json:"requiredForCompletion,omitempty"`
}
