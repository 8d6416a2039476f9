package analysis

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// placeholder matches "{{args.name}}" (spaces allowed inside the braces).
var placeholder = regexp.MustCompile(`\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}`)

// ArgSource reads the values of valueFrom arguments.
type ArgSource interface {
	// Secret returns one key of a Secret in the run's namespace.
	Secret(name, key string) (string, error)
	// Field returns a field of the object that owns the run.
	Field(fieldPath string) (string, error)
}

// ResolveArgs gives every argument its value. An argument with neither value nor valueFrom
// is an error naming it: its template expected the run's creator to supply it.
func ResolveArgs(args []v1alpha1.Argument, src ArgSource) (map[string]string, error) {
	out := make(map[string]string, len(args))
	for _, a := range args {
		switch {
		case a.Value != nil:
			out[a.Name] = *a.Value
		case a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil:
			ref := a.ValueFrom.SecretKeyRef
			v, err := src.Secret(ref.Name, ref.Key)
			if err != nil {
				return nil, fmt.Errorf("argument %q: %w", a.Name, err)
			}
			out[a.Name] = v
		case a.ValueFrom != nil && a.ValueFrom.FieldRef != nil:
			v, err := src.Field(a.ValueFrom.FieldRef.FieldPath)
			if err != nil {
				return nil, fmt.Errorf("argument %q: %w", a.Name, err)
			}
			out[a.Name] = v
		default:
			return nil, fmt.Errorf("argument %q has no value: supply it in the Rollout's analysis args (or the run's spec.args)", a.Name)
		}
	}
	return out, nil
}

// ResolveMetrics replaces every "{{args.x}}" in the metrics by its value. A placeholder naming
// an argument the run does not declare is an error.
func ResolveMetrics(metrics []v1alpha1.Metric, values map[string]string) ([]v1alpha1.Metric, error) {
	out := make([]v1alpha1.Metric, 0, len(metrics))
	for _, m := range metrics {
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", m.Name, err)
		}
		var missing []string
		resolved := placeholder.ReplaceAllStringFunc(string(raw), func(s string) string {
			name := placeholder.FindStringSubmatch(s)[1]
			v, ok := values[name]
			if !ok {
				missing = append(missing, name)
				return s
			}
			return jsonEscape(v)
		})
		if len(missing) > 0 {
			return nil, fmt.Errorf("metric %q refers to {{args.%s}}, but the run has no such argument; declare it in the template's args", m.Name, missing[0])
		}
		var rm v1alpha1.Metric
		if err := json.Unmarshal([]byte(resolved), &rm); err != nil {
			return nil, fmt.Errorf("metric %q after substituting its arguments: %w", m.Name, err)
		}
		out = append(out, rm)
	}
	return out, nil
}

// jsonEscape makes a value safe to put inside a JSON string (the metric's serialised form).
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
