// Package sim is a small simulated cluster for the Rollout planner: ReplicaSets whose pods
// become available as soon as they are asked for (unless told otherwise), Services, the
// Gateway API routes of a traffic-routed canary, AnalysisRuns, and a clock that only moves
// when told to. It runs the real plan.Canary and plan.BlueGreen and writes their plans into
// the world the way the reconciler's apply does, so that the planner's scenario tests and
// `kubectl aviary plan` see what the controller would do from one source of step semantics.
package sim

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// FirstVersion is the pod-template hash of the template the world starts with; Deploy moves
// the Rollout to another.
const FirstVersion = "v1"

// settleBound is how many reconciles Settle allows before it calls the rollout stuck.
const settleBound = 200

// World is the simulated cluster of one Rollout. Its fields are the state of the world, open
// to a test or a walk that changes it between reconciles (a human patching the Rollout, an
// analysis controller finishing a run, time passing).
type World struct {
	// Rollout is the object as stored; each reconcile plans from a copy and writes its status.
	Rollout *v1alpha1.Rollout
	// ReplicaSets are the Rollout's ReplicaSets by pod-template hash.
	ReplicaSets map[string]*appsv1.ReplicaSet
	// Services are the Services the strategy names, by name.
	Services map[string]*corev1.Service
	// Routes are the Gateway API routes a traffic-routed canary edits; nil without routing.
	Routes []plan.ObservedRoute
	// Now is the clock; nothing moves it but the caller.
	Now time.Time
	// Unready lists pod-template hashes whose pods never become available.
	Unready map[string]bool
	// Events are every Event the plans recorded, in order.
	Events []plan.Event
	// Runs are the AnalysisRuns the plans created; Templates what they may refer to.
	Runs      []*v1alpha1.AnalysisRun
	Templates map[string]*v1alpha1.AnalysisTemplateSpec
	// VerifyRoutes makes a route change count only once its gateways accepted it (the
	// controller's --gateway-verify-weights); GatewayAccepts is a gateway that accepts every
	// generation it sees at the end of each reconcile.
	VerifyRoutes   bool
	GatewayAccepts bool
	// AfterApply, when set, runs after each plan is written and before pods start and
	// gateways catch up: the moment to check what must hold at every instant.
	AfterApply func(plan.Plan)
	// AfterReconcile, when set, runs once each reconcile is over, on the world the next one sees.
	AfterReconcile func(plan.Plan)

	version  string // the pod-template hash of the current template
	revision int64
}

// New is a world holding the Rollout (its status cleared: nothing deployed yet), a Service
// for each the strategy names selecting the Rollout's pods, and for a traffic-routed canary
// one route per route its configuration names, splitting between the stable and canary
// Services.
func New(ro *v1alpha1.Rollout, now time.Time) *World {
	ro = ro.DeepCopy()
	ro.Status = v1alpha1.RolloutStatus{}
	if ro.Namespace == "" {
		ro.Namespace = metav1.NamespaceDefault
	}
	if ro.Generation == 0 {
		ro.Generation = 1
	}
	w := &World{Rollout: ro, ReplicaSets: map[string]*appsv1.ReplicaSet{}, Services: map[string]*corev1.Service{},
		Unready: map[string]bool{}, Now: now, version: FirstVersion}
	for _, ref := range plan.ServiceRefs(ro) {
		w.Services[ref.Name] = standInService(ro, ref.Name)
	}
	w.Routes = standInRoutes(ro)
	return w
}

// standInService selects the Rollout's pods, as the Service a user creates does.
func standInService(ro *v1alpha1.Rollout, name string) *corev1.Service {
	selector := map[string]string{}
	if ro.Spec.Selector != nil {
		for k, v := range ro.Spec.Selector.MatchLabels {
			selector[k] = v
		}
	}
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ro.Namespace},
		Spec: corev1.ServiceSpec{Selector: selector}}
}

// Deploy changes the template to a new version, as `kubectl argo rollouts set image` would.
func (w *World) Deploy(version string) {
	w.version = version
	w.Rollout.Generation++
}

// Version is the pod-template hash of the current template.
func (w *World) Version() string { return w.version }

