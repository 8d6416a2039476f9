package v1alpha1

import (
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// AnalysisTemplate describes how to judge a version: which metrics to measure, how often, and
// what counts as success. Rollouts and Experiments instantiate it as an AnalysisRun in their
// own namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=at
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`,description="Time since resource was created"
type AnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// AnalysisTemplateList is a list of AnalysisTemplates.
//
// +kubebuilder:object:root=true
type AnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisTemplate `json:"items"`
}

// ClusterAnalysisTemplate is an AnalysisTemplate that Rollouts in every namespace can use, so
// that a platform team can publish one set of health checks for the whole cluster.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cat
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`,description="Time since resource was created"
type ClusterAnalysisTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisTemplateSpec `json:"spec"`
}

// ClusterAnalysisTemplateList is a list of ClusterAnalysisTemplates.
//
// +kubebuilder:object:root=true
type ClusterAnalysisTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterAnalysisTemplate `json:"items"`
}

// AnalysisRun is one execution of the metrics of one or more templates, with the arguments
// resolved. Like a Job it runs to completion; its phase decides whether a Rollout continues
// (Successful), pauses (Inconclusive) or aborts (Failed, Error).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ar
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`,description="AnalysisRun status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`,description="Time since resource was created"
type AnalysisRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AnalysisRunSpec `json:"spec"`
	// +optional
	Status AnalysisRunStatus `json:"status,omitempty"`
}

// AnalysisRunList is a list of AnalysisRuns.
//
// +kubebuilder:object:root=true
type AnalysisRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AnalysisRun `json:"items"`
}

func init() {
	register(
		&AnalysisTemplate{}, &AnalysisTemplateList{},
		&ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{},
		&AnalysisRun{}, &AnalysisRunList{},
	)
}

// AnalysisTemplateSpec is shared by AnalysisTemplate and ClusterAnalysisTemplate.
//
// +kubebuilder:validation:XValidation:rule="(has(self.metrics) && size(self.metrics) > 0) || (has(self.templates) && size(self.templates) > 0)",message="an analysis template needs at least one metric or one referenced template; add spec.metrics or spec.templates"
type AnalysisTemplateSpec struct {
	// Metrics are measured independently; the run's phase is the worst of their phases.
	// Optional because a template may consist only of references to other templates.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Metrics []Metric `json:"metrics,omitempty"`

	// Args are the parameters the metrics use as "{{args.<name>}}". An arg without a value
	// must be supplied by the Rollout or Experiment that uses the template.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Args []Argument `json:"args,omitempty"`

	// DryRun lists metrics whose results are recorded but never fail the run.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty"`

	// MeasurementRetention overrides how many measurements are kept per metric (default 10).
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`

	// Templates are other templates whose metrics and args are merged into this one, so that
	// common checks can be composed instead of copied.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Templates []AnalysisTemplateRef `json:"templates,omitempty"`
}

// AnalysisTemplateRef names an AnalysisTemplate, or with ClusterScope a ClusterAnalysisTemplate.
// Rollouts use it as well as templates.
type AnalysisTemplateRef struct {
	// TemplateName is the name of the template.
	// +kubebuilder:validation:MinLength=1
	TemplateName string `json:"templateName"`

	// ClusterScope selects a ClusterAnalysisTemplate instead of a namespaced AnalysisTemplate.
	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`
}

