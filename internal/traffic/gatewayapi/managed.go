package gatewayapi

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// managedRules builds the header and mirror rules in managedRoutes order. Each active managed
// route gets one rule per source rule (a rule splitting stable and canary), named "<name>",
// "<name>-1", …, keeping the source rule's matches (so it only applies where the source did)
// and copying its filters, as the Argo plugin does since 0.15.
func (s State) managedRules(t Target, sources []map[string]any, routeNamespace string) ([]map[string]any, error) {
	if !t.UseHeaderRoutes || (t.Kind != KindHTTPRoute && t.Kind != KindGRPCRoute) {
		return nil, nil
	}
	var out []map[string]any
	for _, name := range s.ManagedRoutes {
		if h := s.HeaderRoutes[name]; h != nil && len(h.Match) > 0 {
			for i, src := range sources {
				rule, err := s.headerRule(t.Kind, managedRuleName(name, i), src, h, routeNamespace)
				if err != nil {
					return nil, err
				}
				out = append(out, rule)
			}
		}
		if m := s.MirrorRoutes[name]; m != nil && len(m.Match) > 0 && t.Kind == KindHTTPRoute {
			for i, src := range sources {
				rule, err := s.mirrorRule(managedRuleName(name, i), src, m, routeNamespace)
				if err != nil {
					return nil, err
				}
				out = append(out, rule)
			}
		}
	}
	return out, nil
}

// headerRule sends requests that match the source rule and every header condition to the
// canary alone.
func (s State) headerRule(kind, name string, src map[string]any, h *v1alpha1.SetHeaderRoute, routeNamespace string) (map[string]any, error) {
	var headers []any
	for _, m := range h.Match {
		hm, err := headerMatch(m.HeaderName, m.HeaderValue)
		if err != nil {
			return nil, fmt.Errorf("setHeaderRoute %q: %w", h.Name, err)
		}
		headers = append(headers, hm)
	}
	var matches []any
	for _, m := range sourceMatches(kind, src) {
		m["headers"] = append(withoutHeaders(m["headers"], h), headers...)
		matches = append(matches, m)
	}
	rule := map[string]any{"name": name, "matches": matches}
	copyFilters(rule, src)
	for _, ref := range backendRefs(src) {
		if s.isService(ref, s.CanaryService, routeNamespace) {
			canary := withRefDefaults(runtime.DeepCopyJSONValue(ref).(map[string]any))
			// Weight 1 of 1: everything this rule matches goes to the canary.
			canary["weight"] = int64(1)
			rule["backendRefs"] = []any{canary}
		}
	}
	return rule, nil
}

// mirrorRule keeps the source rule's split for the response and copies the matching requests
// to the canary through a RequestMirror filter.
func (s State) mirrorRule(name string, src map[string]any, m *v1alpha1.SetMirrorRoute, routeNamespace string) (map[string]any, error) {
	var matches []any
	for _, block := range m.Match {
		for _, base := range sourceMatches(KindHTTPRoute, src) {
			match, err := mirrorMatch(base, block)
			if err != nil {
				return nil, fmt.Errorf("setMirrorRoute %q: %w", m.Name, err)
			}
			matches = append(matches, match)
		}
	}
	rule := map[string]any{"name": name, "matches": matches}
	copyFilters(rule, src)
	var mirrorTo map[string]any
	var refs []any
	for _, ref := range backendRefs(src) {
		refs = append(refs, withRefDefaults(runtime.DeepCopyJSONValue(ref).(map[string]any)))
		if s.isService(ref, s.CanaryService, routeNamespace) {
			mirrorTo = map[string]any{"group": "", "kind": "Service", "name": s.CanaryService}
			if ns, ok := ref["namespace"]; ok {
				mirrorTo["namespace"] = ns
			}
			if port, ok := ref["port"]; ok {
				mirrorTo["port"] = port
			}
		}
	}
	rule["backendRefs"] = refs
	mirror := map[string]any{"backendRef": mirrorTo}
	if m.Percentage != nil {
		mirror["percent"] = int64(*m.Percentage)
	}
	filters, _ := rule["filters"].([]any)
	rule["filters"] = append(filters, map[string]any{"type": "RequestMirror", "requestMirror": mirror})
	return rule, nil
}

// sourceMatches are deep copies of the source rule's matches. An HTTPRoute rule or match
// without a path matches every path; it is written out in full (PathPrefix "/"), as the API
// server would default it, so that the rule read back equals the rule written.
func sourceMatches(kind string, src map[string]any) []map[string]any {
	raw, _ := src["matches"].([]any)
	var out []map[string]any
	for _, m := range raw {
		if mm, ok := m.(map[string]any); ok {
			out = append(out, runtime.DeepCopyJSONValue(mm).(map[string]any))
		}
	}
	if len(out) == 0 {
		out = []map[string]any{{}}
	}
	if kind == KindHTTPRoute {
		for _, m := range out {
			if _, ok := m["path"]; !ok {
				m["path"] = map[string]any{"type": "PathPrefix", "value": "/"}
			}
		}
	}
	return out
}

