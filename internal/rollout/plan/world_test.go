package plan

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// world is a tiny simulated cluster for the planner: ReplicaSets whose pods become available
// as soon as they are asked for (unless unready), Services, and a clock the test moves.
type world struct {
	t        *testing.T
	ro       *v1alpha1.Rollout
	version  string // the hash of the current template
	rss      map[string]*appsv1.ReplicaSet
	services map[string]*corev1.Service
	unready  map[string]bool // hashes whose pods never become available
	now      time.Time
	events   []Event
	revision int64
	// runs are the AnalysisRuns the planner created, and templates what they may refer to.
	runs      []*v1alpha1.AnalysisRun
	templates map[string]*v1alpha1.AnalysisTemplateSpec
}

func newWorld(t *testing.T, strategy v1alpha1.RolloutStrategy, replicas int32) *world {
	t.Helper()
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", Generation: 1},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop"}}},
			Strategy: strategy,
		},
	}
	w := &world{t: t, ro: ro, version: "v1", rss: map[string]*appsv1.ReplicaSet{}, services: map[string]*corev1.Service{},
		unready: map[string]bool{}, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	for _, ref := range ServiceRefs(ro) {
		w.services[ref.Name] = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: ref.Name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "shop"}}}
	}
	return w
}

// deploy changes the template to a new version, as `kubectl argo rollouts set image` would.
func (w *world) deploy(version string) {
	w.version = version
	w.ro.Generation++
}

func (w *world) observe() Observed {
	rs, ok := w.rss[w.version]
	if !ok {
		w.revision++
		rs = &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "shop-" + w.version, Labels: map[string]string{v1alpha1.PodTemplateHashLabel: w.version},
				Annotations: map[string]string{v1alpha1.RevisionAnnotation: fmt.Sprint(w.revision)}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0)},
		}
		rs.CreationTimestamp = metav1.NewTime(w.now) // rollbackWindow goes by age
		w.rss[w.version] = rs
	}
	o := Observed{Rollout: w.ro.DeepCopy(), NewRS: rs, Services: w.services, Now: w.now,
		Analysis: AnalysisObserved{Runs: w.runs, Templates: w.templates}}
	for hash, other := range w.rss {
		if hash == w.version {
			continue
		}
		if hash == w.ro.Status.StableRS {
			o.StableRS = other
		}
		o.OldRSs = append(o.OldRSs, other)
	}
	if w.version == w.ro.Status.StableRS {
		o.StableRS = rs
	}
	return o
}

// reconcile plans once and applies the plan the way the reconciler would; pods come up at once.
func (w *world) reconcile() Plan {
	w.t.Helper()
	o := w.observe()
	var p Plan
	if msg := Invalid(o.Rollout, w.services); msg != "" {
		p = InvalidSpec(o.Rollout, msg, metav1.NewTime(w.now))
	} else if w.ro.Spec.Strategy.BlueGreen != nil {
		p = BlueGreen(o)
	} else {
		p = Canary(o)
	}
	w.applyPlan(p)
	for hash, rs := range w.rss {
		rs.Status.Replicas = *rs.Spec.Replicas
		rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = *rs.Spec.Replicas, *rs.Spec.Replicas
		if w.unready[hash] {
			rs.Status.ReadyReplicas, rs.Status.AvailableReplicas = 0, 0
		}
	}
	return p
}

// settle reconciles until nothing changes any more (or a bound is hit).
func (w *world) settle() Plan {
	w.t.Helper()
	var p Plan
	for i := 0; i < 200; i++ {
		before := w.snapshot()
		p = w.reconcile()
		if w.snapshot() == before {
			return p
		}
	}
	w.t.Fatalf("the rollout did not settle in 200 reconciles: %s", w.snapshot())
	return p
}

func (w *world) snapshot() string {
	b, err := json.Marshal(w.ro.Status)
	if err != nil {
		w.t.Fatal(err)
	}
	s := string(b)
	for _, hash := range []string{"v1", "v2", "v3"} {
		if rs, ok := w.rss[hash]; ok {
			s += fmt.Sprintf(" %s=%d/%d %v", hash, *rs.Spec.Replicas, rs.Status.AvailableReplicas, rs.Annotations)
		}
	}
	names := make([]string, 0, len(w.services))
	for name := range w.services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s += " " + name + "=" + w.selector(name)
	}
	return s
}

func (w *world) replicas(hash string) int32 {
	if rs, ok := w.rss[hash]; ok {
		return *rs.Spec.Replicas
	}
	return 0
}

func (w *world) selector(svc string) string {
	return w.services[svc].Spec.Selector[v1alpha1.PodTemplateHashLabel]
}

// promote does what `kubectl argo rollouts promote` does to a paused rollout.
func (w *world) promote() {
	w.ro.Spec.Paused = false
	w.ro.Status.PauseConditions = nil
}

func (w *world) expect(phase v1alpha1.RolloutPhase, message string) {
	w.t.Helper()
	if w.ro.Status.Phase != phase || w.ro.Status.Message != message {
		w.t.Fatalf("phase %q %q, want %q %q", w.ro.Status.Phase, w.ro.Status.Message, phase, message)
	}
}

func (w *world) expectReplicas(hash string, want int32) {
	w.t.Helper()
	if got := w.replicas(hash); got != want {
		w.t.Fatalf("ReplicaSet %s has %d replicas, want %d (%s)", hash, got, want, w.snapshot())
	}
}

func (w *world) expectStep(want int32) {
	w.t.Helper()
	if got := stepIndex(&w.ro.Status); got != want {
		w.t.Fatalf("currentStepIndex %d, want %d", got, want)
	}
}

func (w *world) hasEvent(reason string) bool {
	for _, e := range w.events {
		if e.Reason == reason {
			return true
		}
	}
	return false
}

// applyPlan writes a plan into the world, as the reconciler's apply would.
func (w *world) applyPlan(p Plan) {
	for name, n := range p.Replicas {
		for _, rs := range w.rss {
			if rs.Name == name {
				rs.Spec.Replicas = ptr.To(n)
			}
		}
	}
	for name, at := range p.ScaleDownAt {
		for _, rs := range w.rss {
			if rs.Name != name {
				continue
			}
			if at == nil {
				delete(rs.Annotations, v1alpha1.ScaleDownDeadlineAnnotation)
			} else {
				rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation] = at.Format(time.RFC3339)
			}
		}
	}
	for svc, hash := range p.Selectors {
		w.services[svc].Spec.Selector[v1alpha1.PodTemplateHashLabel] = hash
	}
	w.ro.Status = p.Status
	w.events = append(w.events, p.Events...)
	w.runs = append(w.runs, p.Analysis.Create...)
}

// setRunPhase moves every AnalysisRun of the world to phase, as the analysis controller would.
func (w *world) setRunPhase(phase v1alpha1.AnalysisPhase) {
	for _, run := range w.runs {
		run.Status.Phase = phase
	}
}
