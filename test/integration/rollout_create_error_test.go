package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// TestRefusedReplicaSetIsReported: a pod template the API server refuses for ReplicaSets (a
// container name with capitals and an underscore, which the Rollout CRD stores) is reported
// within seconds, as Argo Rollouts reports it: Progressing False with reason
// ReplicaSetCreateError, the server's error in status.message, and a Warning Event. Fixing
// the name lets the rollout proceed and replaces the condition.
func TestRefusedReplicaSetIsReported(t *testing.T) {
	s := newScene(t, nil)
	ro := shopRollout(1, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{setWeight(50)}}})
	ro.Spec.Template.Spec.Containers[0].Name = "Web_1"
	s.create(ro)

	deadline := time.Now().Add(10 * time.Second)
	for {
		ro := s.rollout()
		c := progressing(ro)
		wantMsg := fmt.Sprintf("Failed to create new replica set %q: ", s.newRSName())
		if c != nil && c.Status == corev1.ConditionFalse && c.Reason == plan.ReasonReplicaSetCreateError &&
			strings.HasPrefix(c.Message, wantMsg) && strings.Contains(c.Message, "Web_1") &&
			ro.Status.Message == plan.ReasonReplicaSetCreateError+": "+c.Message &&
			s.events.count(plan.ReasonReplicaSetCreateError) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refused ReplicaSet is not reported: condition %+v, message %q, %d events",
				c, ro.Status.Message, s.events.count(plan.ReasonReplicaSetCreateError))
		}
		time.Sleep(100 * time.Millisecond)
	}

	s.update(func(ro *v1alpha1.Rollout) { ro.Spec.Template.Spec.Containers[0].Name = "web" }, false)
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 1, sizes: map[string]int32{"blue": 1}})
	if c := progressing(s.rollout()); c == nil || c.Reason == plan.ReasonReplicaSetCreateError || c.Status != corev1.ConditionTrue {
		t.Errorf("after the fix the Progressing condition is %+v", c)
	}
}

func progressing(ro *v1alpha1.Rollout) *v1alpha1.RolloutCondition {
	for i := range ro.Status.Conditions {
		if ro.Status.Conditions[i].Type == v1alpha1.RolloutProgressing {
			return &ro.Status.Conditions[i]
		}
	}
	return nil
}
