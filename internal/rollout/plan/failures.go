package plan

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// RolloutApplyFailed (Aviary's own condition type, which tools that know only Argo's ignore)
// reports a write the last plan asked for and the API server refused: a route the controller
// may not edit, a webhook refusing a scale. The next plan that is applied in full clears it.
const RolloutApplyFailed v1alpha1.RolloutConditionType = "ApplyFailed"

// ReasonApplyFailed is the reason of the ApplyFailed condition and of its Warning Event.
const ReasonApplyFailed = "ApplyFailed"

// ApplyFailedStatus is st with the ApplyFailed condition saying what failed; the rest is kept,
// so that it can be written as a narrow patch.
func ApplyFailedStatus(st v1alpha1.RolloutStatus, message string, now time.Time) v1alpha1.RolloutStatus {
	out := *st.DeepCopy()
	setCondition(&out, RolloutApplyFailed, corev1.ConditionTrue, ReasonApplyFailed, message, now)
	return out
}

// CreateFailedStatus is st reporting a new ReplicaSet the API server refused, as Argo Rollouts
// does: Progressing False with reason ReplicaSetCreateError, the phase Progressing and the
// message naming the error; the rest is kept.
func CreateFailedStatus(st v1alpha1.RolloutStatus, message string, now time.Time) v1alpha1.RolloutStatus {
	out := *st.DeepCopy()
	setCondition(&out, v1alpha1.RolloutProgressing, corev1.ConditionFalse, ReasonReplicaSetCreateError, message, now)
	out.Phase = v1alpha1.RolloutPhaseProgressing
	out.Message = ReasonReplicaSetCreateError + ": " + message
	return out
}
