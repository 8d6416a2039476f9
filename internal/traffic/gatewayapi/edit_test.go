package gatewayapi

import (
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/golden"
)

func baseState(canary, stable int64) State {
	return State{
		StableService: "shop-stable", CanaryService: "shop-canary", ServiceNamespace: "default",
		CanaryWeight: canary, StableWeight: stable,
		ManagedRoutes: []string{"beta-testers", "mirror"},
		Label:         InProgressLabel{Key: DefaultInProgressLabelKey, Value: DefaultInProgressLabelValue, Set: true},
	}
}

func betaTesters() *v1alpha1.SetHeaderRoute {
	return &v1alpha1.SetHeaderRoute{Name: "beta-testers", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "X-Beta", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}},
		{HeaderName: "X-Build", HeaderValue: &v1alpha1.StringMatch{Prefix: "v2.1"}},
		{HeaderName: "X-Region", HeaderValue: &v1alpha1.StringMatch{Regex: "^eu-(west|north)$"}},
	}}
}

func goldenCases() map[string]struct {
	target Target
	state  State
} {
	withHeaders := baseState(10, 90)
	withHeaders.HeaderRoutes = map[string]*v1alpha1.SetHeaderRoute{"beta-testers": betaTesters()}
	withMirror := baseState(20, 80)
	withMirror.MirrorRoutes = map[string]*v1alpha1.SetMirrorRoute{"mirror": {
		Name: "mirror", Percentage: ptr.To[int32](35),
		Match: []v1alpha1.RouteMatch{
			{Method: &v1alpha1.StringMatch{Exact: "post"}, Path: &v1alpha1.StringMatch{Prefix: "/cart"}},
			{Headers: map[string]v1alpha1.StringMatch{"X-Mirror": {Exact: "1"}, "Accept": {Prefix: "application/"}}},
		},
	}}
	withMirror.HeaderRoutes = map[string]*v1alpha1.SetHeaderRoute{"beta-testers": {Name: "beta-testers", Match: []v1alpha1.HeaderRoutingMatch{
		{HeaderName: "X-Beta", HeaderValue: &v1alpha1.StringMatch{Exact: "yes"}},
	}}}
	done := baseState(0, 100)
	done.Label.Set = false
	grpc := baseState(10, 90)
	grpc.HeaderRoutes = map[string]*v1alpha1.SetHeaderRoute{"beta-testers": betaTesters()}
	http := Target{Kind: KindHTTPRoute, UseHeaderRoutes: true}
	return map[string]struct {
		target Target
		state  State
	}{
		"http-weights":     {Target{Kind: KindHTTPRoute}, baseState(10, 90)},
		"http-extra-rules": {http, withHeaders},
		"http-mirror":      {http, withMirror},
		"http-cleanup":     {http, done},
		"grpc-header":      {Target{Kind: KindGRPCRoute, UseHeaderRoutes: true}, grpc},
		"tcp-weights":      {Target{Kind: KindTCPRoute}, baseState(30, 70)},
	}
}

// readRoute reads a route manifest of testdata, strictly.
func readRoute(t testing.TB, path string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	golden.ReadYAML(t, path, u)
	return u
}

// TestEditGolden applies a routing state to each testdata/<case>.in.yaml and compares with
// <case>.out.yaml; applying it again to the result must change nothing.
func TestEditGolden(t *testing.T) {
	for name, c := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			input := filepath.Join("testdata", name+golden.InputSuffix)
			in := readRoute(t, input)
			before := in.DeepCopy()
			out, err := Edit(in, c.target, c.state)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(in, before) {
				t.Fatal("Edit modified its input")
			}
			got, err := yaml.Marshal(out.Object)
			if err != nil {
				t.Fatal(err)
			}
			output := golden.OutputOf(input, ".yaml")
			golden.Compare(t, output, got)
			again, err := Edit(out, c.target, c.state)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(again, out) {
				t.Fatal("applying the same state twice changed the route")
			}
			reread := readRoute(t, output)
			if !equality.Semantic.DeepEqual(reread.Object, out.Object) {
				t.Fatal("the golden file does not read back as the edited route")
			}
		})
	}
}

// TestEveryInputHasAGoldenCase: a testdata input without a case in goldenCases would never be
// compared.
func TestEveryInputHasAGoldenCase(t *testing.T) {
	cases := goldenCases()
	for _, f := range golden.Inputs(t) {
		if _, ok := cases[golden.Case(f)]; !ok {
			t.Errorf("%s has no case in goldenCases", f)
		}
	}
}

