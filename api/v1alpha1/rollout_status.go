package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RolloutStatus is what the controller observed and decided, in the shape Argo Rollouts
// writes: Argo CD's health check, dashboards and scripts read these fields.
type RolloutStatus struct {
	// Abort is set to abort the update: traffic and scale go back to the stable version.
	// +optional
	Abort bool `json:"abort,omitempty"`
	// PauseConditions are the reasons the controller paused the rollout.
	// +optional
	PauseConditions []PauseCondition `json:"pauseConditions,omitempty"`
	// ControllerPause is true while the controller holds the rollout paused.
	// +optional
	ControllerPause bool `json:"controllerPause,omitempty"`
	// AbortedAt is when the update was aborted.
	// +optional
	AbortedAt *metav1.Time `json:"abortedAt,omitempty"`
	// CurrentPodHash is the pod-template hash of the newest version.
	// +optional
	CurrentPodHash string `json:"currentPodHash,omitempty"`
	// CurrentStepHash is a hash of the canary steps; a change of steps restarts them.
	// +optional
	CurrentStepHash string `json:"currentStepHash,omitempty"`
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// CurrentStepIndex is the index of the canary step in progress.
	// +optional
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`
	// CollisionCount disambiguates pod-template hashes that collide.
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty"`
	// ObservedGeneration is the spec generation this status describes. It is a string, as
	// Argo Rollouts writes it.
	// +optional
	ObservedGeneration string `json:"observedGeneration,omitempty"`
	// Conditions are the latest observations of the rollout's state.
	// +optional
	Conditions []RolloutCondition `json:"conditions,omitempty"`
	// Canary is the canary strategy's state.
	// +optional
	Canary CanaryStatus `json:"canary,omitempty"`
	// BlueGreen is the blue-green strategy's state.
	// +optional
	BlueGreen BlueGreenStatus `json:"blueGreen,omitempty"`
	// HPAReplicas is the number of pods targeted by the selector; the scale subresource reads it.
	// +optional
	HPAReplicas int32 `json:"HPAReplicas,omitempty"`
	// Selector is the label selector of the pods, in string form, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
	// StableRS is the pod-template hash of the stable version.
	// +optional
	StableRS string `json:"stableRS,omitempty"`
	// RestartedAt is when the last restart finished.
	// +optional
	RestartedAt *metav1.Time `json:"restartedAt,omitempty"`
	// PromoteFull skips the remaining steps, analyses and pauses.
	// +optional
	PromoteFull bool `json:"promoteFull,omitempty"`
	// Phase sums the rollout up: Healthy, Progressing, Paused or Degraded.
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`
	// Message says why the rollout is in its phase.
	// +optional
	Message string `json:"message,omitempty"`
	// WorkloadObservedGeneration is the generation of the workloadRef target last observed.
	// +optional
	WorkloadObservedGeneration string `json:"workloadObservedGeneration,omitempty"`
}

// RolloutPhase sums up a rollout's state.
type RolloutPhase string

const (
	RolloutPhaseHealthy     RolloutPhase = "Healthy"
	RolloutPhaseProgressing RolloutPhase = "Progressing"
	RolloutPhasePaused      RolloutPhase = "Paused"
	RolloutPhaseDegraded    RolloutPhase = "Degraded"
)

// PauseReason says why the controller paused a rollout.
type PauseReason string

const (
	PauseReasonInconclusiveAnalysis   PauseReason = "InconclusiveAnalysisRun"
	PauseReasonInconclusiveExperiment PauseReason = "InconclusiveExperiment"
	PauseReasonCanaryPauseStep        PauseReason = "CanaryPauseStep"
	PauseReasonBlueGreenPause         PauseReason = "BlueGreenPause"
)

// PauseCondition is one reason a rollout is paused, and since when.
type PauseCondition struct {
	Reason    PauseReason `json:"reason"`
	StartTime metav1.Time `json:"startTime"`
}

// RolloutConditionType names a rollout condition.
type RolloutConditionType string

const (
	InvalidSpec           RolloutConditionType = "InvalidSpec"
	RolloutAvailable      RolloutConditionType = "Available"
	RolloutProgressing    RolloutConditionType = "Progressing"
	RolloutReplicaFailure RolloutConditionType = "ReplicaFailure"
	RolloutPaused         RolloutConditionType = "Paused"
	RolloutCompleted      RolloutConditionType = "Completed"
	RolloutHealthy        RolloutConditionType = "Healthy"
)

// RolloutCondition is Argo's condition shape (with lastUpdateTime), kept because tools that
// read Argo Rollouts' status expect it.
type RolloutCondition struct {
	Type   RolloutConditionType   `json:"type"`
	Status corev1.ConditionStatus `json:"status"`
	// LastUpdateTime is when the condition was last written.
	LastUpdateTime metav1.Time `json:"lastUpdateTime"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime metav1.Time `json:"lastTransitionTime"`
	// Reason is a CamelCase word for the condition's cause.
	Reason string `json:"reason"`
	// Message explains the condition to a person.
	Message string `json:"message"`
}

