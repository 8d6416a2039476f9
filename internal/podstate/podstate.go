// Package podstate reads what a Pod's status says about the pod. It is the one place Aviary
// decides whether a pod is ready, so that the CLI, the sandbox and the Rollout controller
// count the same pods as ready.
package podstate

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Ready reports whether the pod's Ready condition is True: the kubelet's verdict that every
// container passes its readiness probe and the pod may take traffic. A pod without the
// condition (not yet scheduled or started) is not ready.
func Ready(pod *corev1.Pod) bool {
	ready, _ := ReadySince(pod)
	return ready
}

// ReadySince reports whether the pod is ready (see Ready) and, if it is, since when: the Ready
// condition's lastTransitionTime, from which minReadySeconds is counted. The time is zero for a
// pod that is not ready.
func ReadySince(pod *corev1.Pod) (bool, time.Time) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			if c.Status != corev1.ConditionTrue {
				return false, time.Time{}
			}
			return true, c.LastTransitionTime.Time
		}
	}
	return false, time.Time{}
}
