package localnode

import (
	"context"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// podRuntime is one pod on the node: its IP, its containers, and the status last reported.
type podRuntime struct {
	ip        netip.Addr
	hostIP    string
	startTime time.Time
	now       func() time.Time
	notify    func(*corev1.Pod)

	// notifyMu serialises status computation and notification, so that the node controller
	// never receives an older status after a newer one.
	notifyMu sync.Mutex

	mu          sync.Mutex
	pod         *corev1.Pod // spec as last given, status as last computed
	containers  []*container
	terminating bool
	terminated  bool
}

// snapshot returns a copy of the pod with its current status.
func (r *podRuntime) snapshot() *corev1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pod.DeepCopy()
}

// refresh recomputes the status from the containers and, when it changed, reports it.
func (r *podRuntime) refresh() {
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	states := make([]containerState, 0, len(r.containers))
	for _, c := range r.containersCopy() {
		states = append(states, c.state())
	}
	r.mu.Lock()
	status := computePodStatus(podObservation{
		Pod: r.pod, PodIP: r.ip.String(), HostIP: r.hostIP, StartTime: r.startTime,
		Containers: states, Terminating: r.terminating, Terminated: r.terminated, Now: r.now(),
	})
	changed := !equality.Semantic.DeepEqual(status, r.pod.Status)
	if changed {
		r.pod.Status = status
	}
	pod := r.pod.DeepCopy()
	r.mu.Unlock()
	if changed {
		r.notify(pod)
	}
}

func (r *podRuntime) containersCopy() []*container {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*container(nil), r.containers...)
}

// beginTermination marks the pod as terminating; it returns false if it already was.
func (r *podRuntime) beginTermination() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.terminating {
		return false
	}
	r.terminating = true
	return true
}

// terminate stops every container within grace, in parallel, and reports the final status.
func (r *podRuntime) terminate(grace time.Duration) {
	r.refresh() // not ready any more: endpoints drop the pod while in-flight requests finish
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range r.containersCopy() {
		wg.Go(func() { c.terminate(ctx) })
	}
	wg.Wait()
	r.mu.Lock()
	r.terminated = true
	r.mu.Unlock()
	r.refresh()
}

// containerNamed returns the named container, or nil.
func (r *podRuntime) containerNamed(name string) *container {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.containers {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}
