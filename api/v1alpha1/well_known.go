package v1alpha1

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
)

// Labels and annotations the controller writes, with Argo Rollouts' keys so that tools built
// for Argo (kubectl plugins, dashboards, Argo CD) recognise them.
const (
	// PodTemplateHashLabel is added to every ReplicaSet's selector and labels and to its pods.
	PodTemplateHashLabel = "rollouts-pod-template-hash"
	// RevisionAnnotation holds the revision number on a Rollout and on its ReplicaSets.
	RevisionAnnotation = "rollout.argoproj.io/revision"
	// DesiredReplicasAnnotation records spec.replicas on a ReplicaSet when it was last scaled.
	DesiredReplicasAnnotation = "rollout.argoproj.io/desired-replicas"
	// ScaleDownDeadlineAnnotation is the time after which an old ReplicaSet is scaled to zero.
	ScaleDownDeadlineAnnotation = "argo-rollouts.argoproj.io/scale-down-deadline"
	// ManagedByRolloutsAnnotation marks a Service whose selector the named Rollout changed, so
	// that the selector can be restored when the Rollout is deleted.
	ManagedByRolloutsAnnotation = "argo-rollouts.argoproj.io/managed-by-rollouts"
	// InstanceIDLabel scopes an object to the controller started with the same --instance-id.
	InstanceIDLabel = "argo-rollouts.argoproj.io/controller-instance-id"
	// WorkloadGenerationAnnotation records the generation of a workloadRef target last used.
	WorkloadGenerationAnnotation = "rollout.argoproj.io/workload-generation"
)

// HashOf is the pod-template hash a ReplicaSet of a Rollout carries in its labels; "" for nil.
func HashOf(rs *appsv1.ReplicaSet) string {
	if rs == nil {
		return ""
	}
	return rs.Labels[PodTemplateHashLabel]
}

// RevisionOf is a ReplicaSet's revision number, 0 when unknown or for nil.
func RevisionOf(rs *appsv1.ReplicaSet) int64 {
	if rs == nil {
		return 0
	}
	return RevisionIn(rs.Annotations)
}

// RevisionIn reads the revision annotation of any object (ReplicaSet, AnalysisRun, Experiment);
// 0 when absent or unreadable.
func RevisionIn(annotations map[string]string) int64 {
	n, err := strconv.ParseInt(annotations[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}
