package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// Ephemeral metadata (canaryMetadata/stableMetadata, previewMetadata/activeMetadata) and
// antiAffinity live on the ReplicaSet's pod template only. A ReplicaSet is known by the
// rollouts-pod-template-hash label, computed from the Rollout's template before any of this
// is added, so changing them never makes a template look like another version.
//
// What was applied is recorded on the ReplicaSet (plan.EphemeralMetadataAnnotation). A role
// change moves the ReplicaSet from the recorded set to the wanted one in three steps, each
// idempotent, so that a failure half way is finished by the next reconcile:
//  1. the pod template (pods created from now on carry the new role);
//  2. the existing pods, patched in place (never recreated);
//  3. the record, written last: while it still differs from the wanted set, steps 1–2 run again.

// decorateNewReplicaSet gives a ReplicaSet about to be created its role's metadata and, on an
// update with antiAffinity, the anti-affinity term against the stable (or active) pods.
func decorateNewReplicaSet(ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet) {
	hash := v1alpha1.HashOf(rs)
	tpl := &rs.Spec.Template
	tpl.Spec.Affinity = plan.WithAntiAffinity(tpl.Spec.Affinity, plan.AntiAffinityOf(ro), plan.AntiAffinityTarget(ro, hash))
	want := plan.EffectiveMetadata(plan.NewReplicaSetMetadata(ro, hash), rs)
	tpl.Labels, _ = plan.SwapMetadata(tpl.Labels, nil, want.Labels)
	tpl.Annotations, _ = plan.SwapMetadata(tpl.Annotations, nil, want.Annotations)
	if record := plan.EncodeMetadata(want); record != "" {
		rs.Annotations[plan.EphemeralMetadataAnnotation] = record
	}
}

// syncRoleMetadata brings every ReplicaSet the plan names, and its pods, to its role's
// ephemeral metadata, and takes the injected anti-affinity off a ReplicaSet that no longer
// needs it.
func (r *Reconciler) syncRoleMetadata(ctx context.Context, ro *v1alpha1.Rollout, p plan.Plan) error {
	for name, m := range p.Metadata {
		rs := &appsv1.ReplicaSet{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: name}, rs); err != nil {
			if client.IgnoreNotFound(err) == nil {
				continue
			}
			return fmt.Errorf("reading ReplicaSet %q: %w", name, err)
		}
		if rs.DeletionTimestamp != nil {
			continue
		}
		err := r.stripAntiAffinity(ctx, rs, plan.AntiAffinityKeep(ro, p.Status, v1alpha1.HashOf(rs)))
		if err == nil {
			err = r.syncReplicaSetMetadata(ctx, rs, plan.EffectiveMetadata(m, rs))
		}
		if client.IgnoreNotFound(err) != nil { // a ReplicaSet pruned in this reconcile is gone
			return err
		}
	}
	return nil
}

func (r *Reconciler) syncReplicaSetMetadata(ctx context.Context, rs *appsv1.ReplicaSet, want v1alpha1.PodTemplateMetadata) error {
	record := plan.EncodeMetadata(want)
	if rs.Annotations[plan.EphemeralMetadataAnnotation] == record {
		return nil
	}
	applied := plan.AppliedMetadata(rs)

	// 1. The pod template. A merge patch without a resourceVersion carries only these keys,
	// so a stale cached copy cannot undo anyone else's change.
	tpl := rs.Spec.Template.ObjectMeta
	labels, lc := plan.SwapMetadata(tpl.Labels, applied.Labels, want.Labels)
	annotations, ac := plan.SwapMetadata(tpl.Annotations, applied.Annotations, want.Annotations)
	if lc || ac {
		patch := client.MergeFrom(rs.DeepCopy())
		rs.Spec.Template.Labels, rs.Spec.Template.Annotations = labels, annotations
		if err := r.Client.Patch(ctx, rs, patch); err != nil {
			return fmt.Errorf("updating the pod template metadata of ReplicaSet %q: %w", rs.Name, err)
		}
	}

	// 2. The pods, in place.
	if err := r.syncPodMetadata(ctx, rs, applied, want); err != nil {
		return err
	}

	// 3. The record.
	patch := client.MergeFrom(rs.DeepCopy())
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	if record == "" {
		delete(rs.Annotations, plan.EphemeralMetadataAnnotation)
	} else {
		rs.Annotations[plan.EphemeralMetadataAnnotation] = record
	}
	if err := r.Client.Patch(ctx, rs, patch); err != nil {
		return fmt.Errorf("recording the ephemeral metadata of ReplicaSet %q: %w", rs.Name, err)
	}
	return nil
}

// syncPodMetadata relabels and re-annotates the ReplicaSet's pods in place. Pods are listed
// from the API server, not the cache: the controller does not watch pods, and this runs only
// when a role changes.
func (r *Reconciler) syncPodMetadata(ctx context.Context, rs *appsv1.ReplicaSet, applied, want v1alpha1.PodTemplateMetadata) error {
	if rs.Spec.Selector == nil {
		return nil
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		return fmt.Errorf("reading the selector of ReplicaSet %q: %w", rs.Name, err)
	}
	if selector.Empty() {
		// Never touch every pod of the namespace.
		return nil
	}
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	var pods corev1.PodList
	if err := reader.List(ctx, &pods, client.InNamespace(rs.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return fmt.Errorf("listing the pods of ReplicaSet %q: %w", rs.Name, err)
	}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.DeletionTimestamp != nil || !metav1.IsControlledBy(pod, rs) {
			continue
		}
		labels, lc := plan.SwapMetadata(pod.Labels, applied.Labels, want.Labels)
		annotations, ac := plan.SwapMetadata(pod.Annotations, applied.Annotations, want.Annotations)
		if !lc && !ac {
			continue
		}
		patch := client.MergeFrom(pod.DeepCopy())
		pod.Labels, pod.Annotations = labels, annotations
		if err := r.Client.Patch(ctx, pod, patch); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("updating the metadata of pod %q: %w", pod.Name, err)
		}
	}
	return nil
}

// stripAntiAffinity removes injected anti-affinity terms other than keep's from the
// ReplicaSet's pod template. Running pods keep theirs (scheduling already happened).
func (r *Reconciler) stripAntiAffinity(ctx context.Context, rs *appsv1.ReplicaSet, keep string) error {
	affinity, changed := plan.StripAntiAffinity(rs.Spec.Template.Spec.Affinity, keep)
	if !changed {
		return nil
	}
	patch := client.MergeFrom(rs.DeepCopy())
	rs.Spec.Template.Spec.Affinity = affinity
	if err := r.Client.Patch(ctx, rs, patch); err != nil {
		return fmt.Errorf("removing the injected anti-affinity of ReplicaSet %q: %w", rs.Name, err)
	}
	return nil
}