// AnalysisRunSpec is the resolved analysis to execute.
type AnalysisRunSpec struct {
	// Metrics are measured independently; the run's phase is the worst of their phases.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Metrics []Metric `json:"metrics"`

	// Args are the resolved arguments of the templates this run was created from.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Args []Argument `json:"args,omitempty"`

	// Terminate stops the run early, e.g. when the rollout that started it has finished.
	// Metrics still running are marked Successful rather than failing the run.
	// +optional
	Terminate bool `json:"terminate,omitempty"`

	// DryRun lists metrics whose results are recorded but never fail the run.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty"`

	// MeasurementRetention overrides how many measurements are kept per metric (default 10).
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`

	// TTLStrategy deletes the run some time after it completes. Unset, the run lives until its
	// owner's history limits garbage-collect it.
	// +optional
	TTLStrategy *TTLStrategy `json:"ttlStrategy,omitempty"`
}

// TTLStrategy says how long a completed AnalysisRun is kept. SecondsAfterCompletion applies
// to every outcome; the other two, when set, take precedence for their outcome.
type TTLStrategy struct {
	// +kubebuilder:validation:Minimum=0
	// +optional
	SecondsAfterCompletion *int32 `json:"secondsAfterCompletion,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	SecondsAfterSuccess *int32 `json:"secondsAfterSuccess,omitempty"`
	// +kubebuilder:validation:Minimum=0
	// +optional
	SecondsAfterFailure *int32 `json:"secondsAfterFailure,omitempty"`
}

// Argument is a template parameter. Without value or valueFrom it has no default and the
// user of the template must supply it.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.value) && has(self.valueFrom))",message="an argument takes either value or valueFrom, not both; remove one of them"
type Argument struct {
	// Name is referenced in metrics as "{{args.<name>}}".
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Value is a pointer so that an explicit empty string can be told apart from "no default".
	// +optional
	Value *string `json:"value,omitempty"`

	// ValueFrom reads the value from a Secret or from a field of the owning object.
	// +optional
	ValueFrom *ValueFrom `json:"valueFrom,omitempty"`
}

