package rollout

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// errTemplateRefused ends a reconcile whose new ReplicaSet the API server refused as invalid:
// it is reported in the status, and only an edit of the template, which reconciles the
// Rollout again, can change the answer.
var errTemplateRefused = errors.New("the API server refused the new ReplicaSet")

// reportCreateError says in the status (Progressing False, ReplicaSetCreateError) and in a
// Warning Event why the new ReplicaSet could not be created, instead of retrying in silence.
// An invalid template is not retried (errTemplateRefused); any other error is returned so that
// the reconcile is retried with backoff.
func (r *Reconciler) reportCreateError(ctx context.Context, ro *v1alpha1.Rollout, name string, createErr error) error {
	msg := fmt.Sprintf("Failed to create new replica set %q: %v", name, createErr)
	status := plan.CreateFailedStatus(ro.Status, msg, r.Clock.Now())
	if !equality.Semantic.DeepEqual(ro.Status, status) { // else already reported
		if err := r.writeStatus(ctx, ro, status); err != nil {
			return errors.Join(fmt.Errorf("creating ReplicaSet %q: %w", name, createErr), err)
		}
		r.Events.Event(ro, corev1.EventTypeWarning, plan.ReasonReplicaSetCreateError, msg)
	}
	if apierrors.IsInvalid(createErr) {
		return errTemplateRefused
	}
	return fmt.Errorf("creating ReplicaSet %q: %w", name, createErr)
}

// reportApplyFailure records a write of the plan that failed: a log line with the Rollout's
// key, the ApplyFailed condition (a narrow status patch) and a Warning Event once per distinct
// failure. The error is returned, so that the reconcile is retried with backoff.
func (r *Reconciler) reportApplyFailure(ctx context.Context, ro *v1alpha1.Rollout, applyErr error) error {
	ctrl.LoggerFrom(ctx).Error(applyErr, "Applying the plan failed", "rollout", klog.KObj(ro))
	status := plan.ApplyFailedStatus(ro.Status, applyErr.Error(), r.Clock.Now())
	if equality.Semantic.DeepEqual(ro.Status, status) {
		return applyErr // already reported
	}
	if err := r.writeStatus(ctx, ro, status); err != nil {
		return errors.Join(applyErr, fmt.Errorf("reporting it in the status: %w", err))
	}
	r.Events.Event(ro, corev1.EventTypeWarning, plan.ReasonApplyFailed, applyErr.Error())
	return applyErr
}
