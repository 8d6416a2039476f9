package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/testenv"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// newTrafficScene is a scene whose controller verifies route weights (verify) or not, as
// --gateway-verify-weights does. No gateway runs in envtest: with verify on, the test writes
// the route status a gateway would.
func newTrafficScene(t *testing.T, verify bool) *scene {
	t.Helper()
	s := &scene{t: t, ns: newNamespace(t.Context(), t, "traffic"), events: &eventLog{}}
	fixture, err := env.StartPodFixture(t.Context(), testenv.InNamespace(s.ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fixture.Stop(); err != nil {
			t.Errorf("stopping the pod fixture: %v", err)
		}
	})
	s.startControllerWith(func(r *rollout.Reconciler) { r.SkipRouteVerification = !verify })
	t.Cleanup(s.stopController)
	return s
}

// startControllerWith runs a Rollout controller for this namespace with changed settings.
func (s *scene) startControllerWith(change func(*rollout.Reconciler)) {
	s.t.Helper()
	mgr := s.newManager()
	r := &rollout.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Events: s.events, Clock: clock.RealClock{}, Workers: 2}
	change(r)
	if err := r.SetupWithManager(s.t.Context(), mgr); err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(s.t.Context())
	s.stop, s.done = cancel, make(chan error, 1)
	go func() { s.done <- mgr.Start(ctx) }()
}

// routeYAML creates a route from YAML in the scene's namespace.
func (s *scene) routeYAML(doc string) {
	s.t.Helper()
	u := &unstructured.Unstructured{}
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		s.t.Fatal(err)
	}
	if err := u.UnmarshalJSON(j); err != nil {
		s.t.Fatal(err)
	}
	s.create(u)
}

// httpRouteYAML is a user's HTTPRoute with a rule of its own before the split rule.
func httpRouteYAML(name string) string {
	return fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: %s
  annotations:
    aviary.dev/user-key: header:X-User
spec:
  parentRefs:
    - name: gw
  hostnames: [shop.example.com]
  rules:
    - name: static
      matches:
        - path: {type: PathPrefix, value: /static}
      filters:
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: Cache-Control, value: max-age=60}]
      backendRefs:
        - {name: cdn, port: 80}
    - matches:
        - path: {type: PathPrefix, value: /}
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            add: [{name: X-Via, value: gateway}]
      backendRefs:
        - {name: shop-stable, port: 80}
        - {name: shop-canary, port: 80, weight: 0}
`, name)
}

func (s *scene) route(kind, name string) *unstructured.Unstructured {
	s.t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: gatewayapi.Group, Version: "v1", Kind: kind})
	if err := env.Client.Get(s.t.Context(), client.ObjectKey{Namespace: s.ns, Name: name}, u); err != nil {
		s.t.Fatalf("reading %s %s: %v", kind, name, err)
	}
	return u
}

// routeSummary describes what a test checks on a route: the split weights, the rule names
// in order, and whether the in-progress label is there.
type routeSummary struct {
	canary, stable int64
	rules          string
	label          bool
}

func summarize(u *unstructured.Unstructured) routeSummary {
	s := gatewayapi.State{StableService: "shop-stable", CanaryService: "shop-canary", ServiceNamespace: u.GetNamespace()}
	c, st, _ := gatewayapi.Weights(u, s)
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	var names []string
	for _, r := range rules {
		name, _ := r.(map[string]any)["name"].(string)
		if name == "" {
			name = "-"
		}
		names = append(names, name)
	}
	_, label := u.GetLabels()[gatewayapi.DefaultInProgressLabelKey]
	return routeSummary{canary: c, stable: st, rules: strings.Join(names, ","), label: label}
}

// awaitRoute waits (bounded) until the route reads as wanted.
func (s *scene) awaitRoute(kind, name string, want routeSummary) *unstructured.Unstructured {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		u := s.route(kind, name)
		got := summarize(u)
		if got == want {
			return u
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s %s: have %+v, want %+v; rollout %s", kind, name, got, want, s.describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// userRulesUnchanged checks that the user's own rule came through every edit byte for byte.
func (s *scene) userRulesUnchanged(u *unstructured.Unstructured) {
	s.t.Helper()
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	first, _ := json.Marshal(rules[0])
	want := `{"backendRefs":[{"group":"","kind":"Service","name":"cdn","port":80,"weight":1}],"filters":[{"responseHeaderModifier":{"set":[{"name":"Cache-Control","value":"max-age=60"}]},"type":"ResponseHeaderModifier"}],"matches":[{"path":{"type":"PathPrefix","value":"/static"}}],"name":"static"}`
	if string(first) != want {
		s.t.Errorf("the user's rule changed:\n got %s\nwant %s", first, want)
	}
	if u.GetAnnotations()["aviary.dev/user-key"] != "header:X-User" {
		s.t.Errorf("annotations changed: %v", u.GetAnnotations())
	}
}

// rule returns the named rule of a route.
func rule(u *unstructured.Unstructured, name string) map[string]any {
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	for _, r := range rules {
		if m := r.(map[string]any); m["name"] == name {
			return m
		}
	}
	return nil
}

// gatewayConfig is the trafficRouting of the example, for the given plugin settings.
func gatewayConfig(plugin string, managed ...string) *v1alpha1.RolloutTrafficRouting {
	tr := &v1alpha1.RolloutTrafficRouting{Plugins: map[string]apiextensionsv1.JSON{gatewayapi.PluginName: {Raw: []byte(plugin)}}}
	for _, m := range managed {
		tr.ManagedRoutes = append(tr.ManagedRoutes, v1alpha1.ManagedRoute{Name: m})
	}
	return tr
}

// generationStable checks that a quiet rollout leaves the route alone: no edit loop.
func (s *scene) generationStable(kind, name string) {
	s.t.Helper()
	before := s.route(kind, name).GetGeneration()
	time.Sleep(2 * time.Second)
	if after := s.route(kind, name).GetGeneration(); after != before {
		s.t.Errorf("%s %s changed from generation %d to %d while nothing happened", kind, name, before, after)
	}
}

func hasReason(events *eventLog, reason, contains string) bool {
	events.mu.Lock()
	defer events.mu.Unlock()
	return slices.ContainsFunc(events.events, func(e plan.Event) bool {
		return e.Reason == reason && strings.Contains(e.Message, contains)
	})
}

// serviceFor is the Service scene.service creates, for a namespace outside a scene.
func serviceFor(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "shop"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
}
