package manifests

import (
	"encoding/json"
)

// Canonical turns any JSON-encodable value into plain maps, slices, strings, float64s and
// bools, so that values decoded by different decoders (YAML, the API server, Go types) compare.
func Canonical(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// DropZero removes nulls, false, zero numbers, empty strings, empty maps and empty lists,
// recursively. Go types omit zero values that mean "unset" (omitempty) and write some empty ones
// (a zero struct, a nil creationTimestamp); neither carries meaning, so comparisons of a
// document with its Go re-encoding ignore them.
func DropZero(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range t {
			if val = DropZero(val); val != nil {
				out[k] = val
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(t) == 0 {
			return nil
		}
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = DropZero(val)
		}
		return out
	case bool:
		if !t {
			return nil
		}
		return t
	case float64:
		if t == 0 {
			return nil
		}
		return t
	case string:
		if t == "" {
			return nil
		}
		return t
	default:
		return v
	}
}