// CanaryStatus is the canary strategy's state.
type CanaryStatus struct {
	// +optional
	CurrentStepAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentStepAnalysisRunStatus,omitempty"`
	// +optional
	CurrentBackgroundAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentBackgroundAnalysisRunStatus,omitempty"`
	// CurrentExperiment is the name of the experiment of the current step.
	// +optional
	CurrentExperiment string `json:"currentExperiment,omitempty"`
	// Weights is the traffic split last set on the routers.
	// +optional
	Weights *TrafficWeights `json:"weights,omitempty"`
	// StablePingPong says which of the ping and pong Services is stable.
	// +kubebuilder:validation:Enum=ping;pong
	// +optional
	StablePingPong PingPongType `json:"stablePingPong,omitempty"`
	// StepPluginStatuses are the states of the plugin steps run so far.
	// +optional
	StepPluginStatuses []StepPluginStatus `json:"stepPluginStatuses,omitempty"`
}

// PingPongType names one of the two ping-pong Services.
type PingPongType string

const (
	PPPing PingPongType = "ping"
	PPPong PingPongType = "pong"
)

// RolloutAnalysisRunStatus is the state of an AnalysisRun a rollout is waiting on.
type RolloutAnalysisRunStatus struct {
	Name   string        `json:"name"`
	Status AnalysisPhase `json:"status"`
	// +optional
	Message string `json:"message,omitempty"`
}

// TrafficWeights is the traffic split between stable, canary and experiment destinations.
type TrafficWeights struct {
	Canary WeightDestination `json:"canary"`
	Stable WeightDestination `json:"stable"`
	// +optional
	Additional []WeightDestination `json:"additional,omitempty"`
	// Verified is true once every router confirmed the weights; nil when not checked.
	// +optional
	Verified *bool `json:"verified,omitempty"`
}

// WeightDestination is a share of traffic sent to a Service and version.
type WeightDestination struct {
	Weight int32 `json:"weight"`
	// +optional
	ServiceName string `json:"serviceName,omitempty"`
	// +optional
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

// StepPluginStatus is the state of one run of a step plugin.
type StepPluginStatus struct {
	Index int32  `json:"index"`
	Name  string `json:"name"`
	// +kubebuilder:validation:Enum=Run;Terminate;Abort
	Operation string `json:"operation"`
	// +kubebuilder:validation:Enum=Running;Successful;Failed;Error
	// +optional
	Phase string `json:"phase,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	UpdatedAt *metav1.Time `json:"updatedAt,omitempty"`
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// Backoff is how long to wait before running the plugin again, as a Go duration.
	// +optional
	Backoff DurationString `json:"backoff,omitempty"`
	// +optional
	Executions int32 `json:"executions,omitempty"`
	// +optional
	Disabled bool `json:"disabled,omitempty"`
	// Status is the plugin's own state, passed back to it on the next call.
	// +optional
	Status *apiextensionsv1.JSON `json:"status,omitempty"`
}

// BlueGreenStatus is the blue-green strategy's state.
type BlueGreenStatus struct {
	// PreviewSelector is the pod-template hash the preview Service selects.
	// +optional
	PreviewSelector string `json:"previewSelector,omitempty"`
	// ActiveSelector is the pod-template hash the active Service selects.
	// +optional
	ActiveSelector string `json:"activeSelector,omitempty"`
	// ScaleUpPreviewCheckPoint records that the preview was scaled up to full size.
	// +optional
	ScaleUpPreviewCheckPoint bool `json:"scaleUpPreviewCheckPoint,omitempty"`
	// +optional
	PrePromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"prePromotionAnalysisRunStatus,omitempty"`
	// +optional
	PostPromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"postPromotionAnalysisRunStatus,omitempty"`
}
