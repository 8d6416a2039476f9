package plan_test

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

var (
	canaryMD  = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}, Annotations: map[string]string{"note": "c"}}
	stableMD  = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "stable"}}
	previewMD = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "preview"}}
	activeMD  = &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "active"}}
)

func metadataCanary() v1alpha1.RolloutStrategy {
	s := talkCanary()
	s.Canary.CanaryMetadata, s.Canary.StableMetadata = canaryMD, stableMD
	return s
}

func metadataBlueGreen() v1alpha1.RolloutStrategy {
	s := blueGreen(false)
	s.BlueGreen.PreviewMetadata, s.BlueGreen.ActiveMetadata = previewMD, activeMD
	return s
}

func rsOf(hash string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "shop-" + hash, Labels: map[string]string{v1alpha1.PodTemplateHashLabel: hash}}}
}

func role(m *v1alpha1.PodTemplateMetadata) string {
	if m == nil {
		return "-"
	}
	return m.Labels["role"]
}

func TestRoleMetadata(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy v1alpha1.RolloutStrategy
		st       v1alpha1.RolloutStatus
		want     string // roles of shop-v2 (new), shop-v1, shop-v0
	}{
		{"canary first deploy", metadataCanary(), v1alpha1.RolloutStatus{StableRS: "v2", CurrentPodHash: "v2"}, "stable - -"},
		{"canary update", metadataCanary(), v1alpha1.RolloutStatus{StableRS: "v1", CurrentPodHash: "v2"}, "canary stable -"},
		{"canary completed", metadataCanary(), v1alpha1.RolloutStatus{StableRS: "v2", CurrentPodHash: "v2"}, "stable - -"},
		{"canary aborted keeps roles", metadataCanary(), v1alpha1.RolloutStatus{StableRS: "v1", CurrentPodHash: "v2", Abort: true}, "canary stable -"},
		{"canary without metadata", talkCanary(), v1alpha1.RolloutStatus{StableRS: "v1", CurrentPodHash: "v2"}, "- - -"},
		{"blue-green first deploy, not yet active", metadataBlueGreen(), v1alpha1.RolloutStatus{StableRS: "v2", CurrentPodHash: "v2"}, "active - -"},
		{"blue-green preview", metadataBlueGreen(), v1alpha1.RolloutStatus{StableRS: "v1", CurrentPodHash: "v2",
			BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: "v1"}}, "preview active -"},
		{"blue-green promoted", metadataBlueGreen(), v1alpha1.RolloutStatus{StableRS: "v2", CurrentPodHash: "v2",
			BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: "v2"}}, "active - -"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: tc.strategy}}
			v2, v1, v0 := rsOf("v2"), rsOf("v1"), rsOf("v0")
			o := plan.Observed{Rollout: ro, NewRS: v2, OldRSs: []*appsv1.ReplicaSet{v1, v0}}
			if tc.st.StableRS == "v1" {
				o.StableRS = v1
			}
			got := plan.RoleMetadata(o, tc.st)
			if len(got) != 3 {
				t.Fatalf("RoleMetadata named %d ReplicaSets, want all 3: %v", len(got), got)
			}
			if s := fmt.Sprint(role(got["shop-v2"]), " ", role(got["shop-v1"]), " ", role(got["shop-v0"])); s != tc.want {
				t.Fatalf("roles %q, want %q", s, tc.want)
			}
		})
	}
}

func TestNewReplicaSetMetadata(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy v1alpha1.RolloutStrategy
		st       v1alpha1.RolloutStatus
		want     string
	}{
		{"canary first deploy", metadataCanary(), v1alpha1.RolloutStatus{}, "stable"},
		{"canary update (status still names the old template)", metadataCanary(), v1alpha1.RolloutStatus{StableRS: "v1", CurrentPodHash: "v1"}, "canary"},
		{"canary back to stable", metadataCanary(), v1alpha1.RolloutStatus{StableRS: "v2", CurrentPodHash: "v3"}, "stable"},
		{"blue-green first deploy", metadataBlueGreen(), v1alpha1.RolloutStatus{}, "active"},
		{"blue-green update", metadataBlueGreen(), v1alpha1.RolloutStatus{StableRS: "v1", CurrentPodHash: "v1",
			BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: "v1"}}, "preview"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: tc.strategy}, Status: tc.st}
			if got := role(plan.NewReplicaSetMetadata(ro, "v2")); got != tc.want {
				t.Fatalf("role %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSwapMetadata(t *testing.T) {
	for _, tc := range []struct {
		name                string
		have, applied, want map[string]string
		out                 string
		changed             bool
	}{
		{"add to nothing", nil, nil, map[string]string{"role": "canary"}, "map[role:canary]", true},
		{"already there", map[string]string{"app": "shop", "role": "canary"}, map[string]string{"role": "canary"},
			map[string]string{"role": "canary"}, "map[app:shop role:canary]", false},
		{"role change", map[string]string{"app": "shop", "role": "canary", "x": "1"}, map[string]string{"role": "canary", "x": "1"},
			map[string]string{"role": "stable"}, "map[app:shop role:stable]", true},
		{"remove all", map[string]string{"app": "shop", "role": "stable"}, map[string]string{"role": "stable"}, nil, "map[app:shop]", true},
		{"a value changed by someone else is no longer ours", map[string]string{"x": "theirs"}, map[string]string{"x": "1"}, nil,
			"map[x:theirs]", false},
		{"nothing applied, nothing wanted", map[string]string{"app": "shop"}, nil, nil, "map[app:shop]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprint(tc.have)
			out, changed := plan.SwapMetadata(tc.have, tc.applied, tc.want)
			if fmt.Sprint(out) != tc.out || changed != tc.changed {
				t.Fatalf("got %v changed=%v, want %s changed=%v", out, changed, tc.out, tc.changed)
			}
			if fmt.Sprint(tc.have) != before {
				t.Fatalf("input modified: %v, was %s", tc.have, before)
			}
		})
	}
}

