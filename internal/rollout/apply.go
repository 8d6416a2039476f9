package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// apply makes the cluster match the plan: ReplicaSet sizes, history, Service selectors, routes, then
// the status (last, so that a status only ever describes changes already made), then Events.
//
// Sizes go before scale-down deadlines: a size is written with the resourceVersion the cache
// holds, and a deadline written first would make that version old at once. At a deadline the
// plan both scales the ReplicaSet to zero and removes the deadline; in the other order the
// removal went through, the scale-down failed on the version check, and the next reconcile,
// finding no deadline on a ReplicaSet still up, stamped a new one: the old version stayed 30 s
// longer, sometimes several times over.
func (r *Reconciler) apply(ctx context.Context, ro *v1alpha1.Rollout, p plan.Plan) error {
	if err := r.createReplicaSet(ctx, ro, p.CreateReplicaSet, p.Replicas); err != nil {
		return err
	}
	if err := r.writeRevisions(ctx, ro, p.Revisions); err != nil {
		return err
	}
	if err := r.scaleReplicaSets(ctx, ro, p); err != nil {
		return err
	}
	if err := r.stampScaleDownDeadlines(ctx, ro, p.ScaleDownAt); err != nil {
		return err
	}
	if err := r.deleteReplicaSets(ctx, ro, p.Delete); err != nil {
		return err
	}
	if err := r.syncRoleMetadata(ctx, ro, p); err != nil {
		return err
	}
	if err := r.switchServices(ctx, ro, p.Selectors); err != nil {
		return err
	}
	if err := r.writeRoutes(ctx, p.RouteUpdates); err != nil {
		return err
	}
	if err := r.deletePods(ctx, ro, p.DeletePods); err != nil {
		return err
	}
	if err := r.scaleWorkload(ctx, p.Workload); err != nil {
		return err
	}
	if err := r.createAnalysisRuns(ctx, p.Analysis.Create); err != nil {
		return err
	}
	if err := r.writeStatus(ctx, ro, p.Status); err != nil {
		return err
	}
	if err := r.retireAnalysisRuns(ctx, ro, p.Analysis); err != nil {
		return err
	}
	for _, e := range p.Events {
		r.Events.Event(ro, e.Type, e.Reason, e.Message)
	}
	return nil
}

// createReplicaSet creates the planned new ReplicaSet. A name already taken means an earlier
// reconcile created it, or someone else did: either way the caller plans again from fresh
// state. A refusal is reported on the Rollout (see reportCreateError).
func (r *Reconciler) createReplicaSet(ctx context.Context, ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet, replicas map[string]int32) error {
	if rs == nil {
		return nil
	}
	created := rs.DeepCopy()
	if want, ok := replicas[rs.Name]; ok {
		// Created at its planned size: the plan sized it from zero pods, within maxSurge.
		setSize(created, ro, want)
	}
	err := r.Client.Create(ctx, created)
	switch {
	case apierrors.IsAlreadyExists(err):
		return err
	case err != nil:
		return r.reportCreateError(ctx, ro, rs.Name, err)
	}
	return nil
}

// writeRevisions moves ReplicaSets to the revision numbers the plan gives them.
func (r *Reconciler) writeRevisions(ctx context.Context, ro *v1alpha1.Rollout, revisions map[string]int64) error {
	for name, revision := range revisions {
		rs := &appsv1.ReplicaSet{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: name}, rs); err != nil {
			return fmt.Errorf("reading ReplicaSet %q: %w", name, err)
		}
		patch := client.MergeFromWithOptions(rs.DeepCopy(), client.MergeFromWithOptimisticLock{})
		rs.Annotations[v1alpha1.RevisionAnnotation] = fmt.Sprint(revision)
		if err := r.Client.Patch(ctx, rs, patch); err != nil {
			return fmt.Errorf("moving ReplicaSet %q to revision %d: %w", name, revision, err)
		}
	}
	return nil
}

func (r *Reconciler) scaleReplicaSets(ctx context.Context, ro *v1alpha1.Rollout, p plan.Plan) error {
	if len(p.Replicas) == 0 {
		return nil
	}
	owned, err := r.ownedReplicaSets(ctx, ro)
	if err != nil {
		return err
	}
	for _, rs := range owned {
		want, ok := p.Replicas[rs.Name]
		if !ok {
			continue
		}
		if err := r.scale(ctx, ro, rs, want); err != nil {
			return err
		}
	}
	return nil
}

// scale sets a ReplicaSet's size, recording spec.replicas of the Rollout beside it as Argo does.
func (r *Reconciler) scale(ctx context.Context, ro *v1alpha1.Rollout, rs *appsv1.ReplicaSet, want int32) error {
	have := int32(0)
	if rs.Spec.Replicas != nil {
		have = *rs.Spec.Replicas
	}
	desired := fmt.Sprint(ro.Spec.ReplicasOrDefault())
	if have == want && rs.Annotations[v1alpha1.DesiredReplicasAnnotation] == desired {
		return nil
	}
	patch := client.MergeFromWithOptions(rs.DeepCopy(), client.MergeFromWithOptimisticLock{})
	setSize(rs, ro, want)
	if err := r.Client.Patch(ctx, rs, patch); err != nil {
		return fmt.Errorf("scaling ReplicaSet %q to %d: %w", rs.Name, want, err)
	}
	return nil
}

