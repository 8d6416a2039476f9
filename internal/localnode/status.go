package localnode

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podFactsForStatus is what the pod status is computed from.
type podObservation struct {
	Pod         *corev1.Pod // spec and the status last written (for fields we do not own)
	PodIP       string
	HostIP      string
	StartTime   time.Time
	Containers  []containerState
	Terminating bool // deletion has begun: the pod is no longer ready
	Terminated  bool // every container has stopped for good
	Now         time.Time
}

// podConditionsWeOwn are the conditions the node computes; any other condition in the pod's
// status (readiness gates, DisruptionTarget) is kept as it is.
var podConditionsWeOwn = map[corev1.PodConditionType]bool{
	corev1.PodScheduled:              true,
	corev1.PodReadyToStartContainers: true,
	corev1.PodInitialized:            true,
	corev1.ContainersReady:           true,
	corev1.PodReady:                  true,
}

// computePodStatus is the pod status the kubelet would report for obs: phase, conditions
// (transition times kept while a condition's status stays), container statuses, IPs.
func computePodStatus(obs podObservation) corev1.PodStatus {
	prev := obs.Pod.Status
	st := *prev.DeepCopy()
	st.ObservedGeneration = obs.Pod.Generation
	st.HostIP = obs.HostIP
	st.HostIPs = []corev1.HostIP{{IP: obs.HostIP}}
	st.PodIP = obs.PodIP
	st.PodIPs = nil
	if obs.PodIP != "" {
		st.PodIPs = []corev1.PodIP{{IP: obs.PodIP}}
	}
	start := metav1.NewTime(obs.StartTime)
	st.StartTime = &start
	st.Reason, st.Message = "", ""

	statuses := make([]corev1.ContainerStatus, 0, len(obs.Containers))
	allReady, allRunning := len(obs.Containers) > 0, len(obs.Containers) > 0
	allSucceeded := true
	var notReady []string
	for _, c := range obs.Containers {
		cs := containerStatus(c)
		if obs.Terminating {
			cs.Ready = false
		}
		statuses = append(statuses, cs)
		if !cs.Ready {
			allReady = false
			notReady = append(notReady, c.Name)
		}
		if cs.State.Running == nil {
			allRunning = false
		}
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			allSucceeded = false
		}
	}
	st.ContainerStatuses = statuses
	st.InitContainerStatuses = initContainerStatuses(obs.Pod, obs.StartTime)
	st.Phase = podPhase(obs, allRunning, allSucceeded)

	readyReason, readyMsg := "", ""
	if !allReady {
		readyReason, readyMsg = "ContainersNotReady", "containers with unready status: "+joinNames(notReady)
	}
	if obs.Terminating {
		readyReason, readyMsg = "PodTerminating", "the pod is being deleted"
	}
	conds := []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: boolStatus(obs.PodIP != "" && !obs.Terminated)},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
		{Type: corev1.ContainersReady, Status: boolStatus(allReady && !obs.Terminating), Reason: readyReason, Message: readyMsg},
		{Type: corev1.PodReady, Status: boolStatus(allReady && !obs.Terminating), Reason: readyReason, Message: readyMsg},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	}
	st.Conditions = mergeConditions(prev.Conditions, conds, obs.Pod.Generation, metav1.NewTime(obs.Now))
	return st
}

// podPhase: Pending until every container has started once, Running while they run,
// Succeeded or Failed once all stopped for good after deletion.
func podPhase(obs podObservation, allRunning, allSucceeded bool) corev1.PodPhase {
	switch {
	case obs.Terminated && allSucceeded:
		return corev1.PodSucceeded
	case obs.Terminated:
		return corev1.PodFailed
	case allRunning:
		return corev1.PodRunning
	}
	// A container restarting after a failed probe keeps the pod Running, like the kubelet.
	for _, c := range obs.Containers {
		if c.Restarts == 0 && !c.Running {
			return corev1.PodPending
		}
	}
	return corev1.PodRunning
}

// initContainerStatuses reports every init container as completed at the pod's start: the
// local node has nothing to run for them, so they succeed at once.
func initContainerStatuses(pod *corev1.Pod, start time.Time) []corev1.ContainerStatus {
	if len(pod.Spec.InitContainers) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(pod.Spec.InitContainers))
	for _, ic := range pod.Spec.InitContainers {
		started := false
		out = append(out, corev1.ContainerStatus{
			Name: ic.Name, Image: ic.Image, ImageID: "aviary-local://" + ic.Image, Started: &started,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: metav1.NewTime(start), FinishedAt: metav1.NewTime(start),
				Message: "init containers complete at once on the local node",
			}},
		})
	}
	return out
}

func containerStatus(c containerState) corev1.ContainerStatus {
	started := c.Started
	cs := corev1.ContainerStatus{
		Name:         c.Name,
		Image:        c.Image,
		ImageID:      "aviary-local://" + c.Image,
		ContainerID:  c.ID,
		RestartCount: c.Restarts,
		Ready:        c.Running && c.Ready,
		Started:      &started,
	}
	switch {
	case c.Terminated != nil:
		cs.State.Terminated = c.Terminated.DeepCopy()
		cs.Ready, started = false, false
	case c.Running:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.StartedAt)}
	case c.Waiting != nil:
		cs.State.Waiting = c.Waiting.DeepCopy()
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	cs.Started = &started
	if c.LastTerminated != nil {
		cs.LastTerminationState.Terminated = c.LastTerminated.DeepCopy()
	}
	return cs
}

// mergeConditions writes ours over the previous list, keeping each condition's
// lastTransitionTime while its status does not change, and keeping conditions we do not own.
func mergeConditions(prev, ours []corev1.PodCondition, generation int64, now metav1.Time) []corev1.PodCondition {
	old := map[corev1.PodConditionType]corev1.PodCondition{}
	var out []corev1.PodCondition
	for _, c := range prev {
		old[c.Type] = c
		if !podConditionsWeOwn[c.Type] {
			out = append(out, c)
		}
	}
	for _, c := range ours {
		c.ObservedGeneration = generation
		c.LastTransitionTime = now
		if o, ok := old[c.Type]; ok && o.Status == c.Status && !o.LastTransitionTime.IsZero() {
			c.LastTransitionTime = o.LastTransitionTime
		}
		out = append(out, c)
	}
	return out
}

func boolStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

func joinNames(names []string) string {
	s := "["
	for i, n := range names {
		if i > 0 {
			s += " "
		}
		s += n
	}
	return s + "]"
}

func metaTime(t time.Time) metav1.Time { return metav1.NewTime(t) }
