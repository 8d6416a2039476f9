package compile

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// compiledRoute is one HTTPRoute's rules, compiled once and shared by all its parents.
type compiledRoute struct {
	obj     *gwv1.HTTPRoute
	order   int // position in the oldest-first order, the cross-route tie-breaker
	rules   []compiledRule
	dropped []string // "Dropped Rule ..." / "Fall Back ..." notes for PartiallyInvalid
	refs    []refProblem
}

type compiledRule struct {
	index   int
	rule    *route.Rule
	matches []route.Match
}

// compileRoute compiles every rule of r; rules that cannot be served are dropped with a note.
func compileRoute(w *world, r *gwv1.HTTPRoute, order int) *compiledRoute {
	cr := &compiledRoute{obj: r, order: order}
	var userKey *route.UserKey
	if v, ok := r.Annotations[UserKeyAnnotation]; ok {
		k, err := parseUserKey(v)
		if err != nil {
			cr.dropped = append(cr.dropped, "Fall Back to plain weighted choice: "+err.Error())
		}
		userKey = k
	}
	for i := range r.Spec.Rules {
		rule, matches, err := compileRule(w, cr, r, i)
		if err != nil {
			cr.dropped = append(cr.dropped, fmt.Sprintf("Dropped Rule %d: %v", i, err))
			continue
		}
		rule.UserKey = userKey
		cr.rules = append(cr.rules, compiledRule{index: i, rule: rule, matches: matches})
	}
	return cr
}

func compileRule(w *world, cr *compiledRoute, r *gwv1.HTTPRoute, i int) (*route.Rule, []route.Match, error) {
	spec := &r.Spec.Rules[i]
	rule := &route.Rule{ID: fmt.Sprintf("%s/%s/%d", r.Namespace, r.Name, i)}
	matches, err := compileMatches(spec.Matches)
	if err != nil {
		return nil, nil, err
	}
	if err := compileFilters(w, cr, r.Namespace, spec.Filters, rule); err != nil {
		return nil, nil, err
	}
	if rule.Redirect != nil && rule.Rewrite != nil {
		return nil, nil, fmt.Errorf("RequestRedirect and URLRewrite cannot be combined")
	}
	if rw := rule.Rewrite; rw != nil && rw.Path.Type == route.PathReplacePrefix {
		for _, m := range matches {
			if m.PathType != route.PathPrefix {
				return nil, nil, fmt.Errorf("URLRewrite ReplacePrefixMatch needs PathPrefix matches only")
			}
		}
	}
	if t, err := ruleTimeout(spec.Timeouts); err != nil {
		return nil, nil, err
	} else {
		rule.Timeout = t
	}
	for _, ref := range spec.BackendRefs {
		weight := uint32(1)
		if ref.Weight != nil {
			weight = uint32(max(*ref.Weight, 0))
		}
		b, problem := w.resolveBackend(r.Namespace, ref.BackendObjectReference, weight)
		if problem != nil {
			cr.refs = append(cr.refs, *problem)
		}
		if err := compileBackendFilters(ref.Filters, b); err != nil {
			cr.refs = append(cr.refs, refProblem{reason: gwv1.RouteReasonUnsupportedValue, message: err.Error()})
			b.Status = http.StatusInternalServerError
		}
		rule.Backends = append(rule.Backends, b)
		rule.TotalWeight += uint64(weight)
	}
	return rule, matches, nil
}

func ruleTimeout(t *gwv1.HTTPRouteTimeouts) (time.Duration, error) {
	if t == nil {
		return 0, nil
	}
	var out time.Duration
	for _, d := range []*gwv1.Duration{t.Request, t.BackendRequest} {
		if d == nil {
			continue
		}
		v, err := time.ParseDuration(string(*d))
		if err != nil || v < 0 {
			return 0, fmt.Errorf("timeout %q is not a duration such as 10s or 500ms", *d)
		}
		// Without retries the backend request and the whole request end together: the
		// shorter non-zero limit applies ("0s" disables a limit).
		if v > 0 && (out == 0 || v < out) {
			out = v
		}
	}
	return out, nil
}

// compileMatches compiles a rule's matches; none means "PathPrefix /".
func compileMatches(in []gwv1.HTTPRouteMatch) ([]route.Match, error) {
	if len(in) == 0 {
		return []route.Match{{PathType: route.PathPrefix}}, nil
	}
	out := make([]route.Match, 0, len(in))
	for _, m := range in {
		cm, err := compileMatch(m)
		if err != nil {
			return nil, err
		}
		out = append(out, cm)
	}
	return out, nil
}

func compileMatch(m gwv1.HTTPRouteMatch) (route.Match, error) {
	var out route.Match
	typ, value := gwv1.PathMatchPathPrefix, "/"
	if m.Path != nil {
		if m.Path.Type != nil {
			typ = *m.Path.Type
		}
		if m.Path.Value != nil {
			value = *m.Path.Value
		}
	}
	switch typ {
	case gwv1.PathMatchExact:
		out.PathType, out.Path = route.PathExact, value
	case gwv1.PathMatchPathPrefix:
		out.PathType, out.Path = route.PathPrefix, strings.TrimRight(value, "/")
	case gwv1.PathMatchRegularExpression:
		re, err := fullMatchRegex(value)
		if err != nil {
			return out, fmt.Errorf("path regular expression %q: %w", value, err)
		}
		out.PathType, out.Path, out.PathRegex = route.PathRegex, value, re
	default:
		return out, fmt.Errorf("path match type %q is not supported", typ)
	}
	if m.Method != nil {
		out.Method = string(*m.Method)
	}
	seen := map[string]bool{}
	for _, h := range m.Headers {
		name := http.CanonicalHeaderKey(string(h.Name))
		if seen[name] { // only the first entry for a name counts
			continue
		}
		seen[name] = true
		vm, err := valueMatch(name, h.Value, h.Type == nil || *h.Type == gwv1.HeaderMatchExact, h.Type)
		if err != nil {
			return out, fmt.Errorf("header %s: %w", name, err)
		}
		out.Headers = append(out.Headers, vm)
	}
	seenQ := map[string]bool{}
	for _, q := range m.QueryParams {
		name := string(q.Name)
		if seenQ[name] {
			continue
		}
		seenQ[name] = true
		vm, err := valueMatch(name, q.Value, q.Type == nil || *q.Type == gwv1.QueryParamMatchExact, q.Type)
		if err != nil {
			return out, fmt.Errorf("query parameter %s: %w", name, err)
		}
		out.Query = append(out.Query, vm)
	}
	return out, nil
}

func valueMatch[T ~string](name, value string, exact bool, typ *T) (route.ValueMatch, error) {
	vm := route.ValueMatch{Name: name, Value: value}
	if exact {
		return vm, nil
	}
	if string(*typ) != "RegularExpression" {
		return vm, fmt.Errorf("match type %q is not supported", *typ)
	}
	re, err := fullMatchRegex(value)
	if err != nil {
		return vm, fmt.Errorf("regular expression %q: %w", value, err)
	}
	vm.Regex = re
	return vm, nil
}

// fullMatchRegex compiles an RE2 expression that must match the whole value, as Envoy-based
// gateways do; users who want a substring match write ".*" around it.
func fullMatchRegex(expr string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(expr); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + expr + `)$`)
}
