package v1alpha1

import (
	batchv1 "k8s.io/api/batch/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// MetricProvider is the system that takes a metric's measurements. Exactly one is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.prometheus), has(self.web), has(self.job), has(self.datadog), has(self.newRelic), has(self.cloudWatch), has(self.graphite), has(self.influxdb), has(self.skywalking), has(self.wavefront), has(self.kayenta), has(self.plugin)].filter(x, x).size() == 1",message="a metric provider must set exactly one of prometheus, web, job, datadog, newRelic, cloudWatch, graphite, influxdb, skywalking, wavefront, kayenta or plugin; split multiple providers into separate metrics"
type MetricProvider struct {
	// +optional
	Prometheus *PrometheusMetric `json:"prometheus,omitempty"`
	// +optional
	Kayenta *KayentaMetric `json:"kayenta,omitempty"`
	// +optional
	Web *WebMetric `json:"web,omitempty"`
	// +optional
	Datadog *DatadogMetric `json:"datadog,omitempty"`
	// +optional
	Wavefront *WavefrontMetric `json:"wavefront,omitempty"`
	// +optional
	NewRelic *NewRelicMetric `json:"newRelic,omitempty"`
	// Job runs a Kubernetes Job per measurement; the Job's success is the measurement's success.
	// +optional
	Job *JobMetric `json:"job,omitempty"`
	// +optional
	CloudWatch *CloudWatchMetric `json:"cloudWatch,omitempty"`
	// +optional
	Graphite *GraphiteMetric `json:"graphite,omitempty"`
	// +optional
	Influxdb *InfluxdbMetric `json:"influxdb,omitempty"`
	// +optional
	SkyWalking *SkyWalkingMetric `json:"skywalking,omitempty"`

	// Plugin maps the name of one metric plugin (as registered in the controller's
	// configuration) to that plugin's own configuration, which is kept verbatim. Typed as an
	// object (not left untyped) so that CEL rules can see whether it is set.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=1
	// +optional
	Plugin map[string]apiextensionsv1.JSON `json:"plugin,omitempty"`
}

// ConfiguredProviders returns the JSON names of the providers that are set, in a fixed order.
// Validation allows exactly one, but objects stored before a rule existed, or built in code,
// may not obey it, so a reconciler should check for a single entry rather than assume it.
func (p *MetricProvider) ConfiguredProviders() []string {
	var names []string
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"prometheus", p.Prometheus != nil},
		{"web", p.Web != nil},
		{"job", p.Job != nil},
		{"datadog", p.Datadog != nil},
		{"newRelic", p.NewRelic != nil},
		{"cloudWatch", p.CloudWatch != nil},
		{"graphite", p.Graphite != nil},
		{"influxdb", p.Influxdb != nil},
		{"skywalking", p.SkyWalking != nil},
		{"wavefront", p.Wavefront != nil},
		{"kayenta", p.Kayenta != nil},
		{"plugin", p.Plugin != nil},
	} {
		if c.set {
			names = append(names, c.name)
		}
	}
	return names
}

// PrometheusMetric runs a PromQL query; `result` is the returned vector (instant query) or
// matrix (range query).
type PrometheusMetric struct {
	// Address is the base URL of the Prometheus HTTP API, e.g. "http://prometheus.monitoring:9090".
	// +optional
	Address string `json:"address,omitempty"`

	// Query is the PromQL expression; it may contain "{{args.<name>}}".
	// +kubebuilder:validation:MinLength=1
	Query string `json:"query"`

	// Authentication for managed Prometheus services that do not accept plain requests.
	// +optional
	Authentication *Authentication `json:"authentication,omitempty"`

	// Timeout for the query, in seconds.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Timeout *int64 `json:"timeout,omitempty"`

	// Insecure skips verification of the server's TLS certificate.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Headers are added to every request, e.g. a tenant ID or a bearer token.
	// +optional
	Headers []WebMetricHeader `json:"headers,omitempty"`

	// RangeQuery turns the query into a range query over the given window.
	// +optional
	RangeQuery *PrometheusRangeQueryArgs `json:"rangeQuery,omitempty"`
}

