package integration

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// shopPods lists the Rollout's pods and counts those available: ready for minReadySeconds, and
// not terminating.
func (s *scene) shopPods(minReadySeconds int32) (pods []corev1.Pod, available int32) {
	s.t.Helper()
	var list corev1.PodList
	if err := env.Client.List(s.t.Context(), &list, client.InNamespace(s.ns), client.MatchingLabels{"app": "shop"}); err != nil {
		s.t.Fatal(err)
	}
	now := time.Now()
	for _, pod := range list.Items {
		if pod.DeletionTimestamp != nil || !podReady(&pod) {
			continue
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).Before(now) {
				available++
			}
		}
	}
	return list.Items, available
}

// TestRestartRecreatesEveryPod sets spec.restartAt (what `kubectl argo rollouts restart` does)
// on a settled canary of 4 pods with maxUnavailable 1: every pod is recreated, one at a time,
// and status.restartedAt records the restart. minReadySeconds stretches each replacement's
// unavailable time, so that the polls see the restart at work.
func TestRestartRecreatesEveryPod(t *testing.T) {
	const replicas, minReady = 4, 1
	s := newScene(t, nil)
	strategy := v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0)),
		Steps: []v1alpha1.CanaryStep{setWeight(50), pauseFor("")},
	}}
	ro := shopRollout(replicas, strategy)
	ro.Spec.MinReadySeconds = minReady
	s.create(ro)
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"blue": replicas}})

	// creationTimestamp has whole seconds: restartAt must be a later second than every pod's.
	before, _ := s.shopPods(minReady)
	var newest time.Time
	for _, pod := range before {
		if pod.CreationTimestamp.After(newest) {
			newest = pod.CreationTimestamp.Time
		}
	}
	for !time.Now().Truncate(time.Second).After(newest) {
		time.Sleep(50 * time.Millisecond)
	}
	restartAt := metav1.NewTime(time.Now().Truncate(time.Second))
	s.update(func(ro *v1alpha1.Rollout) { ro.Spec.RestartAt = &restartAt }, false)

	maxUnavailable, polls := int32(0), 0
	deadline := time.Now().Add(90 * time.Second)
	for {
		pods, available := s.shopPods(minReady)
		maxUnavailable = max(maxUnavailable, replicas-available)
		polls++
		cur := s.rollout()
		if cur.Status.RestartedAt != nil {
			if !cur.Status.RestartedAt.Equal(&restartAt) {
				t.Fatalf("status.restartedAt %v, want %v", cur.Status.RestartedAt, restartAt)
			}
			for _, pod := range pods {
				if pod.DeletionTimestamp == nil && pod.CreationTimestamp.Before(&restartAt) {
					t.Fatalf("restartedAt set while pod %s (created %v) is older than restartAt %v", pod.Name, pod.CreationTimestamp, restartAt)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restart did not finish; status %s, %d pods, %d available", s.describe(), len(pods), available)
		}
		time.Sleep(20 * time.Millisecond)
	}

	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 2, sizes: map[string]int32{"blue": replicas}})
	after, _ := s.shopPods(minReady)
	old := map[string]bool{}
	for _, pod := range before {
		old[string(pod.UID)] = true
	}
	live := 0
	for _, pod := range after {
		if pod.DeletionTimestamp != nil {
			continue
		}
		live++
		if old[string(pod.UID)] || pod.CreationTimestamp.Before(&restartAt) {
			t.Errorf("pod %s (created %v) was not restarted (restartAt %v)", pod.Name, pod.CreationTimestamp, restartAt)
		}
	}
	if live != replicas {
		t.Errorf("%d pods after the restart, want %d", live, replicas)
	}
	t.Logf("max unavailable %d over %d polls", maxUnavailable, polls)
	if maxUnavailable > 1 {
		t.Errorf("%d pods were unavailable at once, maxUnavailable is 1", maxUnavailable)
	}
	if n := s.events.count(plan.ReasonRestarted); n != 1 {
		t.Errorf("%d %s events, want 1", n, plan.ReasonRestarted)
	}
	ro = s.rollout()
	if ro.Status.StableRS != ro.Status.CurrentPodHash {
		t.Errorf("a restart changed the version: stableRS %s currentPodHash %s", ro.Status.StableRS, ro.Status.CurrentPodHash)
	}
}
