package plan

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

// Invalid names the first problem that makes a Rollout impossible to act on, or returns "".
// The controller reports one problem at a time, as Argo Rollouts does; see Problems.
func Invalid(ro *v1alpha1.Rollout, services map[string]*corev1.Service) string {
	if problems := Problems(ro, services); len(problems) > 0 {
		return problems[0]
	}
	return ""
}

// Problems lists every problem that makes a Rollout impossible to act on, most basic first.
// These are the rules the API server cannot check because they need other objects (Services)
// or span fields in ways CEL cannot afford; each message says what to fix.
func Problems(ro *v1alpha1.Rollout, services map[string]*corev1.Service) []string {
	if msg := invalidSelector(ro); msg != "" {
		// Without a usable template or selector the other checks have nothing to check.
		return []string{msg}
	}
	var out []string
	out = append(out, invalidCanary(ro)...)
	out = append(out, invalidTrafficRouting(ro, services)...)
	out = append(out, invalidBlueGreen(ro)...)
	return append(out, invalidServices(ro, services)...)
}

func invalidSelector(ro *v1alpha1.Rollout) string {
	if ro.Spec.Template == nil {
		return "spec.template is missing: set a pod template or a workloadRef to a Deployment"
	}
	sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
	if err != nil {
		return fmt.Sprintf("spec.selector is invalid: %v", err)
	}
	if sel.Empty() {
		return "spec.selector is empty: it would select every pod in the namespace; select the template's labels"
	}
	if !sel.Matches(labels.Set(ro.Spec.Template.Labels)) {
		return fmt.Sprintf("spec.selector %q does not match the labels of spec.template.metadata.labels", sel.String())
	}
	return ""
}

func invalidCanary(ro *v1alpha1.Rollout) []string {
	c := ro.Spec.Strategy.Canary
	if c == nil {
		return nil
	}
	var out []string
	if c.TrafficRouting == nil && bothZero(ro.Spec.ReplicasOrDefault(), c.MaxSurgeOrDefault(), c.MaxUnavailableOrDefault()) {
		out = append(out, "spec.strategy.canary: maxSurge and maxUnavailable cannot both be 0, or no pod could ever be replaced")
	}
	for i, s := range c.Steps {
		field := fmt.Sprintf("spec.strategy.canary.steps[%d]", i)
		needsRouter := s.SetCanaryScale != nil || s.SetHeaderRoute != nil || s.SetMirrorRoute != nil
		if needsRouter && c.TrafficRouting == nil {
			out = append(out, fmt.Sprintf("%s: %s needs spec.strategy.canary.trafficRouting", field, DescribeStep(s)))
			continue
		}
		if name := routeName(s); name != "" && !managedRoute(c.TrafficRouting, name) {
			out = append(out, fmt.Sprintf("%s: route %q is not listed in spec.strategy.canary.trafficRouting.managedRoutes", field, name))
		}
	}
	return out
}

// bothZero: the surge (rounded up) and the unavailability (rounded down) both come to no pods.
func bothZero(total int32, surge, unavailable intstr.IntOrString) bool {
	s, err1 := intstr.GetScaledValueFromIntOrPercent(&surge, int(total), true)
	u, err2 := intstr.GetScaledValueFromIntOrPercent(&unavailable, int(total), false)
	return err1 == nil && err2 == nil && s == 0 && u == 0
}

func routeName(s v1alpha1.CanaryStep) string {
	switch {
	case s.SetHeaderRoute != nil:
		return s.SetHeaderRoute.Name
	case s.SetMirrorRoute != nil:
		return s.SetMirrorRoute.Name
	}
	return ""
}

func managedRoute(tr *v1alpha1.RolloutTrafficRouting, name string) bool {
	if tr == nil {
		return false
	}
	for _, r := range tr.ManagedRoutes {
		if r.Name == name {
			return true
		}
	}
	return false
}