// Observe is what a reconcile reads: the Rollout, the ReplicaSet of the current template (as
// the reconciler presents it: stored and at the newest revision, or built to be created), the
// stable and the other ReplicaSets newest revision first, the Services, the routes and the
// AnalysisRuns.
func (w *World) Observe() plan.Observed {
	rs, stored := w.currentReplicaSet()
	o := plan.Observed{Rollout: w.Rollout.DeepCopy(), NewRS: rs, StoredNewRS: stored, Services: w.Services, Now: w.Now,
		Analysis: plan.AnalysisObserved{Runs: w.Runs, Templates: w.Templates}}
	for _, other := range w.byRevision() {
		if v1alpha1.HashOf(other) == w.version {
			continue
		}
		if v1alpha1.HashOf(other) == w.Rollout.Status.StableRS {
			o.StableRS = other
		}
		o.OldRSs = append(o.OldRSs, other)
	}
	if w.version == w.Rollout.Status.StableRS {
		o.StableRS = rs
	}
	if w.Routes != nil {
		cfg, _ := plan.ParseRouting(w.Rollout) // readable: New made routes from it
		o.Traffic = &plan.TrafficObserved{Config: cfg, Verify: w.VerifyRoutes, Routes: w.copyRoutes()}
	}
	return o
}

// currentReplicaSet is the ReplicaSet of the current template as the plan sees it, and the
// stored one: nil when it does not exist yet, in which case it is built with the next
// revision for the plan to create.
func (w *World) currentReplicaSet() (desired, stored *appsv1.ReplicaSet) {
	if rs, ok := w.ReplicaSets[w.version]; ok {
		return plan.AsNewestRevision(rs, w.revision), rs
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: w.Rollout.Name + "-" + w.version, Namespace: w.Rollout.Namespace,
			Labels:      map[string]string{v1alpha1.PodTemplateHashLabel: w.version},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: fmt.Sprint(w.revision + 1)}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0)},
	}
	rs.CreationTimestamp = metav1.NewTime(w.Now) // rollbackWindow goes by age
	return rs, nil
}

// createReplicaSets does the plan's ReplicaSet creation and revision writes.
func (w *World) createReplicaSets(p plan.Plan) {
	if rs := p.CreateReplicaSet; rs != nil {
		w.ReplicaSets[v1alpha1.HashOf(rs)] = rs.DeepCopy()
		w.revision = max(w.revision, v1alpha1.RevisionOf(rs))
	}
	for name, revision := range p.Revisions {
		if rs := w.byName(name); rs != nil {
			rs.Annotations[v1alpha1.RevisionAnnotation] = fmt.Sprint(revision)
			w.revision = max(w.revision, revision)
		}
	}
}

// byRevision lists the ReplicaSets newest revision first, as the reconciler reads them.
func (w *World) byRevision() []*appsv1.ReplicaSet {
	out := make([]*appsv1.ReplicaSet, 0, len(w.ReplicaSets))
	for _, rs := range w.ReplicaSets {
		out = append(out, rs)
	}
	sort.Slice(out, func(i, j int) bool { return v1alpha1.RevisionOf(out[i]) > v1alpha1.RevisionOf(out[j]) })
	return out
}

// Plan runs the real planner once on what the world looks like now, as the reconciler
// does: an invalid spec is reported, never acted on.
func (w *World) Plan() plan.Plan {
	o := w.Observe()
	if msg := plan.Invalid(o.Rollout, w.Services); msg != "" {
		return plan.InvalidSpec(o.Rollout, msg, metav1.NewTime(w.Now))
	}
	if o.Rollout.Spec.Strategy.BlueGreen != nil {
		return plan.BlueGreen(o)
	}
	return plan.Canary(o)
}

// Reconcile plans once, applies the plan, and lets pods and gateways catch up.
func (w *World) Reconcile() plan.Plan {
	p := w.Plan()
	w.Apply(p)
	if w.AfterApply != nil {
		w.AfterApply(p)
	}
	w.Converge()
	if w.AfterReconcile != nil {
		w.AfterReconcile(p)
	}
	return p
}

