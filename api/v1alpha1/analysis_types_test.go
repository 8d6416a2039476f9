package v1alpha1

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func intOrString(v intstr.IntOrString) *intstr.IntOrString { return &v }

func TestMetricEffectiveCount(t *testing.T) {
	tests := map[string]struct {
		metric         Metric
		wantN          int32
		wantIndefinite bool
		wantErr        string
	}{
		"no count, no interval: one measurement": {
			metric: Metric{},
			wantN:  1,
		},
		"no count, interval: runs until terminated": {
			metric:         Metric{Interval: "1m"},
			wantIndefinite: true,
		},
		"count 0 is treated as unset": {
			metric:         Metric{Interval: "1m", Count: intOrString(intstr.FromInt32(0))},
			wantIndefinite: true,
		},
		"int count": {
			metric: Metric{Interval: "1m", Count: intOrString(intstr.FromInt32(5))},
			wantN:  5,
		},
		"resolved string count": {
			metric: Metric{Interval: "1m", Count: intOrString(intstr.FromString("3"))},
			wantN:  3,
		},
		"unresolved placeholder": {
			metric:  Metric{Count: intOrString(intstr.FromString("{{args.count}}"))},
			wantErr: "placeholder",
		},
		"not a number": {
			metric:  Metric{Count: intOrString(intstr.FromString("five"))},
			wantErr: "not an integer",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			n, indefinite, err := tt.metric.EffectiveCount()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if n != tt.wantN || indefinite != tt.wantIndefinite {
				t.Errorf("EffectiveCount() = (%d, %v), want (%d, %v)", n, indefinite, tt.wantN, tt.wantIndefinite)
			}
		})
	}
}

func TestMetricEffectiveLimits(t *testing.T) {
	limits := map[string]func(*Metric) (int32, error){
		"failureLimit":            (*Metric).EffectiveFailureLimit,
		"inconclusiveLimit":       (*Metric).EffectiveInconclusiveLimit,
		"consecutiveErrorLimit":   (*Metric).EffectiveConsecutiveErrorLimit,
		"consecutiveSuccessLimit": (*Metric).EffectiveConsecutiveSuccessLimit,
	}

	t.Run("defaults", func(t *testing.T) {
		want := map[string]int32{
			"failureLimit":            0,
			"inconclusiveLimit":       0,
			"consecutiveErrorLimit":   4,
			"consecutiveSuccessLimit": 0,
		}
		for name, get := range limits {
			got, err := get(&Metric{})
			if err != nil || got != want[name] {
				t.Errorf("%s default = (%d, %v), want %d", name, got, err, want[name])
			}
		}
	})

	t.Run("explicit values override defaults", func(t *testing.T) {
		m := Metric{
			FailureLimit:            intOrString(intstr.FromInt32(-1)),
			InconclusiveLimit:       intOrString(intstr.FromString("2")),
			ConsecutiveErrorLimit:   intOrString(intstr.FromInt32(0)),
			ConsecutiveSuccessLimit: intOrString(intstr.FromString(" 3 ")),
		}
		want := map[string]int32{
			"failureLimit":            -1,
			"inconclusiveLimit":       2,
			"consecutiveErrorLimit":   0,
			"consecutiveSuccessLimit": 3,
		}
		for name, get := range limits {
			got, err := get(&m)
			if err != nil || got != want[name] {
				t.Errorf("%s = (%d, %v), want %d", name, got, err, want[name])
			}
		}
	})

	t.Run("errors name the field", func(t *testing.T) {
		m := Metric{ConsecutiveErrorLimit: intOrString(intstr.FromString("{{args.errors}}"))}
		_, err := m.EffectiveConsecutiveErrorLimit()
		if err == nil || !strings.Contains(err.Error(), "consecutiveErrorLimit") {
			t.Errorf("err = %v, want it to name consecutiveErrorLimit", err)
		}
	})
}

