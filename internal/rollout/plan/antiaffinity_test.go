package plan

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func TestAntiAffinityTarget(t *testing.T) {
	required := &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}
	for _, tc := range []struct {
		name     string
		strategy v1alpha1.RolloutStrategy
		st       v1alpha1.RolloutStatus
		want     string
	}{
		{"canary update", v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{AntiAffinity: required}}, v1alpha1.RolloutStatus{StableRS: "v1"}, "v1"},
		{"canary first deploy", v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{AntiAffinity: required}}, v1alpha1.RolloutStatus{}, ""},
		{"canary back to stable", v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{AntiAffinity: required}}, v1alpha1.RolloutStatus{StableRS: "v2"}, ""},
		{"canary without antiAffinity", v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}}, v1alpha1.RolloutStatus{StableRS: "v1"}, ""},
		{"blue-green against the active", v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{AntiAffinity: required}},
			v1alpha1.RolloutStatus{StableRS: "v0", BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: "v1"}}, "v1"},
		{"blue-green before any switch", v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{AntiAffinity: required}},
			v1alpha1.RolloutStatus{StableRS: "v1"}, "v1"},
		{"blue-green first deploy", v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{AntiAffinity: required}}, v1alpha1.RolloutStatus{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: tc.strategy}, Status: tc.st}
			if got := AntiAffinityTarget(ro, "v2"); got != tc.want {
				t.Fatalf("target %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWithAntiAffinity(t *testing.T) {
	own := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{}, PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: "zone"}},
	}}
	required := &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}
	preferred := &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 40}}
	term := corev1.PodAffinityTerm{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{v1alpha1.PodTemplateHashLabel: "v1"}},
		TopologyKey:   "kubernetes.io/hostname",
	}

	got := WithAntiAffinity(nil, required, "v1")
	if r := got.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution; len(r) != 1 || r[0].TopologyKey != term.TopologyKey ||
		r[0].LabelSelector.MatchLabels[v1alpha1.PodTemplateHashLabel] != "v1" || len(got.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 0 {
		t.Fatalf("required: %+v", got.PodAntiAffinity)
	}

	got = WithAntiAffinity(own, preferred, "v1")
	p := got.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	if len(p) != 1 || p[0].Weight != 40 || p[0].PodAffinityTerm.LabelSelector.MatchLabels[v1alpha1.PodTemplateHashLabel] != "v1" ||
		p[0].PodAffinityTerm.TopologyKey != term.TopologyKey {
		t.Fatalf("preferred: %+v", p)
	}
	if got.NodeAffinity == nil || len(got.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatalf("the template's own affinity was lost: %+v", got)
	}
	if len(own.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 0 {
		t.Fatal("the input affinity was modified")
	}

	if WithAntiAffinity(own, required, "") != own || WithAntiAffinity(own, nil, "v1") != own {
		t.Fatal("nothing to add must return the affinity unchanged")
	}
}

func TestAntiAffinityKeep(t *testing.T) {
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		AntiAffinity: &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}},
	}}}}
	for _, tc := range []struct {
		name string
		st   v1alpha1.RolloutStatus
		hash string
		want string
	}{
		{"the canary during an update", v1alpha1.RolloutStatus{StableRS: "v1", CurrentPodHash: "v2"}, "v2", "v1"},
		{"the canary once it is stable", v1alpha1.RolloutStatus{StableRS: "v2", CurrentPodHash: "v2"}, "v2", ""},
		{"the stable version", v1alpha1.RolloutStatus{StableRS: "v1", CurrentPodHash: "v2"}, "v1", ""},
		{"an old version", v1alpha1.RolloutStatus{StableRS: "v1", CurrentPodHash: "v2"}, "v0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AntiAffinityKeep(ro, tc.st, tc.hash); got != tc.want {
				t.Fatalf("keep %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStripAntiAffinity(t *testing.T) {
	required := &v1alpha1.AntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1alpha1.RequiredDuringSchedulingIgnoredDuringExecution{}}
	preferred := &v1alpha1.AntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: &v1alpha1.PreferredDuringSchedulingIgnoredDuringExecution{Weight: 10}}
	own := &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: "kubernetes.io/hostname",
		}},
	}}

	if got, changed := StripAntiAffinity(WithAntiAffinity(nil, required, "v1"), ""); !changed || got != nil {
		t.Fatalf("injected only: %+v changed=%v, want nil", got, changed)
	}
	withOwn := WithAntiAffinity(WithAntiAffinity(own, required, "v1"), preferred, "v1")
	got, changed := StripAntiAffinity(withOwn, "")
	if !changed || len(got.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 ||
		got.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchLabels["app"] != "db" ||
		len(got.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 0 {
		t.Fatalf("the template's own term must stay: %+v", got.PodAntiAffinity)
	}
	if len(withOwn.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 2 {
		t.Fatal("the input was modified")
	}
	if got, changed := StripAntiAffinity(withOwn, "v1"); changed || got != withOwn {
		t.Fatal("the kept target's terms must stay")
	}
	if got, changed := StripAntiAffinity(own, ""); changed || got != own {
		t.Fatal("nothing injected: nothing to change")
	}
}
