package integration

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// podsByColor lists the live pods of one image color, by UID, with their role label.
func (s *scene) podsByColor(color string) map[string]*corev1.Pod {
	s.t.Helper()
	var list corev1.PodList
	if err := env.Client.List(s.t.Context(), &list, client.InNamespace(s.ns)); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]*corev1.Pod{}
	for i := range list.Items {
		pod := &list.Items[i]
		if pod.DeletionTimestamp == nil && strings.HasSuffix(pod.Spec.Containers[0].Image, ":"+color) {
			out[string(pod.UID)] = pod
		}
	}
	return out
}

func describePods(pods map[string]*corev1.Pod) string {
	var out []string
	for _, pod := range pods {
		out = append(out, fmt.Sprintf("%s role=%q note=%q", pod.Name, pod.Labels["role"], pod.Annotations["note"]))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// awaitPods waits (bounded) until the pods of a color satisfy ok.
func (s *scene) awaitPods(color string, ok func(map[string]*corev1.Pod) bool) map[string]*corev1.Pod {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pods := s.podsByColor(color)
		if ok(pods) {
			return pods
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for the %s pods; have %s", color, describePods(pods))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func allRole(n int, role, note string) func(map[string]*corev1.Pod) bool {
	return func(pods map[string]*corev1.Pod) bool {
		if len(pods) != n {
			return false
		}
		for _, pod := range pods {
			if pod.Labels["role"] != role || pod.Annotations["note"] != note {
				return false
			}
		}
		return true
	}
}

func (s *scene) replicaSet(name string) *appsv1.ReplicaSet {
	s.t.Helper()
	rs := &appsv1.ReplicaSet{}
	if err := env.Client.Get(s.t.Context(), client.ObjectKey{Namespace: s.ns, Name: name}, rs); err != nil {
		s.t.Fatal(err)
	}
	return rs
}

// TestEphemeralMetadataFollowsTheRole: canary pods carry canaryMetadata and stable pods
// stableMetadata; on completion the former canary's pods are relabelled stable in place (same
// pods), and the canary-only keys come off.
func TestEphemeralMetadataFollowsTheRole(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-stable")
	s.service("shop-canary")
	s.create(shopRollout(4, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		StableService: "shop-stable", CanaryService: "shop-canary",
		CanaryMetadata: &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}, Annotations: map[string]string{"note": "canary"}},
		StableMetadata: &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "stable"}},
		Steps:          []v1alpha1.CanaryStep{setWeight(50), pauseFor("")},
	}}))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"blue": 4}})
	s.awaitPods("blue", allRole(4, "stable", ""))
	blueRS := s.newRSName()

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 2, "green": 2}})
	canary := s.awaitPods("green", allRole(2, "canary", "canary"))
	s.awaitPods("blue", allRole(2, "stable", ""))
	greenRS := s.newRSName()
	if tpl := s.replicaSet(greenRS).Spec.Template; tpl.Labels["role"] != "canary" || tpl.Annotations["note"] != "canary" {
		t.Fatalf("canary pod template metadata: labels=%v annotations=%v", tpl.Labels, tpl.Annotations)
	}
	// The ReplicaSet keeps the identity the Rollout's template gives it.
	if got := v1alpha1.HashOf(s.replicaSet(greenRS)); "shop-"+got != greenRS {
		t.Fatalf("ReplicaSet %s carries hash %q", greenRS, got)
	}

	s.promote()
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"green": 4}})
	stable := s.awaitPods("green", allRole(4, "stable", ""))
	for uid, pod := range canary {
		if _, kept := stable[uid]; !kept {
			t.Errorf("canary pod %s (uid %s) was recreated instead of relabelled", pod.Name, uid)
		}
	}
	rs := s.replicaSet(greenRS)
	if tpl := rs.Spec.Template; tpl.Labels["role"] != "stable" || tpl.Annotations["note"] != "" {
		t.Fatalf("stable pod template metadata: labels=%v annotations=%v", tpl.Labels, tpl.Annotations)
	}
	if got := rs.Annotations[plan.EphemeralMetadataAnnotation]; got != `{"labels":{"role":"stable"}}` {
		t.Fatalf("recorded ephemeral metadata %q", got)
	}
	// The old stable version has no role any more.
	if tpl := s.replicaSet(blueRS).Spec.Template; tpl.Labels["role"] != "" {
		t.Fatalf("old ReplicaSet still labelled: %v", tpl.Labels)
	}
	var list appsv1.ReplicaSetList
	if err := env.Client.List(t.Context(), &list, client.InNamespace(s.ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("%d ReplicaSets, want 2: relabelling must not look like a new template", len(list.Items))
	}
}

// TestAntiAffinityAgainstTheStableVersion: a canary ReplicaSet created during an update keeps
// its pods off the nodes of the stable pods; the first deploy gets no such term, and the
// term comes off once the canary is the stable version.
func TestAntiAffinityAgainstTheStableVersion(t *testing.T) {
	s := newScene(t, nil)
	s.create(shopRollout(2, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		AntiAffinity: &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}},
		Steps:        []v1alpha1.CanaryStep{setWeight(50), pauseFor("")},
	}}))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"blue": 2}})
	if a := s.replicaSet(s.newRSName()).Spec.Template.Spec.Affinity; a != nil {
		t.Fatalf("first deploy got affinity %+v", a)
	}
	stableHash := s.rollout().Status.StableRS

	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1})
	rs := s.replicaSet(s.newRSName())
	a := rs.Spec.Template.Spec.Affinity
	if a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatalf("canary ReplicaSet affinity %+v", a)
	}
	term := a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
	if term.TopologyKey != "kubernetes.io/hostname" || term.LabelSelector == nil ||
		fmt.Sprint(term.LabelSelector.MatchLabels) != fmt.Sprintf("map[%s:%s]", v1alpha1.PodTemplateHashLabel, stableHash) {
		t.Fatalf("anti-affinity term %+v, want one on %s=%s over kubernetes.io/hostname", term, v1alpha1.PodTemplateHashLabel, stableHash)
	}
	// The term is not part of the identity: the same ReplicaSet stays the canary.
	time.Sleep(time.Second)
	var list appsv1.ReplicaSetList
	if err := env.Client.List(t.Context(), &list, client.InNamespace(s.ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || s.rollout().Status.CurrentPodHash != v1alpha1.HashOf(rs) {
		t.Fatalf("%d ReplicaSets, currentPodHash %s: the anti-affinity term changed the identity", len(list.Items), s.rollout().Status.CurrentPodHash)
	}

	// Once stable, the term (against a version on its way out) comes off the template.
	s.promote()
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"green": 2}})
	deadline := time.Now().Add(30 * time.Second)
	for a := s.replicaSet(rs.Name).Spec.Template.Spec.Affinity; a != nil; a = s.replicaSet(rs.Name).Spec.Template.Spec.Affinity {
		if time.Now().After(deadline) {
			t.Fatalf("the stable ReplicaSet keeps the injected affinity %+v", a)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
