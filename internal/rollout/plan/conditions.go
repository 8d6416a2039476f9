package plan

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Condition reasons, as Argo Rollouts writes them.
const (
	ReasonReplicaSetUpdated    = "ReplicaSetUpdated"
	ReasonNewRSAvailable       = "NewReplicaSetAvailable"
	ReasonAvailable            = "AvailableReason"
	ReasonNotAvailable         = "NotAvailable"
	ReasonRolloutCompleted     = "RolloutCompleted"
	ReasonRolloutNotCompleted  = "RolloutNotCompleted"
	ReasonHealthy              = "RolloutHealthy"
	ReasonNotHealthy           = "RolloutNotHealthy"
	ReasonPausedCondition      = "RolloutPaused"
	ReasonProgressDeadlineCond = "ProgressDeadlineExceeded"
	// ReasonStepNotRun (Aviary's own) marks a step kind the controller does not run yet.
	ReasonStepNotRun = "StepNotRun"
)

// findCondition returns the condition of the given type, or nil.
func findCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) *v1alpha1.RolloutCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// setCondition writes a condition. Writing the same status, reason and message again changes
// nothing, so an idle rollout's status stays byte-for-byte the same across reconciles;
// lastTransitionTime moves only when the status flips.
func setCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) {
	writeCondition(st, t, status, reason, message, now, false)
}

// touchCondition writes a condition and moves its lastUpdateTime even when nothing else
// changed: the Progressing condition's lastUpdateTime is when progress was last seen.
func touchCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) {
	writeCondition(st, t, status, reason, message, now, true)
}

func writeCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType, status corev1.ConditionStatus, reason, message string, now time.Time, touch bool) {
	stamp := metav1.NewTime(now.Truncate(time.Second))
	c := findCondition(st, t)
	if c == nil {
		st.Conditions = append(st.Conditions, v1alpha1.RolloutCondition{
			Type: t, Status: status, Reason: reason, Message: message,
			LastUpdateTime: stamp, LastTransitionTime: stamp,
		})
		return
	}
	if c.Status == status && c.Reason == reason && c.Message == message && !touch {
		return
	}
	if c.Status != status {
		c.LastTransitionTime = stamp
	}
	c.Status, c.Reason, c.Message, c.LastUpdateTime = status, reason, message, stamp
}

// removeCondition drops a condition of the given type.
func removeCondition(st *v1alpha1.RolloutStatus, t v1alpha1.RolloutConditionType) {
	kept := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	st.Conditions = kept
}