// ValueFrom is where an argument's value comes from.
//
// +kubebuilder:validation:XValidation:rule="has(self.secretKeyRef) != has(self.fieldRef)",message="valueFrom must set exactly one of secretKeyRef or fieldRef"
type ValueFrom struct {
	// SecretKeyRef reads a key of a Secret in the run's namespace. Values read from Secrets are
	// masked in the run's status and events.
	// +optional
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`

	// FieldRef reads a field of the object that owns the run, e.g. "metadata.labels['app']".
	// +optional
	FieldRef *FieldRef `json:"fieldRef,omitempty"`
}

// SecretKeyRef selects a key of a Secret in the same namespace.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// Metric is one measurement repeated over time, and the rules that turn its measurements into
// a phase.
//
// The int-or-string fields accept strings so that templates can write "{{args.count}}"; once
// arguments are resolved the string must hold an integer. Their CEL rules test the type with
// `type(x) in [string]` rather than `type(x) == string`: the API server estimates the latter's
// cost from the (unbounded) string length and rejects the CRD, while both behave the same.
//
// +kubebuilder:validation:XValidation:rule="!has(self.count) || type(self.count) in [string] || self.count <= 1 || has(self.interval)",message="a count greater than 1 needs an interval between measurements; set interval (e.g. \"1m\") or lower count to 1"
type Metric struct {
	// Name identifies the metric in the run's status; unique within the run.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Interval is the time between measurements. Without it one measurement is taken.
	// +optional
	Interval DurationString `json:"interval,omitempty"`

	// InitialDelay postpones the first measurement, e.g. to let the canary warm up.
	// +optional
	InitialDelay DurationString `json:"initialDelay,omitempty"`

	// Count is the number of measurements. Unset (or 0) it is 1 without an interval and
	// unbounded with one; an unbounded metric runs until the run is terminated.
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] || (self >= 0 && self <= 2147483647)",message="count must be a number of measurements from 0 to 2147483647 or an argument placeholder such as \"{{args.count}}\""
	// +optional
	Count *intstr.IntOrString `json:"count,omitempty"`

	// SuccessCondition is an expr-lang expression over `result`, e.g. "result[0] >= 0.95".
	// +optional
	SuccessCondition string `json:"successCondition,omitempty"`

	// FailureCondition is an expr-lang expression over `result`. A measurement matching
	// neither condition is Inconclusive.
	// +optional
	FailureCondition string `json:"failureCondition,omitempty"`

	// FailureLimit is how many failed measurements are tolerated before the metric fails.
	// Default 0 (the first failure fails it); -1 never fails the metric on failures.
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] || (self >= -1 && self <= 2147483647)",message="failureLimit must be -1 (never fail) or from 0 to 2147483647, or an argument placeholder such as \"{{args.failure-limit}}\""
	// +optional
	FailureLimit *intstr.IntOrString `json:"failureLimit,omitempty"`

	// InconclusiveLimit is how many inconclusive measurements are tolerated before the metric
	// becomes Inconclusive. Default 0.
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] || (self >= 0 && self <= 2147483647)",message="inconclusiveLimit must be from 0 to 2147483647, or an argument placeholder such as \"{{args.inconclusive-limit}}\""
	// +optional
	InconclusiveLimit *intstr.IntOrString `json:"inconclusiveLimit,omitempty"`

	// ConsecutiveErrorLimit is how many measurement errors in a row (e.g. the metrics backend
	// is unreachable) are tolerated before the metric becomes Error. Default 4.
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] || (self >= 0 && self <= 2147483647)",message="consecutiveErrorLimit must be from 0 to 2147483647, or an argument placeholder such as \"{{args.error-limit}}\""
	// +optional
	ConsecutiveErrorLimit *intstr.IntOrString `json:"consecutiveErrorLimit,omitempty"`

	// ConsecutiveSuccessLimit, when above 0, makes the metric Successful as soon as that many
	// measurements in a row succeed. Default 0 (disabled).
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] || (self >= 0 && self <= 2147483647)",message="consecutiveSuccessLimit must be from 0 to 2147483647, or an argument placeholder such as \"{{args.success-limit}}\""
	// +optional
	ConsecutiveSuccessLimit *intstr.IntOrString `json:"consecutiveSuccessLimit,omitempty"`

	// Provider is the system that takes the measurement.
	Provider MetricProvider `json:"provider"`
}

// DefaultConsecutiveErrorLimit is the number of measurement errors in a row a metric tolerates
// when consecutiveErrorLimit is unset.
const DefaultConsecutiveErrorLimit int32 = 4

// EffectiveCount is the number of measurements the metric takes. indefinite reports a metric
// with an interval and no count, which measures until the run is terminated; n is then 0.
func (m *Metric) EffectiveCount() (n int32, indefinite bool, err error) {
	n, err = limitValue("count", m.Count, 0)
	if err != nil {
		return 0, false, err
	}
	if n == 0 {
		if m.Interval == "" {
			return 1, false, nil
		}
		return 0, true, nil
	}
	return n, false, nil
}

// EffectiveFailureLimit is FailureLimit or its default 0. -1 means failures never fail the metric.
func (m *Metric) EffectiveFailureLimit() (int32, error) {
	return limitValue("failureLimit", m.FailureLimit, 0)
}

// EffectiveInconclusiveLimit is InconclusiveLimit or its default 0.
func (m *Metric) EffectiveInconclusiveLimit() (int32, error) {
	return limitValue("inconclusiveLimit", m.InconclusiveLimit, 0)
}

// EffectiveConsecutiveErrorLimit is ConsecutiveErrorLimit or its default DefaultConsecutiveErrorLimit.
func (m *Metric) EffectiveConsecutiveErrorLimit() (int32, error) {
	return limitValue("consecutiveErrorLimit", m.ConsecutiveErrorLimit, DefaultConsecutiveErrorLimit)
}

// EffectiveConsecutiveSuccessLimit is ConsecutiveSuccessLimit or its default 0 (disabled).
func (m *Metric) EffectiveConsecutiveSuccessLimit() (int32, error) {
	return limitValue("consecutiveSuccessLimit", m.ConsecutiveSuccessLimit, 0)
}

// limitValue reads an int-or-string metric field. Strings are accepted because templates
// write "{{args.x}}" there; by the time a run evaluates them they must hold an integer, so an
// unresolved placeholder is reported as such rather than silently read as 0.
func limitValue(field string, v *intstr.IntOrString, def int32) (int32, error) {
	if v == nil {
		return def, nil
	}
	if v.Type == intstr.Int {
		return v.IntVal, nil
	}
	s := strings.TrimSpace(v.StrVal)
	if strings.Contains(s, "{{") {
		return 0, fmt.Errorf("%s %q still holds an argument placeholder; supply the argument", field, v.StrVal)
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not an integer", field, v.StrVal)
	}
	return int32(n), nil
}

// AnalysisRunStatus is the observed progress of an AnalysisRun.
type AnalysisRunStatus struct {
	// Phase is the outcome so far: the worst phase among the metrics that are not dry-run.
	// Optional only so that a run the controller has not seen yet encodes without a status;
	// the controller always sets it.
	// +optional
	Phase AnalysisPhase `json:"phase,omitempty"`

	// Message explains the phase, e.g. which metric failed and why.
	// +optional
	Message string `json:"message,omitempty"`

	// MetricResults has one entry per metric that has started.
	// +optional
	MetricResults []MetricResult `json:"metricResults,omitempty"`

	// StartedAt is when the first measurement was started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// CompletedAt is when the run reached a final phase; the TTL strategy counts from here.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`

	// RunSummary counts the metrics by phase, excluding dry-run metrics.
	// +optional
	RunSummary RunSummary `json:"runSummary,omitempty"`

	// DryRunSummary counts the dry-run metrics by phase.
	// +optional
	DryRunSummary *RunSummary `json:"dryRunSummary,omitempty"`
}

