package rollout

import (
	"context"
	"fmt"

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

// scaleWorkload scales the workloadRef Deployment down as planned, with the resourceVersion
// observe read: a Deployment changed since is left for the reconcile its change triggers.
func (r *Reconciler) scaleWorkload(ctx context.Context, w *plan.WorkloadScaleDown) error {
	if w == nil {
		return nil
	}
	d := w.Deployment.DeepCopy()
	patch := client.MergeFromWithOptions(w.Deployment, client.MergeFromWithOptimisticLock{})
	d.Spec.Replicas = &w.Replicas
	if err := r.Client.Patch(ctx, d, patch); err != nil {
		return fmt.Errorf("scaling Deployment %q to %d: %w", d.Name, w.Replicas, err)
	}
	return nil
}