func TestMetricProviderConfiguredProviders(t *testing.T) {
	tests := map[string]struct {
		provider MetricProvider
		want     []string
	}{
		"none": {
			provider: MetricProvider{},
			want:     nil,
		},
		"prometheus": {
			provider: MetricProvider{Prometheus: &PrometheusMetric{Query: "up"}},
			want:     []string{"prometheus"},
		},
		"plugin": {
			provider: MetricProvider{Plugin: map[string]apiextensionsv1.JSON{"argoproj-labs/sample": {Raw: []byte(`{}`)}}},
			want:     []string{"plugin"},
		},
		"several, in a fixed order": {
			provider: MetricProvider{
				Kayenta:    &KayentaMetric{},
				Job:        &JobMetric{Spec: batchv1.JobSpec{}},
				Web:        &WebMetric{URL: "http://example"},
				SkyWalking: &SkyWalkingMetric{},
			},
			want: []string{"web", "job", "skywalking", "kayenta"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tt.provider.ConfiguredProviders(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ConfiguredProviders() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestConfiguredProvidersCoversEveryField guards against adding a provider field without
// teaching ConfiguredProviders about it: every JSON field of MetricProvider must be reported.
func TestConfiguredProvidersCoversEveryField(t *testing.T) {
	typ := reflect.TypeOf(MetricProvider{})
	var all MetricProvider
	v := reflect.ValueOf(&all).Elem()
	var jsonNames []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		jsonNames = append(jsonNames, strings.Split(f.Tag.Get("json"), ",")[0])
		switch f.Type.Kind() {
		case reflect.Pointer:
			v.Field(i).Set(reflect.New(f.Type.Elem()))
		case reflect.Map:
			v.Field(i).Set(reflect.MakeMap(f.Type))
		default:
			t.Fatalf("unexpected kind %s for MetricProvider.%s", f.Type.Kind(), f.Name)
		}
	}
	got := all.ConfiguredProviders()
	if len(got) != len(jsonNames) {
		t.Fatalf("ConfiguredProviders() reports %d providers %v, MetricProvider has %d fields %v", len(got), got, len(jsonNames), jsonNames)
	}
	for _, name := range jsonNames {
		found := false
		for _, g := range got {
			found = found || g == name
		}
		if !found {
			t.Errorf("provider %q (a MetricProvider JSON field) is not reported by ConfiguredProviders", name)
		}
	}
}

// TestArgoManifestShape decodes an Argo Rollouts AnalysisTemplate written for Argo and checks
// that nothing is lost when it is encoded again: the promise is that Argo manifests work
// unchanged.
func TestArgoManifestShape(t *testing.T) {
	const manifest = `{
  "apiVersion": "argoproj.io/v1alpha1",
  "kind": "AnalysisTemplate",
  "metadata": {"name": "success-rate"},
  "spec": {
    "args": [
      {"name": "service-name"},
      {"name": "api-token", "valueFrom": {"secretKeyRef": {"name": "token", "key": "apiToken"}}},
      {"name": "namespace", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
      {"name": "empty", "value": ""}
    ],
    "metrics": [
      {
        "name": "success-rate",
        "interval": "5m",
        "initialDelay": "1m",
        "count": "{{args.count}}",
        "successCondition": "result[0] >= 0.95",
        "failureLimit": -1,
        "consecutiveErrorLimit": 2,
        "consecutiveSuccessLimit": "{{args.successes}}",
        "provider": {
          "prometheus": {
            "address": "http://prometheus:9090",
            "query": "sum(rate(x[5m]))",
            "timeout": 40,
            "headers": [{"key": "X-Scope-OrgID", "value": "tenant"}],
            "authentication": {"sigv4": {"region": "eu-west-1", "roleArn": "arn:aws:iam::1:role/r"}},
            "rangeQuery": {"start": "now() - duration(\"5m\")", "end": "now()", "step": "1m"}
          }
        }
      },
      {
        "name": "webhook",
        "provider": {
          "web": {
            "method": "POST",
            "url": "http://svc/check",
            "jsonBody": {"service": "{{args.service-name}}", "checks": [1, 2, {"deep": true}]},
            "jsonPath": "{$.ok}",
            "timeoutSeconds": 20
          }
        }
      },
      {
        "name": "plugin",
        "provider": {"plugin": {"argoproj-labs/sample-prometheus": {"address": "http://p", "query": "q", "nested": {"a": [1]}}}}
      }
    ],
    "dryRun": [{"metricName": "webhook"}],
    "measurementRetention": [{"metricName": ".*", "limit": 20}],
    "templates": [{"templateName": "common", "clusterScope": true}]
  }
}`
	var tmpl AnalysisTemplate
	if err := json.Unmarshal([]byte(manifest), &tmpl); err != nil {
		t.Fatalf("decoding an Argo manifest: %v", err)
	}
	out, err := json.Marshal(&tmpl)
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	var want, got map[string]any
	if err := json.Unmarshal([]byte(manifest), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	// ObjectMeta always encodes creationTimestamp; it is not part of what the user wrote.
	delete(got["metadata"].(map[string]any), "creationTimestamp")
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("round trip changed the manifest; got:\n%s", gotJSON)
	}

	// The explicit empty value must survive: it means "default is the empty string", which
	// differs from "no default".
	if v := tmpl.Spec.Args[3].Value; v == nil || *v != "" {
		t.Errorf("explicit empty arg value was lost: %v", v)
	}
}
