// Package rollout reconciles Rollouts: it observes the Rollout and what it owns, plans the
// desired state with the pure functions of package plan, and applies the difference.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// EventSink records a Kubernetes Event about a Rollout (and counts it in metrics).
type EventSink interface {
	Event(ro *v1alpha1.Rollout, eventType, reason, message string)
}

// ReconcileObserver is told how long each reconcile took and whether it failed.
type ReconcileObserver interface {
	ObserveReconcile(ro client.ObjectKey, took time.Duration, err error)
}

// Reconciler reconciles Rollouts.
type Reconciler struct {
	Client client.Client
	// APIReader reads around the cache, for the few decisions a stale cache would get wrong
	// (whether a ReplicaSet we just created exists). Defaults to Client.
	APIReader client.Reader
	Events    EventSink
	Metrics   ReconcileObserver
	Clock     clock.PassiveClock
	// InstanceID, when set, limits the controller to objects labelled with it.
	InstanceID string
	// Workers is the number of Rollouts reconciled at once.
	Workers int
	// SkipRouteVerification counts a route change as done as soon as it is written, for
	// gateways that write no route status (--gateway-verify-weights=false).
	SkipRouteVerification bool

	written writeMemo
}

// SetupWithManager registers the reconciler and its watches.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &appsv1.ReplicaSet{}, ownerIndex, ownerUID); err != nil {
		return fmt.Errorf("indexing ReplicaSets by owner: %w", err)
	}
	workers := r.Workers
	if workers <= 0 {
		workers = 10
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(NewUnstructuredRollout()).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&v1alpha1.AnalysisRun{}).
		Watches(&v1alpha1.AnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsForTemplate)).
		Watches(&v1alpha1.ClusterAnalysisTemplate{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsForTemplate)).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsForService)).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsForDeployment),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	return r.watchRoutes(mgr, b).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}

// conflictRetry is how soon a reconcile that lost a write race runs again.
const conflictRetry = 200 * time.Millisecond

// Reconcile brings one Rollout one step closer to its desired state. It is safe to run at any
// moment: it reads the world, plans, and applies only differences.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	start := r.Clock.Now()
	ro, err := GetRollout(ctx, r.Client, req.NamespacedName)
	if apierrors.IsNotFound(err) {
		// Gone: give its Services back, and report no metrics for it.
		return ctrl.Result{}, r.releaseServices(ctx, req.NamespacedName)
	}
	if undecodable, ok := errors.AsType[*UndecodableError](err); ok {
		return ctrl.Result{}, r.reportUndecodable(ctx, undecodable)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.written.stale(req.NamespacedName, ro.ResourceVersion, start) {
		// The cache has not yet seen our last status write: planning from it would act on a
		// status the Rollout has left (see writeMemo).
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	if r.Metrics != nil {
		defer func() { r.Metrics.ObserveReconcile(req.NamespacedName, r.Clock.Since(start), err) }()
	}
	if ro.DeletionTimestamp != nil || !r.ours(ro) {
		return ctrl.Result{}, nil
	}
	p, err := r.plan(ctx, ro)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.apply(ctx, ro, p); err != nil {
		if errors.Is(err, errTemplateRefused) {
			return ctrl.Result{}, nil // reported; an edit of the template brings the Rollout back
		}
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			// Someone (the CLI, the ReplicaSet controller) wrote in between, or an earlier
			// reconcile created the new ReplicaSet: plan again from fresh state, without
			// logging an error for an ordinary race.
			return ctrl.Result{RequeueAfter: conflictRetry}, nil
		}
		return ctrl.Result{}, r.reportApplyFailure(ctx, ro, err)
	}
	return ctrl.Result{RequeueAfter: p.RequeueAfter}, nil
}

// ours: the Rollout belongs to this controller's --instance-id (or to none, without one).
func (r *Reconciler) ours(ro *v1alpha1.Rollout) bool {
	return ro.Labels[v1alpha1.InstanceIDLabel] == r.InstanceID
}

// plan observes the world and decides; it writes nothing.
func (r *Reconciler) plan(ctx context.Context, ro *v1alpha1.Rollout) (plan.Plan, error) {
	now := metav1.NewTime(r.Clock.Now())
	workload, msg, err := r.resolveTemplate(ctx, ro)
	if err != nil || msg != "" {
		return plan.InvalidSpec(ro, msg, now), err
	}
	p, err := r.planWithTemplate(ctx, ro, now)
	if err != nil {
		return p, err
	}
	plan.FollowWorkload(&p, ro, workload)
	return p, nil
}

// planWithTemplate plans a Rollout whose spec.template is resolved.
func (r *Reconciler) planWithTemplate(ctx context.Context, ro *v1alpha1.Rollout, now metav1.Time) (plan.Plan, error) {
	services, err := r.services(ctx, ro)
	if err != nil {
		return plan.Plan{}, err
	}
	if msg := plan.Invalid(ro, services); msg != "" {
		return plan.InvalidSpec(ro, msg, now), nil
	}
	traffic, msg, err := r.observeTraffic(ctx, ro)
	if err != nil || msg != "" {
		return plan.InvalidSpec(ro, msg, now), err
	}
	analysisObserved, msg, err := r.observeAnalysis(ctx, ro)
	if err != nil || msg != "" {
		return plan.InvalidSpec(ro, msg, now), err
	}
	owned, err := r.ownedReplicaSets(ctx, ro)
	if err != nil {
		return plan.Plan{}, err
	}
	newRS, stored, collision, err := r.observeNewReplicaSet(ctx, ro, owned)
	if err != nil {
		return plan.Plan{}, err
	}
	o := plan.Observed{Rollout: ro, NewRS: newRS, StoredNewRS: stored, HashCollision: collision,
		Services: services, Now: now.Time, Traffic: traffic, Analysis: analysisObserved}
	sortRoles(&o, owned)
	if o.Pods, err = r.restartPods(ctx, ro, owned); err != nil {
		return plan.Plan{}, err
	}
	if ro.Spec.Strategy.BlueGreen != nil {
		return plan.BlueGreen(o), nil
	}
	return plan.Canary(o), nil
}