func TestEffectiveMetadataNeverOverridesTheSelector(t *testing.T) {
	rs := rsOf("v2")
	rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop", v1alpha1.PodTemplateHashLabel: "v2"}}
	got := plan.EffectiveMetadata(&v1alpha1.PodTemplateMetadata{
		Labels:      map[string]string{"app": "other", v1alpha1.PodTemplateHashLabel: "x", "role": "canary"},
		Annotations: map[string]string{"a": "b"},
	}, rs)
	if fmt.Sprint(got.Labels) != "map[role:canary]" || fmt.Sprint(got.Annotations) != "map[a:b]" {
		t.Fatalf("effective %+v", got)
	}
	if m := plan.EffectiveMetadata(nil, rs); m.Labels != nil || m.Annotations != nil {
		t.Fatalf("nil metadata gave %+v", m)
	}
}

func TestMetadataRecordRoundTrip(t *testing.T) {
	m := v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "canary"}, Annotations: map[string]string{"a": "b"}}
	rs := rsOf("v2")
	rs.Annotations = map[string]string{plan.EphemeralMetadataAnnotation: plan.EncodeMetadata(m)}
	if got := plan.AppliedMetadata(rs); fmt.Sprint(got) != fmt.Sprint(m) {
		t.Fatalf("round trip %+v, want %+v", got, m)
	}
	if plan.EncodeMetadata(v1alpha1.PodTemplateMetadata{}) != "" {
		t.Fatal("empty metadata must encode to no record")
	}
	rs.Annotations[plan.EphemeralMetadataAnnotation] = "{not json"
	if got := plan.AppliedMetadata(rs); got.Labels != nil {
		t.Fatalf("unreadable record gave %+v", got)
	}
}

// TestMetadataFollowsTheCanaryWalk: the plan moves the roles on the reconcile that completes
// the canary, not one later.
func TestMetadataFollowsTheCanaryWalk(t *testing.T) {
	w := newWorld(t, metadataCanary(), 5)
	p := w.settle()
	if role(p.Metadata["shop-v1"]) != "stable" {
		t.Fatalf("first deploy: %v", p.Metadata)
	}
	w.Deploy("v2")
	p = w.settle()
	if role(p.Metadata["shop-v2"]) != "canary" || role(p.Metadata["shop-v1"]) != "stable" {
		t.Fatalf("paused canary: v2=%s v1=%s", role(p.Metadata["shop-v2"]), role(p.Metadata["shop-v1"]))
	}
	w.Rollout.Status.PromoteFull = true
	for i := 0; i < 50 && w.Rollout.Status.StableRS != "v2"; i++ {
		p = w.Reconcile()
	}
	if w.Rollout.Status.StableRS != "v2" || role(p.Metadata["shop-v2"]) != "stable" || p.Metadata["shop-v1"] != nil {
		t.Fatalf("completing reconcile: stableRS=%s v2=%s v1=%s", w.Rollout.Status.StableRS, role(p.Metadata["shop-v2"]), role(p.Metadata["shop-v1"]))
	}
}

func TestMetadataFollowsBlueGreenPromotion(t *testing.T) {
	w := newWorld(t, metadataBlueGreen(), 3)
	w.settle()
	w.Deploy("v2")
	p := w.settle()
	if role(p.Metadata["shop-v2"]) != "preview" || role(p.Metadata["shop-v1"]) != "active" {
		t.Fatalf("preview: v2=%s v1=%s", role(p.Metadata["shop-v2"]), role(p.Metadata["shop-v1"]))
	}
	w.promote()
	p = w.settle()
	if role(p.Metadata["shop-v2"]) != "active" || p.Metadata["shop-v1"] != nil {
		t.Fatalf("promoted: v2=%s v1=%s", role(p.Metadata["shop-v2"]), role(p.Metadata["shop-v1"]))
	}
}
