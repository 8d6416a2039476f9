// Package events records Kubernetes Events about Rollouts and counts them in the
// rollout_events_total metric.
//
// Events are written through the events.k8s.io/v1 API (controller-runtime's
// Manager.GetEventRecorder). The API server stores them as the same objects as core/v1 Events,
// so `kubectl describe rollout` (whose "From" column falls back to reportingController) and
// `kubectl get events` show them, as do Argo CD and other readers of core/v1 Events; the
// recorder also aggregates repeats into an event series instead of one write per repeat.
package events

import (
	"unicode/utf8"

	"k8s.io/client-go/tools/events"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Component is the reporting controller name written on every Event, as Argo Rollouts uses.
const Component = "rollouts-controller"

// Action is the events.k8s.io "action" of every Event: the API requires one and the
// core/v1 Events Argo Rollouts writes have none, so it says only that a reconcile acted.
const Action = "Reconcile"

// MaxMessageBytes is the longest note the events.k8s.io API accepts; longer messages are cut.
const MaxMessageBytes = 1024

// Counter counts recorded Events; *metrics.Metrics implements it.
type Counter interface {
	IncEvent(namespace, name, eventType, reason string)
}

// Sink records Events about Rollouts. It implements the rollout reconciler's EventSink.
type Sink struct {
	recorder events.EventRecorder
	counter  Counter
}

// NewSink returns a Sink that writes through recorder (normally
// mgr.GetEventRecorder(Component)) and counts through counter (may be nil).
func NewSink(recorder events.EventRecorder, counter Counter) *Sink {
	return &Sink{recorder: recorder, counter: counter}
}

// Event records an Event of eventType (corev1.EventTypeNormal or corev1.EventTypeWarning)
// about ro and counts it.
func (s *Sink) Event(ro *v1alpha1.Rollout, eventType, reason, message string) {
	// The message is passed as an argument, never as the format, so a '%' in it is kept.
	s.recorder.Eventf(ro, nil, eventType, reason, Action, "%s", truncate(message, MaxMessageBytes))
	if s.counter != nil {
		s.counter.IncEvent(ro.Namespace, ro.Name, eventType, reason)
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence, ending in "..."
// when it cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "..."
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