// Settle reconciles until nothing changes any more, and returns the last plan; an error means
// the rollout kept changing for settleBound reconciles.
func (w *World) Settle() (plan.Plan, error) {
	var p plan.Plan
	for range settleBound {
		before := w.Snapshot()
		p = w.Reconcile()
		if w.Snapshot() == before {
			return p, nil
		}
	}
	return p, fmt.Errorf("the rollout did not settle in %d reconciles: %s", settleBound, w.Snapshot())
}

// Apply writes a plan into the world in the reconciler's order: sizes, scale-down
// deadlines, deletions, Service selectors, routes, AnalysisRuns created, status, runs retired
// and pruned, Events.
func (w *World) Apply(p plan.Plan) {
	w.createReplicaSets(p)
	for name, n := range p.Replicas {
		if rs := w.byName(name); rs != nil {
			rs.Spec.Replicas = ptr.To(n)
		}
	}
	for name, at := range p.ScaleDownAt {
		rs := w.byName(name)
		switch {
		case rs == nil:
		case at == nil:
			delete(rs.Annotations, v1alpha1.ScaleDownDeadlineAnnotation)
		default:
			rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation] = at.Format(time.RFC3339)
		}
	}
	for _, name := range p.Delete {
		if rs := w.byName(name); rs != nil {
			delete(w.ReplicaSets, v1alpha1.HashOf(rs))
		}
	}
	for svc, hash := range p.Selectors {
		if s := w.Services[svc]; s != nil {
			s.Spec.Selector[v1alpha1.PodTemplateHashLabel] = hash
		}
	}
	w.writeRoutes(p)
	w.Runs = append(w.Runs, p.Analysis.Create...)
	w.Rollout.Status = p.Status
	w.retireRuns(p.Analysis)
	w.Events = append(w.Events, p.Events...)
}

func (w *World) byName(name string) *appsv1.ReplicaSet {
	for _, rs := range w.ReplicaSets {
		if rs.Name == name {
			return rs
		}
	}
	return nil
}

// Converge is what the cluster does between reconciles: each ReplicaSet's pods match its
// spec (and are available unless Unready), and a GatewayAccepts gateway accepts the routes.
func (w *World) Converge() {
	for hash, rs := range w.ReplicaSets {
		n := ptr.Deref(rs.Spec.Replicas, 0)
		rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = n, n, n
		if w.Unready[hash] {
			rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = 0, 0
		}
	}
	if w.GatewayAccepts {
		w.AcceptRoutes()
	}
}

// Replicas is spec.replicas of the ReplicaSet of a pod-template hash, 0 when there is none.
func (w *World) Replicas(hash string) int32 {
	if rs, ok := w.ReplicaSets[hash]; ok {
		return ptr.Deref(rs.Spec.Replicas, 0)
	}
	return 0
}

// Selector is the pod-template hash a Service selects, "" when it selects none in particular.
func (w *World) Selector(svc string) string {
	if s := w.Services[svc]; s != nil {
		return s.Spec.Selector[v1alpha1.PodTemplateHashLabel]
	}
	return ""
}

// HasEvent reports whether any plan recorded an Event with the reason.
func (w *World) HasEvent(reason string) bool {
	return slices.ContainsFunc(w.Events, func(e plan.Event) bool { return e.Reason == reason })
}

// Snapshot is the whole world as text: two snapshots are equal when nothing a reconcile
// reads has changed.
func (w *World) Snapshot() string {
	var b strings.Builder
	status, _ := json.Marshal(w.Rollout.Status) // plain data: cannot fail
	b.Write(status)
	for _, rs := range w.byRevision() {
		fmt.Fprintf(&b, " %s=%d/%d %v", v1alpha1.HashOf(rs), ptr.Deref(rs.Spec.Replicas, 0), rs.Status.AvailableReplicas, rs.Annotations)
	}
	names := make([]string, 0, len(w.Services))
	for name := range w.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b.WriteString(" " + name + "=" + w.Selector(name))
	}
	for _, r := range w.Routes {
		route, _ := json.Marshal(r.Object.Object)
		b.WriteString(" ")
		b.Write(route)
	}
	for _, run := range w.Runs {
		fmt.Fprintf(&b, " %s=%s/%v", run.Name, run.Status.Phase, run.Spec.Terminate)
	}
	return b.String()
}
