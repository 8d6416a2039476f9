package podstate

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func withConditions(conds ...corev1.PodCondition) *corev1.Pod {
	return &corev1.Pod{Status: corev1.PodStatus{Conditions: conds}}
}

func TestReadySinceReadsTheReadyConditionOnly(t *testing.T) {
	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		pod       *corev1.Pod
		wantReady bool
		wantSince time.Time
	}{
		{"no conditions yet", withConditions(), false, time.Time{}},
		{"ready", withConditions(
			corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(since)},
		), true, since},
		{"not ready", withConditions(
			corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(since)},
		), false, time.Time{}},
		{"unknown", withConditions(corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionUnknown}), false, time.Time{}},
		{"containers ready is not pod ready", withConditions(
			corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
		), false, time.Time{}},
	}
	for _, c := range cases {
		ready, got := ReadySince(c.pod)
		if ready != c.wantReady || !got.Equal(c.wantSince) {
			t.Errorf("%s: ReadySince = %v, %v; want %v, %v", c.name, ready, got, c.wantReady, c.wantSince)
		}
		if Ready(c.pod) != c.wantReady {
			t.Errorf("%s: Ready = %v, want %v", c.name, !c.wantReady, c.wantReady)
		}
	}
}
