package plan

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// TestCreateFailedStatus: the refused ReplicaSet replaces the Progressing condition and the
// message, keeps every other condition, and reporting it again changes nothing.
func TestCreateFailedStatus(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(t0.Add(-time.Hour))
	before := v1alpha1.RolloutStatus{
		Phase: v1alpha1.RolloutPhaseHealthy,
		Conditions: []v1alpha1.RolloutCondition{
			{Type: v1alpha1.RolloutAvailable, Status: corev1.ConditionTrue, Reason: "AvailableReason", LastUpdateTime: earlier, LastTransitionTime: earlier},
			{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: earlier, LastTransitionTime: earlier},
		},
	}
	msg := `Failed to create new replica set "shop-abc": ReplicaSet.apps "shop-abc" is invalid`
	got := CreateFailedStatus(before, msg, t0)
	now := metav1.NewTime(t0)
	want := v1alpha1.RolloutStatus{
		Phase:   v1alpha1.RolloutPhaseProgressing,
		Message: "ReplicaSetCreateError: " + msg,
		Conditions: []v1alpha1.RolloutCondition{
			before.Conditions[0],
			{Type: v1alpha1.RolloutProgressing, Status: corev1.ConditionFalse, Reason: ReasonReplicaSetCreateError, Message: msg, LastUpdateTime: now, LastTransitionTime: now},
		},
	}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("status:\n got %+v\nwant %+v", got, want)
	}
	if again := CreateFailedStatus(got, msg, t0.Add(time.Minute)); !equality.Semantic.DeepEqual(again, got) {
		t.Errorf("reporting the same error again changed the status:\n%+v", again)
	}
	if before.Conditions[1].Reason != "NewReplicaSetAvailable" {
		t.Error("the input status was modified")
	}
}
