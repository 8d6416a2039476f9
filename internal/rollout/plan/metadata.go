package plan

import (
	"encoding/json"
	"maps"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// EphemeralMetadataAnnotation, on a ReplicaSet, records as JSON ({"labels":…,"annotations":…})
// the ephemeral metadata (canaryMetadata, stableMetadata, previewMetadata, activeMetadata)
// last applied to its pod template and pods. It is what lets a role change remove the keys of
// the old role: without it, a role key could not be told apart from a key of the template
// itself. Argo Rollouts keeps the same record under the same name.
const EphemeralMetadataAnnotation = "rollout.argoproj.io/ephemeral-metadata"

// RoleMetadata is the ephemeral metadata each ReplicaSet (by name) should carry, given the
// status this reconcile plans (so that the reconcile that completes a canary, or promotes a
// preview, also moves the metadata). A nil value means "no role": the ReplicaSet loses
// whatever ephemeral metadata it had. Every ReplicaSet the Rollout owns is present.
//
// Canary: the stable ReplicaSet gets stableMetadata; the new one gets canaryMetadata while it
// is not the stable one. Blue-green: the active ReplicaSet (the one the active Service
// selects, or the stable one) gets activeMetadata; the new one gets previewMetadata until it
// becomes active.
func RoleMetadata(o Observed, st v1alpha1.RolloutStatus) map[string]*v1alpha1.PodTemplateMetadata {
	out := map[string]*v1alpha1.PodTemplateMetadata{}
	current := v1alpha1.HashOf(o.NewRS)
	for _, rs := range o.all() {
		out[rs.Name] = metadataFor(o.Rollout, st, current, v1alpha1.HashOf(rs))
	}
	return out
}

// NewReplicaSetMetadata is the ephemeral metadata a ReplicaSet created now, for the current
// template's hash, starts with, so that its first pods carry their role from the start.
func NewReplicaSetMetadata(ro *v1alpha1.Rollout, hash string) *v1alpha1.PodTemplateMetadata {
	return metadataFor(ro, ro.Status, hash, hash)
}

// metadataFor is the metadata of the ReplicaSet of hash, when current is the hash of the
// Rollout's template.
func metadataFor(ro *v1alpha1.Rollout, st v1alpha1.RolloutStatus, current, hash string) *v1alpha1.PodTemplateMetadata {
	stable := st.StableRS
	if stable == "" {
		// The first deploy: the current template is the stable one.
		stable = current
	}
	switch s := ro.Spec.Strategy; {
	case s.BlueGreen != nil:
		active := st.BlueGreen.ActiveSelector
		if active == "" {
			active = stable
		}
		switch hash {
		case active:
			return s.BlueGreen.ActiveMetadata
		case current:
			return s.BlueGreen.PreviewMetadata
		}
	case s.Canary != nil:
		switch hash {
		case stable:
			return s.Canary.StableMetadata
		case current:
			return s.Canary.CanaryMetadata
		}
	}
	return nil
}

// AppliedMetadata reads the ephemeral metadata recorded on a ReplicaSet; an unreadable
// record counts as none.
func AppliedMetadata(rs *appsv1.ReplicaSet) v1alpha1.PodTemplateMetadata {
	var m v1alpha1.PodTemplateMetadata
	if s := rs.Annotations[EphemeralMetadataAnnotation]; s != "" {
		_ = json.Unmarshal([]byte(s), &m)
	}
	return m
}

// EncodeMetadata is the record of applied metadata; "" when there is none (the annotation is
// then removed).
func EncodeMetadata(m v1alpha1.PodTemplateMetadata) string {
	if len(m.Labels) == 0 && len(m.Annotations) == 0 {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}

// EffectiveMetadata is the part of the wanted metadata that may be applied to a ReplicaSet:
// labels its selector uses (the pod-template hash, the Rollout's selector) are never
// overridden, since that would orphan its pods.
func EffectiveMetadata(want *v1alpha1.PodTemplateMetadata, rs *appsv1.ReplicaSet) v1alpha1.PodTemplateMetadata {
	var out v1alpha1.PodTemplateMetadata
	if want == nil {
		return out
	}
	for k, v := range want.Labels {
		if rs.Spec.Selector != nil {
			if _, used := rs.Spec.Selector.MatchLabels[k]; used {
				continue
			}
		}
		if k == v1alpha1.PodTemplateHashLabel {
			continue
		}
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels[k] = v
	}
	if len(want.Annotations) > 0 {
		out.Annotations = maps.Clone(want.Annotations)
	}
	return out
}

// SwapMetadata moves one set of labels (or annotations) from the applied ephemeral metadata
// to the wanted one: keys only the applied set has are removed (unless someone changed their
// value since, in which case they are no longer ours), and wanted keys are set. It returns the
// new map and whether anything changed; have is not modified.
func SwapMetadata(have, applied, want map[string]string) (map[string]string, bool) {
	out := maps.Clone(have)
	changed := false
	for k, v := range applied {
		if _, kept := want[k]; kept {
			continue
		}
		if cur, ok := out[k]; ok && cur == v {
			delete(out, k)
			changed = true
		}
	}
	for k, v := range want {
		if cur, ok := out[k]; ok && cur == v {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
		changed = true
	}
	return out, changed
}
