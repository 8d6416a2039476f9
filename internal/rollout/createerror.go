package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	status := createErrorStatus(ro.Status, msg, r.Clock.Now())
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

// createErrorStatus is the status that reports a refused ReplicaSet: the Progressing condition
// False with reason ReplicaSetCreateError, the phase Progressing and the message naming the
// error; the rest of the status is kept. lastTransitionTime moves only when the condition's
// status flips, as for every condition.
func createErrorStatus(st v1alpha1.RolloutStatus, msg string, now time.Time) v1alpha1.RolloutStatus {
	out := *st.DeepCopy()
	stamp := metav1.NewTime(now.Truncate(time.Second))
	c := v1alpha1.RolloutCondition{
		Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: plan.ReasonReplicaSetCreateError,
		Message: msg, LastUpdateTime: stamp, LastTransitionTime: stamp,
	}
	replaced := false
	for i, old := range out.Conditions {
		if old.Type != c.Type {
			continue
		}
		replaced = true
		if old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
			c = old
		} else if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		out.Conditions[i] = c
	}
	if !replaced {
		out.Conditions = append(out.Conditions, c)
	}
	out.Phase = v1alpha1.RolloutPhaseProgressing
	out.Message = plan.ReasonReplicaSetCreateError + ": " + msg
	return out
}