// withoutHeaders drops the source match's conditions on headers the route sets itself: only
// the first entry for a header name counts, so ours must be the one there.
func withoutHeaders(existing any, h *v1alpha1.SetHeaderRoute) []any {
	list, _ := existing.([]any)
	ours := map[string]bool{}
	for _, m := range h.Match {
		ours[strings.ToLower(m.HeaderName)] = true
	}
	var kept []any
	for _, e := range list {
		if hm, ok := e.(map[string]any); ok {
			if n, _ := hm["name"].(string); ours[strings.ToLower(n)] {
				continue
			}
		}
		kept = append(kept, e)
	}
	return kept
}

// withRefDefaults writes out the defaults the API server gives a backendRef (core group, kind
// Service, weight 1), so that a rule the controller builds reads back exactly as written even
// when its source rule was written without them; otherwise every reconcile would rewrite it.
func withRefDefaults(ref map[string]any) map[string]any {
	if _, ok := ref["group"]; !ok {
		ref["group"] = ""
	}
	if _, ok := ref["kind"]; !ok {
		ref["kind"] = "Service"
	}
	if _, ok := ref["weight"]; !ok {
		ref["weight"] = int64(1)
	}
	return ref
}

func copyFilters(rule, src map[string]any) {
	if f, ok := src["filters"]; ok {
		rule["filters"] = runtime.DeepCopyJSONValue(f)
	}
}

// headerMatch converts an Argo string match into a Gateway API header match. A prefix becomes
// an anchored regular expression of the quoted prefix.
func headerMatch(name string, v *v1alpha1.StringMatch) (map[string]any, error) {
	typ, value, err := stringMatch(v)
	if err != nil {
		return nil, fmt.Errorf("header %q: %w", name, err)
	}
	return map[string]any{"type": typ, "name": name, "value": value}, nil
}

func stringMatch(v *v1alpha1.StringMatch) (typ, value string, err error) {
	switch {
	case v == nil:
		return "", "", fmt.Errorf("no value to match: set exact, prefix or regex")
	case v.Exact != "":
		return "Exact", v.Exact, nil
	case v.Prefix != "":
		return "RegularExpression", "^" + regexp.QuoteMeta(v.Prefix) + ".*", nil
	case v.Regex != "":
		if _, err := regexp.Compile(v.Regex); err != nil {
			return "", "", fmt.Errorf("regex %q does not compile: %w", v.Regex, err)
		}
		return "RegularExpression", v.Regex, nil
	}
	return "", "", fmt.Errorf("empty match: set exact, prefix or regex")
}

// mirrorMatch narrows a source match by one setMirrorRoute match block: its method, its path
// (which replaces the source's) and its headers, all ANDed.
func mirrorMatch(base map[string]any, block v1alpha1.RouteMatch) (map[string]any, error) {
	if block.Method != nil {
		if block.Method.Exact == "" {
			return nil, fmt.Errorf("method: HTTPRoute matches methods exactly; use method.exact")
		}
		base["method"] = strings.ToUpper(block.Method.Exact)
	}
	if block.Path != nil {
		path, err := pathMatch(block.Path)
		if err != nil {
			return nil, err
		}
		base["path"] = path
	}
	names := make([]string, 0, len(block.Headers))
	for n := range block.Headers {
		names = append(names, n)
	}
	sort.Strings(names)
	headers, _ := base["headers"].([]any)
	for _, n := range names {
		v := block.Headers[n]
		hm, err := headerMatch(n, &v)
		if err != nil {
			return nil, err
		}
		headers = append(headers, hm)
	}
	if len(headers) > 0 {
		base["headers"] = headers
	}
	return base, nil
}

func pathMatch(v *v1alpha1.StringMatch) (map[string]any, error) {
	switch {
	case v.Exact != "":
		return map[string]any{"type": "Exact", "value": v.Exact}, nil
	case v.Prefix != "":
		return map[string]any{"type": "PathPrefix", "value": v.Prefix}, nil
	case v.Regex != "":
		if _, err := regexp.Compile(v.Regex); err != nil {
			return nil, fmt.Errorf("path regex %q does not compile: %w", v.Regex, err)
		}
		return map[string]any{"type": "RegularExpression", "value": v.Regex}, nil
	}
	return nil, fmt.Errorf("path: set exact, prefix or regex")
}

// CheckHeaderRoute reports what makes a setHeaderRoute step impossible to write, or nil.
func CheckHeaderRoute(h *v1alpha1.SetHeaderRoute) error {
	for _, m := range h.Match {
		if _, err := headerMatch(m.HeaderName, m.HeaderValue); err != nil {
			return err
		}
	}
	return nil
}

// CheckMirrorRoute reports what makes a setMirrorRoute step impossible to write, or nil.
func CheckMirrorRoute(m *v1alpha1.SetMirrorRoute) error {
	for _, block := range m.Match {
		if _, err := mirrorMatch(map[string]any{}, block); err != nil {
			return err
		}
	}
	return nil
}