// PrometheusRangeQueryArgs is the window of a range query. Start and end are expr-lang
// expressions evaluated at measurement time (e.g. `now() - duration("5m")`), so the window
// follows the measurement.
type PrometheusRangeQueryArgs struct {
	// +optional
	Start string `json:"start,omitempty"`
	// +optional
	End string `json:"end,omitempty"`
	// Step is the resolution, a duration such as "1m".
	// +optional
	Step string `json:"step,omitempty"`
}

// Authentication holds the ways a metric provider can authenticate to its server.
type Authentication struct {
	// Sigv4 signs requests for Amazon Managed Service for Prometheus.
	// +optional
	Sigv4 *Sigv4Config `json:"sigv4,omitempty"`
	// OAuth2 fetches a token with the client-credentials flow.
	// +optional
	OAuth2 *OAuth2Config `json:"oauth2,omitempty"`
	// BasicAuth sends a username and password, e.g. for Grafana Cloud.
	// +optional
	BasicAuth *BasicAuthConfig `json:"basicAuth,omitempty"`
}

// Sigv4Config is the AWS identity used to sign requests. Unset fields fall back to the
// controller's ambient AWS credentials.
type Sigv4Config struct {
	// +optional
	Region string `json:"region,omitempty"`
	// +optional
	Profile string `json:"profile,omitempty"`
	// RoleARN is an IAM role to assume before signing.
	// +optional
	RoleARN string `json:"roleArn,omitempty"`
}

// OAuth2Config is an OAuth2 client-credentials grant. Secrets are usually passed as
// "{{args.x}}" with the argument read from a Secret, so that they stay out of the template.
type OAuth2Config struct {
	// +optional
	TokenURL string `json:"tokenUrl,omitempty"`
	// +optional
	ClientID string `json:"clientId,omitempty"`
	// +optional
	ClientSecret string `json:"clientSecret,omitempty"`
	// +optional
	Scopes []string `json:"scopes,omitempty"`
}

// BasicAuthConfig is HTTP basic authentication. As with OAuth2, pass the password through
// an argument read from a Secret.
type BasicAuthConfig struct {
	// +optional
	Username string `json:"username,omitempty"`
	// +optional
	Password string `json:"password,omitempty"`
}

// WebMetricHeader is one HTTP header.
type WebMetricHeader struct {
	// +kubebuilder:validation:MinLength=1
	Key   string `json:"key"`
	Value string `json:"value"`
}

// WebMetricMethod is the HTTP method of a web metric.
// +kubebuilder:validation:Enum=GET;POST;PUT
type WebMetricMethod string

const (
	WebMetricMethodGet  WebMetricMethod = "GET"
	WebMetricMethodPost WebMetricMethod = "POST"
	WebMetricMethodPut  WebMetricMethod = "PUT"
)

// WebMetric calls an HTTP endpoint; `result` is the JSON response, narrowed by JSONPath.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.body) && has(self.jsonBody))",message="set either body (a string) or jsonBody (a JSON value), not both"
// +kubebuilder:validation:XValidation:rule="!(has(self.body) || has(self.jsonBody)) || (has(self.method) && self.method != 'GET')",message="a request body needs method POST or PUT; set method or remove body/jsonBody"
type WebMetric struct {
	// Method defaults to GET.
	// +optional
	Method WebMetricMethod `json:"method,omitempty"`

	// URL is the endpoint to call; it may contain "{{args.<name>}}".
	// +kubebuilder:validation:MinLength=1
	URL string `json:"url"`

	// +optional
	Headers []WebMetricHeader `json:"headers,omitempty"`

	// Body is sent verbatim.
	// +optional
	Body string `json:"body,omitempty"`

	// TimeoutSeconds bounds the request. Default 10.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TimeoutSeconds int64 `json:"timeoutSeconds,omitempty"`

	// JSONPath selects the part of the response used as `result`. Default "{$}" (all of it).
	// +optional
	JSONPath string `json:"jsonPath,omitempty"`

	// Insecure skips verification of the server's TLS certificate.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// JSONBody is a JSON object sent as the body; unlike Body it can be written as YAML.
	// Typed as an object (not left untyped) so that CEL rules can see whether it is set.
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	JSONBody *apiextensionsv1.JSON `json:"jsonBody,omitempty"`

	// Authentication for endpoints that need more than static headers.
	// +optional
	Authentication *Authentication `json:"authentication,omitempty"`
}

