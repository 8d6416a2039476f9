package cli

import (
	"math"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/rollout/sim"
	"github.com/aviary-dev/aviary/internal/traffic/gatewayapi"
)

// recordStep writes down the world as the current canary step leaves it after a reconcile;
// the last record of a step is what the step settled at before the controller moved on.
func (k *walk) recordStep() {
	s := k.stepAt(k.stepIndex())
	s.Weight = k.newVersionShare()
	s.Canary = k.w.Replicas(releasedVersion)
	s.Stable = k.w.Replicas(sim.FirstVersion)
	s.HeaderRoutes, s.MirrorRoutes = k.managedRoutes()
}

// stepAt is the record of a canary step, made on first use; the index past the last step is
// the "done" record.
func (k *walk) stepAt(index int32) *PlanStep {
	if s, ok := k.steps[index]; ok {
		return s
	}
	steps := k.w.Rollout.Spec.Strategy.Canary.Steps
	s := &PlanStep{Step: 0, Description: "promoted: canary becomes stable"}
	if int(index) < len(steps) {
		s = &PlanStep{Step: int(index) + 1, Description: plan.DescribeStep(steps[index])}
	}
	k.steps[index] = s
	return s
}

// recordPhase writes down a blue-green phase: which version each Service selects, the pods of
// each version, and what the release waits for.
func (k *walk) recordPhase(phase, wait string) {
	bg := k.w.Rollout.Spec.Strategy.BlueGreen
	k.phases = append(k.phases, PlanPhase{
		Phase: phase, Active: k.versionOf(bg.ActiveService), Preview: k.versionOf(bg.PreviewService),
		New: k.w.Replicas(releasedVersion), Old: k.w.Replicas(sim.FirstVersion), Wait: wait,
	})
}

// versionOf says which version a Service selects: "old", "new", or "" without the Service.
func (k *walk) versionOf(svc string) string {
	switch k.w.Selector(svc) {
	case "":
		return ""
	case releasedVersion:
		return "new"
	}
	return "old"
}

// finish completes the records once the release is done: the canary's timed waits join
// what each step waited for, and blue-green gets its final phase.
func (k *walk) finish() {
	if !k.canary() {
		k.recordPhase("done", "")
		return
	}
	for index, t := range k.waited {
		s := k.stepAt(index)
		s.Wait = joinWaits(s.Wait, t.what+" "+t.d.String())
	}
}

// canarySteps are the step records in order, "done" last.
func (k *walk) canarySteps() []PlanStep {
	indexes := make([]int32, 0, len(k.steps))
	for i := range k.steps {
		indexes = append(indexes, i)
	}
	sort.Slice(indexes, func(a, b int) bool { return indexes[a] < indexes[b] })
	out := make([]PlanStep, 0, len(indexes))
	for _, i := range indexes {
		out = append(out, *k.steps[i])
	}
	return out
}

// newVersionShare is the percentage of requests that reach the new version: through the
// routes' weights and the Services they name with traffic routing, else the new version's
// share of the available pods, which the Services balance over.
func (k *walk) newVersionShare() float64 {
	if len(k.w.Routes) > 0 {
		return k.routedShare(k.w.Routes[0].Object)
	}
	var newPods, allPods int32
	for hash, rs := range k.w.ReplicaSets {
		allPods += rs.Status.AvailableReplicas
		if hash == releasedVersion {
			newPods += rs.Status.AvailableReplicas
		}
	}
	return percent(int64(newPods), int64(allPods))
}

// routedShare is the weight of the route's split that goes to a Service selecting the new
// version, as a percentage of all of it (maxTrafficWeight).
func (k *walk) routedShare(route *unstructured.Unstructured) float64 {
	c := k.w.Rollout.Spec.Strategy.Canary
	canary, stable, ok := gatewayapi.Weights(route, gatewayapi.State{
		StableService: c.StableService, CanaryService: c.CanaryService, ServiceNamespace: k.w.Rollout.Namespace})
	if !ok {
		return 0
	}
	var toNew int64
	if k.w.Selector(c.CanaryService) == releasedVersion {
		toNew += canary
	}
	if k.w.Selector(c.StableService) == releasedVersion {
		toNew += stable
	}
	return percent(toNew, canary+stable)
}

// percent is part of whole in percent, to two decimals (0 of nothing).
func percent(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(float64(part)*10000/float64(whole)) / 100
}

// managedRoutes are the header and mirror rules the controller wrote into the first route
// that takes them, as "name (what it matches)".
func (k *walk) managedRoutes() (headers, mirrors []string) {
	tr := k.w.Rollout.Spec.Strategy.Canary.TrafficRouting
	if tr == nil {
		return nil, nil
	}
	managed := map[string]bool{}
	for _, m := range tr.ManagedRoutes {
		managed[m.Name] = true
	}
	for _, r := range k.w.Routes {
		if !r.Target.UseHeaderRoutes {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(r.Object.Object, "spec", "rules")
		for _, raw := range rules {
			rule, _ := raw.(map[string]any)
			name, _ := rule["name"].(string)
			if !managed[name] {
				continue
			}
			if pct, ok := mirrorPercent(rule); ok {
				mirrors = append(mirrors, name+" ("+pct+")")
			} else {
				headers = append(headers, name+" ("+headerConditions(rule)+")")
			}
		}
		return headers, mirrors
	}
	return nil, nil
}

// mirrorPercent is the share of matching requests a mirror rule copies to the canary; ok is
// false for a rule that mirrors nothing.
func mirrorPercent(rule map[string]any) (string, bool) {
	filters, _ := rule["filters"].([]any)
	for _, f := range filters {
		filter, _ := f.(map[string]any)
		if filter["type"] != "RequestMirror" {
			continue
		}
		pct, found, _ := unstructured.NestedInt64(filter, "requestMirror", "percent")
		if !found {
			pct = 100 // Gateway API: every request when no percent is given
		}
		return percentText(float64(pct)), true
	}
	return "", false
}

// headerConditions are the header conditions of a rule's first match: "name=value" for an
// exact match, "name~regex" for a regular expression (a prefix is written as one).
func headerConditions(rule map[string]any) string {
	matches, _ := rule["matches"].([]any)
	if len(matches) == 0 {
		return ""
	}
	match, _ := matches[0].(map[string]any)
	headers, _ := match["headers"].([]any)
	parts := make([]string, 0, len(headers))
	for _, h := range headers {
		header, _ := h.(map[string]any)
		op := "="
		if header["type"] == "RegularExpression" {
			op = "~"
		}
		name, _ := header["name"].(string)
		value, _ := header["value"].(string)
		parts = append(parts, name+op+value)
	}
	return strings.Join(parts, ",")
}

// maxTrafficWeight is the total the routes' weights add up to, when the Rollout sets one.
func maxTrafficWeight(ro *v1alpha1.Rollout) *int32 {
	if c := ro.Spec.Strategy.Canary; c != nil && c.TrafficRouting != nil {
		return c.TrafficRouting.MaxTrafficWeight
	}
	return nil
}