// setSize gives rs its size and, beside it, the Rollout's spec.replicas, as Argo records it.
func setSize(rs *appsv1.ReplicaSet, ro *v1alpha1.Rollout, want int32) {
	rs.Spec.Replicas = &want
	if rs.Annotations == nil {
		rs.Annotations = map[string]string{}
	}
	rs.Annotations[v1alpha1.DesiredReplicasAnnotation] = fmt.Sprint(ro.Spec.ReplicasOrDefault())
}

// stampScaleDownDeadlines writes (or, for a nil time, removes) the scale-down-deadline
// annotation, which carries a delay across reconciles and controller restarts.
func (r *Reconciler) stampScaleDownDeadlines(ctx context.Context, ro *v1alpha1.Rollout, deadlines map[string]*time.Time) error {
	for name, at := range deadlines {
		rs := &appsv1.ReplicaSet{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: name}, rs); err != nil {
			return client.IgnoreNotFound(err)
		}
		patch := client.MergeFrom(rs.DeepCopy())
		if at == nil {
			if _, ok := rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation]; !ok {
				continue
			}
			delete(rs.Annotations, v1alpha1.ScaleDownDeadlineAnnotation)
		} else {
			if rs.Annotations == nil {
				rs.Annotations = map[string]string{}
			}
			rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation] = at.UTC().Format(time.RFC3339)
		}
		if err := r.Client.Patch(ctx, rs, patch); err != nil {
			return fmt.Errorf("setting the scale-down deadline of ReplicaSet %q: %w", name, err)
		}
	}
	return nil
}

func (r *Reconciler) deleteReplicaSets(ctx context.Context, ro *v1alpha1.Rollout, names []string) error {
	for _, name := range names {
		rs := &appsv1.ReplicaSet{}
		rs.Namespace, rs.Name = ro.Namespace, name
		if err := r.Client.Delete(ctx, rs); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting old ReplicaSet %q: %w", name, err)
		}
	}
	return nil
}

// switchServices points each Service at a pod-template hash, marking it as managed so the
// selector can be given back when the Rollout goes away.
func (r *Reconciler) switchServices(ctx context.Context, ro *v1alpha1.Rollout, selectors map[string]string) error {
	for name, hash := range selectors {
		svc := &corev1.Service{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ro.Namespace, Name: name}, svc); err != nil {
			return fmt.Errorf("reading Service %q: %w", name, err)
		}
		from := svc.Spec.Selector[v1alpha1.PodTemplateHashLabel]
		if from == hash && svc.Annotations[v1alpha1.ManagedByRolloutsAnnotation] == ro.Name {
			continue
		}
		patch := client.MergeFromWithOptions(svc.DeepCopy(), client.MergeFromWithOptimisticLock{})
		if svc.Spec.Selector == nil {
			svc.Spec.Selector = map[string]string{}
		}
		svc.Spec.Selector[v1alpha1.PodTemplateHashLabel] = hash
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations[v1alpha1.ManagedByRolloutsAnnotation] = ro.Name
		if err := r.Client.Patch(ctx, svc, patch); err != nil {
			return fmt.Errorf("switching Service %q to %s: %w", name, hash, err)
		}
	}
	return nil
}

// writeStatus patches the status when it changed, with optimistic locking: a status written
// by the CLI (promote, abort) in the meantime makes this reconcile start over instead of being
// overwritten.
func (r *Reconciler) writeStatus(ctx context.Context, ro *v1alpha1.Rollout, status v1alpha1.RolloutStatus) error {
	if equality.Semantic.DeepEqual(ro.Status, status) {
		return nil
	}
	patch := client.MergeFromWithOptions(ro.DeepCopy(), client.MergeFromWithOptimisticLock{})
	replaced := ro.ResourceVersion
	ro.Status = status
	err := r.Client.Status().Patch(ctx, ro, patch)
	if apierrors.IsConflict(err) {
		return fmt.Errorf("rollout changed while reconciling, retrying: %w", err)
	}
	if err == nil {
		r.written.wrote(client.ObjectKeyFromObject(ro), replaced, r.Clock.Now())
	}
	return err
}

// releaseServices gives back the Services a deleted Rollout managed: the pod-template hash
// comes off their selectors, so they select every pod of the app again.
func (r *Reconciler) releaseServices(ctx context.Context, key types.NamespacedName) error {
	var list corev1.ServiceList
	if err := r.Client.List(ctx, &list, client.InNamespace(key.Namespace)); err != nil {
		return err
	}
	var errs []error
	for i := range list.Items {
		svc := &list.Items[i]
		if svc.Annotations[v1alpha1.ManagedByRolloutsAnnotation] != key.Name {
			continue
		}
		patch := client.MergeFrom(svc.DeepCopy())
		delete(svc.Spec.Selector, v1alpha1.PodTemplateHashLabel)
		delete(svc.Annotations, v1alpha1.ManagedByRolloutsAnnotation)
		errs = append(errs, r.Client.Patch(ctx, svc, patch))
	}
	return errors.Join(errs...)
}