// resolveTemplate fills spec.template from a workloadRef, in memory, and returns the Deployment
// it came from (nil without a workloadRef). A message means the reference cannot be used.
func (r *Reconciler) resolveTemplate(ctx context.Context, ro *v1alpha1.Rollout) (*appsv1.Deployment, string, error) {
	ref := ro.Spec.WorkloadRef
	if ref == nil {
		return nil, "", nil
	}
	if ref.Kind != "" && ref.Kind != "Deployment" {
		return nil, fmt.Sprintf("spec.workloadRef.kind %q is not supported: reference a Deployment", ref.Kind), nil
	}
	d := &appsv1.Deployment{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, d)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Sprintf("spec.workloadRef: Deployment %q not found in namespace %q", ref.Name, ro.Namespace), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading workloadRef Deployment %q: %w", ref.Name, err)
	}
	ro.Spec.Template = d.Spec.Template.DeepCopy()
	if ro.Spec.Selector == nil {
		ro.Spec.Selector = d.Spec.Selector.DeepCopy()
	}
	return d, "", nil
}

// observeNewReplicaSet finds the ReplicaSet of the current template and returns it as the plan
// must see it (newRS), the stored one (nil when it does not exist yet), and whether its name is
// taken by a ReplicaSet the Rollout does not control (a hash collision). ReplicaSets are known
// by their pod-template hash: the API server defaults the pod template of a ReplicaSet but not
// the one inside a Rollout, so the templates themselves cannot be compared. A returning
// template (undo) takes the next revision number; a missing ReplicaSet is built here and
// created by apply.
func (r *Reconciler) observeNewReplicaSet(ctx context.Context, ro *v1alpha1.Rollout, owned []*appsv1.ReplicaSet) (newRS, stored *appsv1.ReplicaSet, collision bool, err error) {
	var maxRevision int64
	for _, rs := range owned {
		maxRevision = max(maxRevision, v1alpha1.RevisionOf(rs))
	}
	hash := PodTemplateHash(ro.Spec.Template, ro.Status.CollisionCount)
	for _, rs := range owned {
		if v1alpha1.HashOf(rs) == hash {
			return plan.AsNewestRevision(rs, maxRevision), rs, false, nil
		}
	}
	built := newReplicaSet(ro, hash, maxRevision+1)
	decorateNewReplicaSet(ro, built)
	existing, err := r.replicaSetNamed(ctx, ro.Namespace, built.Name)
	switch {
	case err != nil:
		return nil, nil, false, err
	case existing == nil:
		return built, nil, false, nil
	case !metav1.IsControlledBy(existing, ro):
		return built, nil, true, nil
	}
	// Ours, created by an earlier reconcile and not yet in the cache.
	return plan.AsNewestRevision(existing, maxRevision), existing, false, nil
}

// replicaSetNamed reads a ReplicaSet from the API server, around the cache: whether a name is
// taken must not depend on how far the cache has caught up. A missing one is nil.
func (r *Reconciler) replicaSetNamed(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	rs := &appsv1.ReplicaSet{}
	err := reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, rs)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ReplicaSet %q: %w", name, err)
	}
	return rs, nil
}

// rolloutsForService maps a Service event to the Rollouts that name it or manage it, so that
// creating a missing Service, or someone editing a managed selector, is noticed.
func (r *Reconciler) rolloutsForService(ctx context.Context, obj client.Object) []ctrl.Request {
	out := r.rolloutsInNamespace(ctx, obj.GetNamespace(), func(ro *v1alpha1.Rollout) bool {
		for _, ref := range plan.ServiceRefs(ro) {
			if ref.Name == obj.GetName() {
				return true
			}
		}
		return false
	})
	if owner := obj.GetAnnotations()[v1alpha1.ManagedByRolloutsAnnotation]; owner != "" {
		out = append(out, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: owner}})
	}
	return out
}

// rolloutsInNamespace lists the Rollouts of a namespace ("": of every namespace) that match, as
// reconcile requests. Rollouts that cannot be decoded are left out: their own reconcile
// reports them, and nothing they refer to changes that.
func (r *Reconciler) rolloutsInNamespace(ctx context.Context, ns string, match func(*v1alpha1.Rollout) bool) []ctrl.Request {
	list, _, err := ListRollouts(ctx, r.Client, client.InNamespace(ns))
	if err != nil {
		return nil
	}
	var out []ctrl.Request
	for i := range list {
		if ro := &list[i]; match(ro) {
			out = append(out, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ro.Namespace, Name: ro.Name}})
		}
	}
	return out
}
