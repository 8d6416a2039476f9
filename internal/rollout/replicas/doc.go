// Package replicas computes ReplicaSet sizes for a canary Rollout, the way Argo Rollouts does.
//
// Everything here is a pure function of its inputs: no clients, no clocks, no I/O. The
// reconciler observes ReplicaSets, asks this package how big each one should be, and applies
// the answer. Three questions are answered:
//
//   - ResolveSurgeUnavailable turns maxSurge/maxUnavailable into pod counts.
//   - BasicCanary plans one safe scaling move for a canary without a traffic router, where the
//     share of traffic a version gets is its share of the pods.
//   - TrafficRoutedCanary sizes the canary and stable when a router splits traffic, so pod
//     counts only need to be large enough for the traffic each version receives.
package replicas
