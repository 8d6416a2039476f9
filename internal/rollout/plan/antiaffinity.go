package plan

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// AntiAffinityTopologyKey is the topology the injected anti-affinity spreads over: nodes.
const AntiAffinityTopologyKey = corev1.LabelHostname

// AntiAffinityTarget is the pod-template hash a new ReplicaSet of hash should keep its pods
// away from, when the strategy asks for antiAffinity: the stable version (canary) or the
// active one (blue-green). It is "" when there is none: no antiAffinity, the first deploy,
// or a return to the stable template.
func AntiAffinityTarget(ro *v1alpha1.Rollout, hash string) string {
	return antiAffinityTarget(ro.Spec.Strategy, &ro.Status, hash)
}

func antiAffinityTarget(s v1alpha1.RolloutStrategy, st *v1alpha1.RolloutStatus, hash string) string {
	var target string
	switch {
	case s.Canary != nil && s.Canary.AntiAffinity != nil:
		target = st.StableRS
	case s.BlueGreen != nil && s.BlueGreen.AntiAffinity != nil:
		target = st.BlueGreen.ActiveSelector
		if target == "" {
			target = st.StableRS
		}
	}
	if target == hash {
		return ""
	}
	return target
}

// WithAntiAffinity returns the affinity of a new ReplicaSet's pod template with a pod
// anti-affinity term against the pods of the target hash added (required or preferred with
// its weight, as the strategy's antiAffinity says), keeping any affinity the template has.
// It returns affinity unchanged when there is nothing to add. The input is not modified.
//
// The Rollout's pod-template hash is computed before this runs, from the Rollout's own
// template, so the term never changes which ReplicaSet a template maps to.
func WithAntiAffinity(affinity *corev1.Affinity, aa *v1alpha1.AntiAffinity, target string) *corev1.Affinity {
	if aa == nil || target == "" {
		return affinity
	}
	term := corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.PodTemplateHashLabel: target}},
		TopologyKey:   AntiAffinityTopologyKey,
	}
	out := affinity.DeepCopy()
	if out == nil {
		out = &corev1.Affinity{}
	}
	if out.PodAntiAffinity == nil {
		out.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	paa := out.PodAntiAffinity
	switch {
	case aa.RequiredDuringSchedulingIgnoredDuringExecution != nil:
		paa.RequiredDuringSchedulingIgnoredDuringExecution = append(paa.RequiredDuringSchedulingIgnoredDuringExecution, term)
	case aa.PreferredDuringSchedulingIgnoredDuringExecution != nil:
		paa.PreferredDuringSchedulingIgnoredDuringExecution = append(paa.PreferredDuringSchedulingIgnoredDuringExecution,
			corev1.WeightedPodAffinityTerm{Weight: aa.PreferredDuringSchedulingIgnoredDuringExecution.Weight, PodAffinityTerm: term})
	default:
		return affinity
	}
	return out
}

// AntiAffinityOf is the strategy's antiAffinity setting, nil when it has none.
func AntiAffinityOf(ro *v1alpha1.Rollout) *v1alpha1.AntiAffinity {
	switch s := ro.Spec.Strategy; {
	case s.Canary != nil:
		return s.Canary.AntiAffinity
	case s.BlueGreen != nil:
		return s.BlueGreen.AntiAffinity
	}
	return nil
}

// AntiAffinityKeep is the target hash whose injected anti-affinity term the ReplicaSet of
// hash may keep under the status st: only the new ReplicaSet during an update keeps its term.
// Once it becomes the stable (or active) version, the term pointed at a version on its way
// out and comes off, so that later pods of the stable version schedule freely.
func AntiAffinityKeep(ro *v1alpha1.Rollout, st v1alpha1.RolloutStatus, hash string) string {
	if hash != st.CurrentPodHash || st.StableRS == hash {
		return ""
	}
	return antiAffinityTarget(ro.Spec.Strategy, &st, hash)
}

// StripAntiAffinity removes the pod anti-affinity terms this controller injects (a term on
// exactly rollouts-pod-template-hash=<h> over kubernetes.io/hostname) whose h is not keep.
// It reports whether anything was removed; the input is not modified.
func StripAntiAffinity(affinity *corev1.Affinity, keep string) (*corev1.Affinity, bool) {
	if affinity == nil || affinity.PodAntiAffinity == nil {
		return affinity, false
	}
	stale := func(t corev1.PodAffinityTerm) bool {
		h, injected := injectedTarget(t)
		return injected && h != keep
	}
	paa := affinity.PodAntiAffinity
	var required []corev1.PodAffinityTerm
	for _, t := range paa.RequiredDuringSchedulingIgnoredDuringExecution {
		if !stale(t) {
			required = append(required, t)
		}
	}
	var preferred []corev1.WeightedPodAffinityTerm
	for _, t := range paa.PreferredDuringSchedulingIgnoredDuringExecution {
		if !stale(t.PodAffinityTerm) {
			preferred = append(preferred, t)
		}
	}
	if len(required) == len(paa.RequiredDuringSchedulingIgnoredDuringExecution) &&
		len(preferred) == len(paa.PreferredDuringSchedulingIgnoredDuringExecution) {
		return affinity, false
	}
	out := affinity.DeepCopy()
	out.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = required
	out.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = preferred
	if len(required) == 0 && len(preferred) == 0 {
		out.PodAntiAffinity = nil
	}
	if out.NodeAffinity == nil && out.PodAffinity == nil && out.PodAntiAffinity == nil {
		out = nil
	}
	return out, true
}

func injectedTarget(t corev1.PodAffinityTerm) (string, bool) {
	sel := t.LabelSelector
	if t.TopologyKey != AntiAffinityTopologyKey || sel == nil || len(sel.MatchExpressions) != 0 || len(sel.MatchLabels) != 1 ||
		len(t.Namespaces) != 0 || t.NamespaceSelector != nil || len(t.MatchLabelKeys) != 0 || len(t.MismatchLabelKeys) != 0 {
		return "", false
	}
	h, ok := sel.MatchLabels[v1alpha1.PodTemplateHashLabel]
	return h, ok
}