func TestEditRefusesRouteWithoutSplit(t *testing.T) {
	in := readRoute(t, filepath.Join("testdata", "http-weights.in.yaml"))
	s := baseState(10, 90)
	s.CanaryService = "shop-preview"
	_, err := Edit(in, Target{Kind: KindHTTPRoute}, s)
	if err == nil || !strings.Contains(err.Error(), `"shop-preview"`) {
		t.Fatalf("got %v, want an error naming the Service", err)
	}
}

func TestEditServiceInOtherNamespaceIsNotOurs(t *testing.T) {
	in := readRoute(t, filepath.Join("testdata", "http-weights.in.yaml"))
	s := baseState(10, 90)
	s.ServiceNamespace = "shop" // the route's refs default to the route's namespace, default
	if _, err := Edit(in, Target{Kind: KindHTTPRoute}, s); err == nil {
		t.Fatal("a route whose Services are in another namespace was edited")
	}
}

func TestWeightsReadBack(t *testing.T) {
	in := readRoute(t, filepath.Join("testdata", "http-extra-rules.in.yaml"))
	s := baseState(25, 75)
	if c, st, ok := Weights(in, s); !ok || c != 0 || st != 100 {
		t.Fatalf("before: %d/%d %v", c, st, ok)
	}
	out, err := Edit(in, Target{Kind: KindHTTPRoute}, s)
	if err != nil {
		t.Fatal(err)
	}
	if c, st, ok := Weights(out, s); !ok || c != 25 || st != 75 {
		t.Fatalf("after: %d/%d %v", c, st, ok)
	}
}

func TestBadMatchesAreErrors(t *testing.T) {
	in := readRoute(t, filepath.Join("testdata", "http-mirror.in.yaml"))
	s := baseState(10, 90)
	s.MirrorRoutes = map[string]*v1alpha1.SetMirrorRoute{"mirror": {Name: "mirror", Match: []v1alpha1.RouteMatch{{Method: &v1alpha1.StringMatch{Regex: "P.*"}}}}}
	if _, err := Edit(in, Target{Kind: KindHTTPRoute, UseHeaderRoutes: true}, s); err == nil || !strings.Contains(err.Error(), "method.exact") {
		t.Fatalf("regex method: %v", err)
	}
	s.MirrorRoutes = nil
	s.HeaderRoutes = map[string]*v1alpha1.SetHeaderRoute{"beta-testers": {Name: "beta-testers", Match: []v1alpha1.HeaderRoutingMatch{{HeaderName: "X", HeaderValue: &v1alpha1.StringMatch{Regex: "("}}}}}
	if _, err := Edit(in, Target{Kind: KindHTTPRoute, UseHeaderRoutes: true}, s); err == nil || !strings.Contains(err.Error(), "does not compile") {
		t.Fatalf("bad regex: %v", err)
	}
}

// TestManagedRulesFollowManagedRoutesOrder: managed rules come after the user's rules, in the
// order of managedRoutes (their precedence on ties), whatever order the steps set them in.
func TestManagedRulesFollowManagedRoutesOrder(t *testing.T) {
	in := readRoute(t, filepath.Join("testdata", "http-mirror.in.yaml"))
	s := baseState(10, 90)
	s.ManagedRoutes = []string{"mirror", "beta-testers"}
	s.HeaderRoutes = map[string]*v1alpha1.SetHeaderRoute{"beta-testers": betaTesters()}
	s.MirrorRoutes = map[string]*v1alpha1.SetMirrorRoute{"mirror": {Name: "mirror", Match: []v1alpha1.RouteMatch{{Path: &v1alpha1.StringMatch{Exact: "/x"}}}}}
	out, err := Edit(in, Target{Kind: KindHTTPRoute, UseHeaderRoutes: true}, s)
	if err != nil {
		t.Fatal(err)
	}
	rules, _, _ := unstructured.NestedSlice(out.Object, "spec", "rules")
	var names []string
	for _, r := range rules {
		n, _ := r.(map[string]any)["name"].(string)
		names = append(names, n)
	}
	if strings.Join(names, ",") != ",mirror,beta-testers" {
		t.Fatalf("rule order %q", names)
	}
	// A route that does not take header routes gets weights only.
	out, err = Edit(in, Target{Kind: KindHTTPRoute}, s)
	if err != nil {
		t.Fatal(err)
	}
	if rules, _, _ := unstructured.NestedSlice(out.Object, "spec", "rules"); len(rules) != 1 {
		t.Fatalf("%d rules on a route without useHeaderRoutes", len(rules))
	}
}
