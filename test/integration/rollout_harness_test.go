package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/testenv"
)

// eventLog is an EventSink that keeps the Events a controller records, for assertions.
type eventLog struct {
	mu     sync.Mutex
	events []plan.Event
}

func (l *eventLog) Event(_ *v1alpha1.Rollout, eventType, reason, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, plan.Event{Type: eventType, Reason: reason, Message: message})
}

func (l *eventLog) count(reason string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

// scene is one test's namespace with a pod fixture playing the kubelet and a Rollout
// controller that can be stopped and started again.
type scene struct {
	t      *testing.T
	ns     string
	events *eventLog
	stop   context.CancelFunc
	done   chan error
}

func newScene(t *testing.T, ready func(*corev1.Pod) bool) *scene {
	t.Helper()
	s := newIdleScene(t, ready)
	s.startController()
	t.Cleanup(s.stopController)
	return s
}

// newIdleScene is a scene whose controller the test starts itself, if at all.
func newIdleScene(t *testing.T, ready func(*corev1.Pod) bool) *scene {
	t.Helper()
	ctx := t.Context()
	s := &scene{t: t, ns: newNamespace(ctx, t, "ro"), events: &eventLog{}}
	opts := []testenv.PodFixtureOption{testenv.InNamespace(s.ns)}
	if ready != nil {
		opts = append(opts, testenv.ReadyWhen(ready))
	}
	fixture, err := env.StartPodFixture(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fixture.Stop(); err != nil {
			t.Errorf("stopping the pod fixture: %v", err)
		}
	})
	return s
}

// startController runs a Rollout controller for this namespace, as `aviary controller` would.
func (s *scene) startController() {
	s.t.Helper()
	mgr := s.newManager()
	r := &rollout.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Events: s.events, Clock: clock.RealClock{}, Workers: 2}
	if err := r.SetupWithManager(s.t.Context(), mgr); err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(s.t.Context())
	s.stop, s.done = cancel, make(chan error, 1)
	go func() { s.done <- mgr.Start(ctx) }()
}

func (s *scene) stopController() {
	if s.stop == nil {
		return
	}
	s.stop()
	if err := <-s.done; err != nil {
		s.t.Errorf("controller stopped with %v", err)
	}
	s.stop = nil
}

func (s *scene) create(obj client.Object) {
	s.t.Helper()
	obj.SetNamespace(s.ns)
	if err := env.Client.Create(s.t.Context(), obj); err != nil {
		s.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

func (s *scene) service(name string) {
	s.create(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "shop"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	})
}

func shopRollout(replicas int32, strategy v1alpha1.RolloutStrategy) *v1alpha1.Rollout {
	labels := map[string]string{"app": "shop"}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "shop", Image: "argoproj/rollouts-demo:blue",
					Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				}}},
			},
			Strategy: strategy,
		},
	}
}

func (s *scene) rollout() *v1alpha1.Rollout {
	s.t.Helper()
	ro := &v1alpha1.Rollout{}
	if err := env.Client.Get(s.t.Context(), client.ObjectKey{Namespace: s.ns, Name: "shop"}, ro); err != nil {
		s.t.Fatal(err)
	}
	return ro
}

// update changes the Rollout with optimistic retries, as kubectl and the CLI do.
func (s *scene) update(change func(*v1alpha1.Rollout), status bool) {
	s.t.Helper()
	for attempt := 0; ; attempt++ {
		ro := s.rollout()
		change(ro)
		var err error
		if status {
			err = env.Client.Status().Update(s.t.Context(), ro)
		} else {
			err = env.Client.Update(s.t.Context(), ro)
		}
		if err == nil {
			return
		}
		if attempt > 20 {
			s.t.Fatalf("updating the Rollout: %v", err)
		}
	}
}

func (s *scene) setImage(image string) {
	s.update(func(ro *v1alpha1.Rollout) { ro.Spec.Template.Spec.Containers[0].Image = image }, false)
}

// promote does what `kubectl argo rollouts promote` does to a paused rollout.
func (s *scene) promote() {
	s.update(func(ro *v1alpha1.Rollout) { ro.Status.PauseConditions = nil }, true)
}

// state is what the tests check at each point of a rollout.
type state struct {
	phase   v1alpha1.RolloutPhase
	message string
	step    int32 // -1: don't care
	sizes   map[string]int32
}

