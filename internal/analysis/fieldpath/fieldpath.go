// Package fieldpath reads Argo-style field paths ("metadata.labels['app']") from objects, for
// valueFrom.fieldRef arguments.
package fieldpath

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/client-go/util/jsonpath"
)

// Value evaluates an Argo-style fieldPath ("metadata.labels['app']",
// "spec.template.spec.containers[0].image") on an object converted to JSON form.
func Value(obj any, fieldPath string) (string, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", err
	}
	jp := jsonpath.New("fieldRef")
	expr := strings.TrimSpace(fieldPath)
	if !strings.HasPrefix(expr, "{") {
		expr = "{." + strings.TrimPrefix(expr, ".") + "}"
	}
	if err := jp.Parse(expr); err != nil {
		return "", fmt.Errorf("fieldPath %q does not parse: %w", fieldPath, err)
	}
	found, err := jp.FindResults(doc)
	if err != nil || len(found) == 0 || len(found[0]) == 0 {
		return "", fmt.Errorf("fieldPath %q matches nothing", fieldPath)
	}
	v := found[0][0].Interface()
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, _ := json.Marshal(v)
	return string(b), nil
}