// JobMetric runs a Job per measurement: a Job that completes is Successful, one that fails
// is Failed.
type JobMetric struct {
	// Metadata is added to each Job.
	// +optional
	Metadata *JobMetricMetadata `json:"metadata,omitempty"`
	// Spec is the Job to run.
	Spec batchv1.JobSpec `json:"spec"`
}

// JobMetricMetadata is the metadata a JobMetric puts on its Jobs. Only labels and
// annotations, because names are generated per measurement.
type JobMetricMetadata struct {
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// DatadogMetric queries Datadog. The v1 API takes one query; v2 also takes named queries
// combined by a formula.
//
// +kubebuilder:validation:XValidation:rule="has(self.query) || has(self.queries)",message="datadog needs query, or queries (with an optional formula) for apiVersion v2"
// +kubebuilder:validation:XValidation:rule="!has(self.formula) || has(self.queries)",message="formula combines named queries; set queries, or use query without formula"
type DatadogMetric struct {
	// Interval is the time window the query aggregates over. Default 5m.
	// +optional
	Interval DurationString `json:"interval,omitempty"`
	// +optional
	Query string `json:"query,omitempty"`
	// Queries are named queries that Formula refers to (v2 only).
	// +optional
	Queries map[string]string `json:"queries,omitempty"`
	// Formula combines Queries, e.g. "a / b" (v2 only).
	// +optional
	Formula string `json:"formula,omitempty"`
	// APIVersion of the Datadog API. Default v1.
	// +kubebuilder:validation:Enum=v1;v2
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Aggregator reduces a metric query's series to one value (v2 only).
	// +kubebuilder:validation:Enum=avg;min;max;sum;last;percentile;mean;l2norm;area
	// +optional
	Aggregator string `json:"aggregator,omitempty"`
	// SecretRef names the Secret with the API and application keys. Unset, the controller's
	// default Datadog Secret is used.
	// +optional
	SecretRef *DatadogSecretRef `json:"secretRef,omitempty"`
}

// DatadogSecretRef names a Secret holding Datadog keys.
type DatadogSecretRef struct {
	// +optional
	Name string `json:"name,omitempty"`
	// Namespaced looks the Secret up in the run's namespace instead of the controller's.
	// +optional
	Namespaced bool `json:"namespaced,omitempty"`
}

// NewRelicMetric runs an NRQL query.
type NewRelicMetric struct {
	// Profile names the Secret with the New Relic account settings. Unset, the controller's
	// default profile is used.
	// +optional
	Profile string `json:"profile,omitempty"`
	// +kubebuilder:validation:MinLength=1
	Query string `json:"query"`
	// Timeout for the query, in seconds.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Timeout *int64 `json:"timeout,omitempty"`
}

// WavefrontMetric runs a Wavefront query.
type WavefrontMetric struct {
	// +optional
	Address string `json:"address,omitempty"`
	// +optional
	Query string `json:"query,omitempty"`
}

// GraphiteMetric runs a Graphite render query.
type GraphiteMetric struct {
	// +optional
	Address string `json:"address,omitempty"`
	// +optional
	Query string `json:"query,omitempty"`
}

// InfluxdbMetric runs a Flux query.
type InfluxdbMetric struct {
	// Profile names the Secret with the InfluxDB connection settings.
	// +optional
	Profile string `json:"profile,omitempty"`
	// +optional
	Query string `json:"query,omitempty"`
}

// SkyWalkingMetric runs a SkyWalking GraphQL query.
type SkyWalkingMetric struct {
	// +optional
	Address string `json:"address,omitempty"`
	// +optional
	Query string `json:"query,omitempty"`
	// Interval is the time window the query covers.
	// +optional
	Interval DurationString `json:"interval,omitempty"`
}

// CloudWatchMetric runs CloudWatch GetMetricData queries.
type CloudWatchMetric struct {
	// Interval is the time window the queries cover. Default 5m.
	// +optional
	Interval DurationString `json:"interval,omitempty"`
	// MetricDataQueries are passed to GetMetricData as they are; it takes at most 500.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=500
	MetricDataQueries []CloudWatchMetricDataQuery `json:"metricDataQueries"`
}

// CloudWatchMetricDataQuery mirrors the AWS MetricDataQuery structure.
type CloudWatchMetricDataQuery struct {
	// +optional
	ID string `json:"id,omitempty"`
	// +optional
	Expression *string `json:"expression,omitempty"`
	// +optional
	Label *string `json:"label,omitempty"`
	// +optional
	MetricStat *CloudWatchMetricStat `json:"metricStat,omitempty"`
	// Period in seconds.
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] || (self >= 0 && self <= 2147483647)",message="period must be a number of seconds from 0 to 2147483647"
	// +optional
	Period *intstr.IntOrString `json:"period,omitempty"`
	// +optional
	ReturnData *bool `json:"returnData,omitempty"`
}

