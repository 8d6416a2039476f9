package cli

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-dev/aviary/internal/podstate"
)

// podStatus is the status kubectl prints for a pod (Running, Pending, ImagePullBackOff,
// CrashLoopBackOff, Completed, Terminating, …) and Argo's icon for it.
func podStatus(pod *corev1.Pod) (status, icon string) {
	status = string(pod.Status.Phase)
	if pod.Status.Reason != "" {
		status = pod.Status.Reason
	}
	initializing := false
	for i, cs := range pod.Status.InitContainerStatuses {
		switch {
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
			continue
		case cs.State.Terminated != nil:
			status = "Init:" + cs.State.Terminated.Reason
			if cs.State.Terminated.Reason == "" {
				status = fmt.Sprintf("Init:ExitCode:%d", cs.State.Terminated.ExitCode)
			}
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
			status = "Init:" + cs.State.Waiting.Reason
		default:
			status = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}
	if !initializing {
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			cs := pod.Status.ContainerStatuses[i]
			switch {
			case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
				status = cs.State.Waiting.Reason
			case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
				status = cs.State.Terminated.Reason
			case cs.State.Terminated != nil && cs.State.Terminated.Signal != 0:
				status = fmt.Sprintf("Signal:%d", cs.State.Terminated.Signal)
			case cs.State.Terminated != nil:
				status = fmt.Sprintf("ExitCode:%d", cs.State.Terminated.ExitCode)
			}
		}
	}
	if pod.DeletionTimestamp != nil {
		status = "Terminating"
	}
	switch status {
	case "Running":
		if podstate.Ready(pod) {
			return status, glyphOK
		}
		return status, glyphProgressing
	case "Succeeded", "Completed":
		return status, glyphOK
	case "Terminating", "ContainerCreating", "PodInitializing":
		return status, glyphProgressing
	case "Pending":
		return status, glyphWaiting
	case "Failed", "Error", "OOMKilled", "Evicted", "ContainerCannotRun":
		return status, glyphBad
	case "Unknown", "":
		return "Unknown", glyphUnknown
	}
	if strings.HasPrefix(status, "Init:") {
		return status, glyphProgressing
	}
	return status, glyphWarning
}

func buildPodView(pod *corev1.Pod, now time.Time) podView {
	status, icon := podStatus(pod)
	var ready, restarts int32
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
		restarts += cs.RestartCount
	}
	return podView{
		Name:     pod.Name,
		Status:   status,
		Icon:     icon,
		Age:      humanAge(pod.CreationTimestamp, now),
		Ready:    fmt.Sprintf("%d/%d", ready, len(pod.Spec.Containers)),
		Restarts: restarts,
	}
}
