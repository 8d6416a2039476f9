package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// referencesDeployment: the Rollout takes its pod template from the named Deployment.
func referencesDeployment(ro *v1alpha1.Rollout, name string) bool {
	ref := ro.Spec.WorkloadRef
	return ref != nil && ref.Name == name && (ref.Kind == "" || ref.Kind == "Deployment")
}

// rolloutsForDeployment maps a Deployment event to the Rollouts of its namespace whose
// workloadRef names it, so that a new template (or the Deployment appearing) starts a rollout.
func (r *Reconciler) rolloutsForDeployment(ctx context.Context, obj client.Object) []ctrl.Request {
	return r.rolloutsInNamespace(ctx, obj.GetNamespace(), func(ro *v1alpha1.Rollout) bool {
		return referencesDeployment(ro, obj.GetName())
	})
}

// syncWorkload records in the planned status the generation of the workloadRef Deployment
// whose template was used, and scales that Deployment down as spec.workloadRef.scaleDown asks
// (plan.WorkloadScale decides). A Deployment that changed since its template was read is left
// for the reconcile its change triggers.
func (r *Reconciler) syncWorkload(ctx context.Context, ro *v1alpha1.Rollout, p *plan.Plan) error {
	ref := ro.Spec.WorkloadRef
	if ref == nil || ro.Spec.Template == nil || (ref.Kind != "" && ref.Kind != "Deployment") {
		return nil
	}
	d := &appsv1.Deployment{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, d)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading workloadRef Deployment %q: %w", ref.Name, err)
	}
	if !equality.Semantic.DeepEqual(d.Spec.Template, *ro.Spec.Template) {
		return nil
	}
	p.Status.WorkloadObservedGeneration = fmt.Sprint(d.Generation)
	have := ptr.Deref(d.Spec.Replicas, 1)
	want, ok := plan.WorkloadScale(ro, &p.Status, have)
	if !ok {
		return nil
	}
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Replicas = &want
	if err := r.Client.Patch(ctx, d, patch); err != nil {
		return fmt.Errorf("scaling Deployment %q to %d: %w", d.Name, want, err)
	}
	r.Events.Event(ro, corev1.EventTypeNormal, plan.ReasonScalingDeployment,
		fmt.Sprintf("Scaled down Deployment %s from %d to %d", d.Name, have, want))
	return nil
}
