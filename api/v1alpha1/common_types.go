package v1alpha1

// DurationString is a Go duration ("30s", "5m", "1h30m") or an argument placeholder such as
// "{{args.interval}}", as Argo Rollouts writes analysis
// intervals, delays and experiment durations.
// +kubebuilder:validation:Pattern=`^((([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+|\{\{[^{}]+\}\})$`
type DurationString string

// FieldRef points at a field of the owning object, e.g. "metadata.labels['app']".
type FieldRef struct {
	// FieldPath is the path of the field to select, e.g. "metadata.name".
	// +kubebuilder:validation:MinLength=1
	FieldPath string `json:"fieldPath"`
}

// DryRun names metrics (a regular expression over metric names; ".*" for all) whose results
// are recorded but never fail the run.
type DryRun struct {
	// +kubebuilder:validation:MinLength=1
	MetricName string `json:"metricName"`
}

// MeasurementRetention overrides how many measurements are kept for the matching metrics
// (a regular expression over metric names). The default is 10.
type MeasurementRetention struct {
	// +kubebuilder:validation:MinLength=1
	MetricName string `json:"metricName"`
	// +kubebuilder:validation:Minimum=0
	Limit int32 `json:"limit"`
}

// AnalysisRunMetadata is extra metadata for the AnalysisRuns a Rollout or Experiment creates.
type AnalysisRunMetadata struct {
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// AnalysisPhase is the phase of an AnalysisRun, a measurement or an Experiment.
// +kubebuilder:validation:Enum=Pending;Running;Successful;Failed;Error;Inconclusive
type AnalysisPhase string

const (
	AnalysisPhasePending      AnalysisPhase = "Pending"
	AnalysisPhaseRunning      AnalysisPhase = "Running"
	AnalysisPhaseSuccessful   AnalysisPhase = "Successful"
	AnalysisPhaseFailed       AnalysisPhase = "Failed"
	AnalysisPhaseError        AnalysisPhase = "Error"
	AnalysisPhaseInconclusive AnalysisPhase = "Inconclusive"
)

// Completed reports whether the phase is final.
func (p AnalysisPhase) Completed() bool {
	switch p {
	case AnalysisPhaseSuccessful, AnalysisPhaseFailed, AnalysisPhaseError, AnalysisPhaseInconclusive:
		return true
	}
	return false
}