// CloudWatchMetricStat mirrors the AWS MetricStat structure.
type CloudWatchMetricStat struct {
	// +optional
	Metric *CloudWatchMetricStatMetric `json:"metric,omitempty"`
	// Period in seconds.
	// +kubebuilder:validation:XValidation:rule="type(self) in [string] || (self >= 0 && self <= 2147483647)",message="period must be a number of seconds from 0 to 2147483647"
	// +optional
	Period *intstr.IntOrString `json:"period,omitempty"`
	// +optional
	Stat string `json:"stat,omitempty"`
	// +optional
	Unit string `json:"unit,omitempty"`
}

// CloudWatchMetricStatMetric mirrors the AWS Metric structure.
type CloudWatchMetricStatMetric struct {
	// +optional
	Dimensions []CloudWatchMetricStatMetricDimension `json:"dimensions,omitempty"`
	// +optional
	MetricName string `json:"metricName,omitempty"`
	// +optional
	Namespace *string `json:"namespace,omitempty"`
}

// CloudWatchMetricStatMetricDimension mirrors the AWS Dimension structure.
type CloudWatchMetricStatMetricDimension struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Value string `json:"value,omitempty"`
}

// KayentaMetric starts a Kayenta canary judgement comparing the control and experiment scopes.
type KayentaMetric struct {
	Address                  string `json:"address"`
	Application              string `json:"application"`
	CanaryConfigName         string `json:"canaryConfigName"`
	MetricsAccountName       string `json:"metricsAccountName"`
	ConfigurationAccountName string `json:"configurationAccountName"`
	StorageAccountName       string `json:"storageAccountName"`
	// Threshold maps Kayenta's score to a phase.
	Threshold KayentaThreshold `json:"threshold"`
	Scopes    []KayentaScope   `json:"scopes"`
}

// KayentaThreshold maps a Kayenta score (0-100) to a phase: at least Pass is Successful, at
// least Marginal is Inconclusive, below is Failed.
type KayentaThreshold struct {
	Pass     int64 `json:"pass"`
	Marginal int64 `json:"marginal"`
}

// KayentaScope is one named pair of control and experiment scopes.
type KayentaScope struct {
	Name            string      `json:"name"`
	ControlScope    ScopeDetail `json:"controlScope"`
	ExperimentScope ScopeDetail `json:"experimentScope"`
}

// ScopeDetail selects the data Kayenta compares.
type ScopeDetail struct {
	Scope  string `json:"scope"`
	Region string `json:"region"`
	// Step is the sample interval in seconds.
	Step  int64  `json:"step"`
	Start string `json:"start"`
	End   string `json:"end"`
}