// invalidRouter refuses the traffic routers Aviary does not implement, naming the one it does.
func invalidRouter(tr *v1alpha1.RolloutTrafficRouting) string {
	if tr == nil {
		return ""
	}
	unsupported := map[string]bool{
		"istio": tr.Istio != nil, "nginx": tr.Nginx != nil, "alb": tr.ALB != nil, "smi": tr.SMI != nil,
		"ambassador": tr.Ambassador != nil, "appMesh": tr.AppMesh != nil, "traefik": tr.Traefik != nil,
		"apisix": tr.Apisix != nil,
	}
	for name := range tr.Plugins {
		unsupported["plugins."+name] = name != gatewayapi.PluginName
	}
	var names []string
	for name, set := range unsupported {
		if set {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return fmt.Sprintf("spec.strategy.canary.trafficRouting.%s is not supported: Aviary routes traffic through the Gateway API; configure trafficRouting.plugins[%q]", names[0], gatewayapi.PluginName)
}

func invalidBlueGreen(ro *v1alpha1.Rollout) []string {
	bg := ro.Spec.Strategy.BlueGreen
	if bg == nil {
		return nil
	}
	if bg.ScaleDownDelayRevisionLimit != nil && ro.Spec.RevisionHistoryLimit != nil && *bg.ScaleDownDelayRevisionLimit > *ro.Spec.RevisionHistoryLimit {
		return []string{"spec.strategy.blueGreen.scaleDownDelayRevisionLimit cannot exceed spec.revisionHistoryLimit"}
	}
	return nil
}

// invalidServices checks that every Service the strategy names exists and selects the
// Rollout's pods, ignoring the pod-template-hash the controller itself sets.
func invalidServices(ro *v1alpha1.Rollout, services map[string]*corev1.Service) []string {
	var out []string
	for _, ref := range ServiceRefs(ro) {
		svc, ok := services[ref.Name]
		if !ok {
			out = append(out, fmt.Sprintf("%s: Service %q not found in namespace %q; create it or fix the name", ref.Field, ref.Name, ro.Namespace))
			continue
		}
		want := map[string]string{}
		for k, v := range svc.Spec.Selector {
			if k != v1alpha1.PodTemplateHashLabel {
				want[k] = v
			}
		}
		if !labels.SelectorFromSet(want).Matches(labels.Set(ro.Spec.Template.Labels)) {
			out = append(out, fmt.Sprintf("%s: Service %q selects %s, which does not match the pod template's labels",
				ref.Field, ref.Name, labels.Set(want).String()))
		}
	}
	return out
}

// ServiceRef is a Service the strategy names, with the field that names it.
type ServiceRef struct{ Field, Name string }

// ServiceRefs lists the Services a Rollout's strategy names.
func ServiceRefs(ro *v1alpha1.Rollout) []ServiceRef {
	var refs []ServiceRef
	add := func(field, name string) {
		if name != "" {
			refs = append(refs, ServiceRef{Field: field, Name: name})
		}
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		add("spec.strategy.canary.stableService", c.StableService)
		add("spec.strategy.canary.canaryService", c.CanaryService)
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		add("spec.strategy.blueGreen.activeService", bg.ActiveService)
		add("spec.strategy.blueGreen.previewService", bg.PreviewService)
	}
	return refs
}

// InvalidSpec plans a Rollout whose spec cannot be acted on: nothing is scaled, the
// InvalidSpec condition and the phase say why, and a Warning Event is recorded once per
// distinct problem.
func InvalidSpec(ro *v1alpha1.Rollout, message string, now metav1.Time) Plan {
	p := newPlan(ro)
	st := &p.Status
	if c := findCondition(st, v1alpha1.InvalidSpec); c == nil || c.Message != message || c.Status != corev1.ConditionTrue {
		p.event(corev1.EventTypeWarning, ReasonInvalidSpec, message)
	}
	setCondition(st, v1alpha1.InvalidSpec, corev1.ConditionTrue, ReasonInvalidSpec, message, now.Time)
	st.ObservedGeneration = fmt.Sprint(ro.Generation)
	st.Phase, st.Message = Phase(ro, st)
	return p
}