// sizes is the available pods per image, e.g. {"blue": 4, "green": 1}.
func (s *scene) sizes() map[string]int32 {
	s.t.Helper()
	var list appsv1.ReplicaSetList
	if err := env.Client.List(s.t.Context(), &list, client.InNamespace(s.ns)); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]int32{}
	for _, rs := range list.Items {
		image := rs.Spec.Template.Spec.Containers[0].Image
		color := image[strings.LastIndex(image, ":")+1:]
		if rs.Status.AvailableReplicas > 0 || ptr.Deref(rs.Spec.Replicas, 0) > 0 {
			out[color] = rs.Status.AvailableReplicas
			if ptr.Deref(rs.Spec.Replicas, 0) != rs.Status.AvailableReplicas {
				out[color+"(spec)"] = ptr.Deref(rs.Spec.Replicas, 0)
			}
		}
	}
	return out
}

func (s *scene) describe() string {
	ro := s.rollout()
	return fmt.Sprintf("phase=%s message=%q step=%v sizes=%v", ro.Status.Phase, ro.Status.Message,
		ptr.Deref(ro.Status.CurrentStepIndex, -1), s.sizes())
}

// await waits (bounded) until the rollout is in the wanted state.
func (s *scene) await(want state) {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ro := s.rollout()
		ok := ro.Status.Phase == want.phase && ro.Status.Message == want.message &&
			ro.Status.ObservedGeneration == fmt.Sprint(ro.Generation) &&
			(want.step < 0 || ptr.Deref(ro.Status.CurrentStepIndex, -1) == want.step)
		if ok && want.sizes != nil {
			got := s.sizes()
			ok = fmt.Sprint(got) == fmt.Sprint(want.sizes)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %+v; have %s", want, s.describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// selector is the pod-template hash a Service selects, translated to the image color.
func (s *scene) selector(svcName string) string {
	s.t.Helper()
	svc := &corev1.Service{}
	if err := env.Client.Get(s.t.Context(), client.ObjectKey{Namespace: s.ns, Name: svcName}, svc); err != nil {
		s.t.Fatal(err)
	}
	hash := svc.Spec.Selector[v1alpha1.PodTemplateHashLabel]
	var list appsv1.ReplicaSetList
	if err := env.Client.List(s.t.Context(), &list, client.InNamespace(s.ns)); err != nil {
		s.t.Fatal(err)
	}
	for _, rs := range list.Items {
		if rs.Labels[v1alpha1.PodTemplateHashLabel] == hash {
			image := rs.Spec.Template.Spec.Containers[0].Image
			return image[strings.LastIndex(image, ":")+1:]
		}
	}
	return hash
}

// newRSName is the name of the ReplicaSet of the Rollout's current template.
func (s *scene) newRSName() string {
	s.t.Helper()
	ro := s.rollout()
	return "shop-" + rollout.PodTemplateHash(ro.Spec.Template, ro.Status.CollisionCount)
}

// newManager is a manager caching only the scene's namespace, with its metrics and health
// endpoints off, for the controllers a test runs itself.
func (s *scene) newManager() ctrl.Manager {
	s.t.Helper()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{s.ns: {}}},
		Client:                 client.Options{Cache: rollout.ClientCacheOptions()},
		NewCache:               refuseTypedRolloutReads(s.t),
		// Each test runs its own controllers; names repeat across tests by design.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return mgr
}

// refuseTypedRolloutReads makes a manager's cache fail the test on any typed Rollout read. The
// controller reads Rollouts unstructured (rollout.GetRollout): a typed read would start a
// typed informer, which a single Rollout the Go types cannot decode stops from ever syncing.
func refuseTypedRolloutReads(t *testing.T) cache.NewCacheFunc {
	return func(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
		c, err := cache.New(cfg, opts)
		return typedRolloutGuard{Cache: c, t: t}, err
	}
}

// typedRolloutGuard is a cache that refuses typed Rollout reads and informers.
type typedRolloutGuard struct {
	cache.Cache
	t *testing.T
}

func (g typedRolloutGuard) refuse(obj runtime.Object) error {
	switch obj.(type) {
	case *v1alpha1.Rollout, *v1alpha1.RolloutList:
		err := fmt.Errorf("typed %T read from the cache: read Rollouts with rollout.GetRollout or rollout.ListRollouts", obj)
		g.t.Error(err)
		return err
	}
	return nil
}

func (g typedRolloutGuard) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := g.refuse(obj); err != nil {
		return err
	}
	return g.Cache.Get(ctx, key, obj, opts...)
}

func (g typedRolloutGuard) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := g.refuse(list); err != nil {
		return err
	}
	return g.Cache.List(ctx, list, opts...)
}

func (g typedRolloutGuard) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	if err := g.refuse(obj); err != nil {
		return nil, err
	}
	return g.Cache.GetInformer(ctx, obj, opts...)
}

func (g typedRolloutGuard) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	if gvk == rollout.RolloutGVK {
		// The cache builds a typed informer for a kind its scheme knows.
		if err := g.refuse(&v1alpha1.Rollout{}); err != nil {
			return nil, err
		}
	}
	return g.Cache.GetInformerForKind(ctx, gvk, opts...)
}
