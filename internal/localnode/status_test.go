package localnode

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestComputePodStatus(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Generation: 2},
		Status: corev1.PodStatus{
			QOSClass: corev1.PodQOSBestEffort,
			Conditions: []corev1.PodCondition{
				{Type: "example.com/gate", Status: corev1.ConditionTrue},
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-time.Hour))},
			},
		},
	}
	running := containerState{Name: "app", Image: "img", Running: true, Started: true, StartedAt: t0}
	obs := podObservation{Pod: pod, PodIP: "127.1.0.9", HostIP: "127.0.0.1", StartTime: t0, Now: t0.Add(time.Minute)}

	for _, tc := range []struct {
		name       string
		containers []containerState
		term, done bool
		phase      corev1.PodPhase
		ready      corev1.ConditionStatus
	}{
		{"creating", []containerState{{Name: "app"}}, false, false, corev1.PodPending, corev1.ConditionFalse},
		{"running, probe not passed", []containerState{running}, false, false, corev1.PodRunning, corev1.ConditionFalse},
		{"running and ready", []containerState{withReady(running)}, false, false, corev1.PodRunning, corev1.ConditionTrue},
		{"terminating", []containerState{withReady(running)}, true, false, corev1.PodRunning, corev1.ConditionFalse},
		{"restarting after liveness", []containerState{{Name: "app", Restarts: 1}}, false, false, corev1.PodRunning, corev1.ConditionFalse},
		{"terminated", []containerState{{Name: "app", Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}, true, true, corev1.PodSucceeded, corev1.ConditionFalse},
		{"killed", []containerState{{Name: "app", Terminated: &corev1.ContainerStateTerminated{ExitCode: 137}}}, true, true, corev1.PodFailed, corev1.ConditionFalse},
	} {
		o := obs
		o.Containers, o.Terminating, o.Terminated = tc.containers, tc.term, tc.done
		st := computePodStatus(o)
		if st.Phase != tc.phase || cond(st, corev1.PodReady).Status != tc.ready || cond(st, corev1.ContainersReady).Status != tc.ready {
			t.Errorf("%s: phase %s ready %s, want %s %s", tc.name, st.Phase, cond(st, corev1.PodReady).Status, tc.phase, tc.ready)
		}
		if st.PodIP != "127.1.0.9" || len(st.PodIPs) != 1 || st.HostIP != "127.0.0.1" || st.StartTime == nil || st.QOSClass != corev1.PodQOSBestEffort {
			t.Errorf("%s: IPs, start time or QoS wrong: %+v", tc.name, st)
		}
		if cond(st, "example.com/gate").Status != corev1.ConditionTrue {
			t.Errorf("%s: a condition the node does not own was dropped", tc.name)
		}
		if got := cond(st, corev1.PodScheduled).LastTransitionTime.Time; !got.Equal(t0.Add(-time.Hour)) {
			t.Errorf("%s: PodScheduled transition time moved to %s though its status did not change", tc.name, got)
		}
	}
}

func withReady(c containerState) containerState {
	c.Ready = true
	return c
}

func cond(st corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestInitContainersReportCompleted(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "migrate", Image: "tool:1"}}}}
	st := computePodStatus(podObservation{Pod: pod, PodIP: "127.1.0.1", Containers: []containerState{{Name: "app", Running: true, Started: true, Ready: true}}})
	if len(st.InitContainerStatuses) != 1 || st.InitContainerStatuses[0].State.Terminated == nil || st.InitContainerStatuses[0].State.Terminated.ExitCode != 0 {
		t.Fatalf("init container statuses = %+v", st.InitContainerStatuses)
	}
	if cond(st, corev1.PodInitialized).Status != corev1.ConditionTrue || st.Phase != corev1.PodRunning {
		t.Errorf("Initialized %s, phase %s", cond(st, corev1.PodInitialized).Status, st.Phase)
	}
}