// RunSummary counts the metrics of a run by phase.
type RunSummary struct {
	// Count is the number of metrics summarised.
	// +optional
	Count int32 `json:"count,omitempty"`
	// +optional
	Successful int32 `json:"successful,omitempty"`
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// +optional
	Inconclusive int32 `json:"inconclusive,omitempty"`
	// +optional
	Error int32 `json:"error,omitempty"`
}

// MetricResult is the state of one metric: its recent measurements and running counters.
// The counters cover every measurement, not only the retained ones.
type MetricResult struct {
	// Name is the metric's name.
	Name string `json:"name"`

	// Phase is the metric's outcome so far.
	Phase AnalysisPhase `json:"phase"`

	// Measurements are the most recent measurements, oldest first, capped by measurement
	// retention (default 10).
	// +optional
	Measurements []Measurement `json:"measurements,omitempty"`

	// Message explains the phase, e.g. the last error.
	// +optional
	Message string `json:"message,omitempty"`

	// Count is the number of measurements taken without error.
	// +optional
	Count int32 `json:"count,omitempty"`
	// +optional
	Successful int32 `json:"successful,omitempty"`
	// +optional
	Failed int32 `json:"failed,omitempty"`
	// +optional
	Inconclusive int32 `json:"inconclusive,omitempty"`
	// Error is the number of measurements that could not be taken.
	// +optional
	Error int32 `json:"error,omitempty"`
	// ConsecutiveError resets to 0 on any measurement without error.
	// +optional
	ConsecutiveError int32 `json:"consecutiveError,omitempty"`
	// ConsecutiveSuccess resets to 0 on any measurement that is not Successful.
	// +optional
	ConsecutiveSuccess int32 `json:"consecutiveSuccess,omitempty"`

	// DryRun marks a metric whose outcome does not count towards the run's phase.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`

	// Metadata is provider information about the metric, e.g. the resolved query.
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Measurement is one observation of a metric.
type Measurement struct {
	// Phase is Pending or Running while in flight, then Successful, Failed, Inconclusive or Error.
	Phase AnalysisPhase `json:"phase"`

	// Message explains the phase, e.g. the provider's error.
	// +optional
	Message string `json:"message,omitempty"`

	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`

	// Value is the measured value as the provider rendered it (often JSON).
	// +optional
	Value string `json:"value,omitempty"`

	// Metadata is provider information about the measurement, e.g. a job name or Kayenta run ID.
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`

	// ResumeAt is when an asynchronous measurement (job, Kayenta) should next be checked.
	// +optional
	ResumeAt *metav1.Time `json:"resumeAt,omitempty"`
}
