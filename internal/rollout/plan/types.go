// Package plan decides what a Rollout's owned objects and status should be. Everything here is
// pure: an Observed snapshot of the cluster and a clock reading in, a Plan out. The reconciler
// does the I/O on both sides, so every decision can be table-tested with a fake clock.
package plan

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Observed is what one reconcile read of the world.
type Observed struct {
	// Rollout is the object as read, with spec.template resolved from a workloadRef.
	Rollout *v1alpha1.Rollout
	// NewRS is the ReplicaSet of the current pod template as it must be: the stored one, at the
	// revision it takes now, or one built to be created (with no replicas). Never nil.
	NewRS *appsv1.ReplicaSet
	// StoredNewRS is NewRS as stored, nil when it does not exist yet.
	StoredNewRS *appsv1.ReplicaSet
	// HashCollision: NewRS's name is taken by a ReplicaSet the Rollout does not control.
	HashCollision bool
	// StableRS is the ReplicaSet named by status.stableRS; the same object as NewRS when the
	// current template is the stable one, nil before the first deploy completes.
	StableRS *appsv1.ReplicaSet
	// OldRSs are every other ReplicaSet the Rollout owns, newest revision first.
	OldRSs []*appsv1.ReplicaSet
	// Services are the Services the strategy names, by name; a missing one is absent.
	Services map[string]*corev1.Service
	// Now is the reconcile's clock reading.
	Now time.Time
	// Pods are the Rollout's pods, read only while a restart (spec.restartAt) is pending.
	Pods []RestartPod
	// Traffic is the routes of a traffic-routed canary, nil without trafficRouting.
	Traffic *TrafficObserved
	// Analysis is the Rollout's AnalysisRuns and the templates it refers to.
	Analysis AnalysisObserved
}

// Plan is the desired state one reconcile moves towards.
type Plan struct {
	// CreateReplicaSet is the new ReplicaSet to create, before any other write; nil when it exists.
	CreateReplicaSet *appsv1.ReplicaSet
	// Revisions are the revision numbers to write on ReplicaSets (by name): a returning
	// template's ReplicaSet becomes the newest revision.
	Revisions map[string]int64
	// Replicas is the spec.replicas each ReplicaSet (by name) should have; absent ones keep theirs.
	Replicas map[string]int32
	// ScaleDownAt is the time an old ReplicaSet (by name) may be scaled to zero; a nil value
	// clears the deadline.
	ScaleDownAt map[string]*time.Time
	// Delete names old ReplicaSets beyond revisionHistoryLimit.
	Delete []string
	// DeletePods are pods a restart deletes now, for their ReplicaSets to recreate.
	DeletePods []RestartPod
	// Selectors maps a Service name to the pod-template hash it must select.
	Selectors map[string]string
	// Status is the Rollout's new status.
	Status v1alpha1.RolloutStatus
	// Events are the transitions this reconcile made, to be recorded as Kubernetes Events.
	Events []Event
	// RequeueAfter asks for another reconcile after this long even if nothing changes
	// (a timed pause, a scale-down delay, the progress deadline); zero means no timer.
	RequeueAfter time.Duration
	// Metadata is the ephemeral metadata each ReplicaSet (by name) should carry on its pod
	// template and pods; a nil value removes what was applied before (see RoleMetadata).
	Metadata map[string]*v1alpha1.PodTemplateMetadata
	// RouteUpdates are the Gateway API routes to write, already edited.
	RouteUpdates []*unstructured.Unstructured
	// Analysis is the AnalysisRuns to create, terminate and delete.
	Analysis AnalysisPlan
	// Workload scales the workloadRef Deployment down; nil leaves it as it is.
	Workload *WorkloadScaleDown
}

// Event is a Kubernetes Event to record about the Rollout.
type Event struct {
	Type    string // corev1.EventTypeNormal or corev1.EventTypeWarning
	Reason  string
	Message string
}

// Event reasons, as Argo Rollouts names them.
const (
	ReasonRolloutUpdated       = "RolloutUpdated"
	ReasonStepCompleted        = "RolloutStepCompleted"
	ReasonPaused               = "RolloutPaused"
	ReasonResumed              = "RolloutResumed"
	ReasonAborted              = "RolloutAborted"
	ReasonRetried              = "RolloutRetried"
	ReasonCompleted            = "RolloutCompleted"
	ReasonScalingReplicaSet    = "ScalingReplicaSet"
	ReasonSwitchService        = "SwitchService"
	ReasonInvalidSpec          = "InvalidSpec"
	ReasonProgressDeadline     = "ProgressDeadlineExceeded"
	ReasonRolloutHealthy       = "RolloutHealthy"
	ReasonNewReplicaSetCreated = "NewReplicaSetCreated"
	ReasonRestarted            = "RolloutRestarted"
	ReasonAnalysisRunCreated   = "AnalysisRunCreated"
	// ReasonScalingDeployment: the Deployment a workloadRef names was scaled down.
	ReasonScalingDeployment = "ScalingDeployment"
	// ReasonReplicaSetCreateError: the API server refused the new ReplicaSet.
	ReasonReplicaSetCreateError = "ReplicaSetCreateError"
)

func (p *Plan) event(eventType, reason, message string) {
	p.Events = append(p.Events, Event{Type: eventType, Reason: reason, Message: message})
}

func (p *Plan) normal(reason, message string) { p.event(corev1.EventTypeNormal, reason, message) }

// requeue keeps the earliest timer asked for.
func (p *Plan) requeue(after time.Duration) {
	if after <= 0 {
		after = time.Second
	}
	if p.RequeueAfter == 0 || after < p.RequeueAfter {
		p.RequeueAfter = after
	}
}

func newPlan(ro *v1alpha1.Rollout) Plan {
	return Plan{
		Revisions:   map[string]int64{},
		Replicas:    map[string]int32{},
		ScaleDownAt: map[string]*time.Time{},
		Selectors:   map[string]string{},
		Status:      *ro.Status.DeepCopy(),
	}
}
