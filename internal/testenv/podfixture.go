package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// NodeName is the Node that StartPodFixture registers and binds pods to.
const NodeName = "aviary-test-node"

const (
	podFixtureWorkers = 4
	// goroutineLabel is a pprof label carried by every goroutine a PodFixture starts (and, by
	// inheritance, those client-go starts for it), so Stop can prove none is left.
	goroutineLabel = "aviary-testenv-pod-fixture"
	// hostIP is the node's address; pod IPs are other loopback addresses.
	hostIP = "127.0.0.1"
)

var (
	fixtureIDs atomic.Int64
	podIPs     atomic.Uint32
)

// PodFixtureOption configures StartPodFixture.
type PodFixtureOption func(*PodFixture)

// InNamespace limits the fixture to pods in namespace ns. By default it takes every pod in the
// cluster; two fixtures must never watch the same namespace.
func InNamespace(ns string) PodFixtureOption {
	return func(f *PodFixture) { f.namespace = ns }
}

// ReadyWhen decides whether a running pod's containers are ready; by default they all are. It is
// asked again on every change to the pod and on Resync, so a test can change its answer (for
// instance through an atomic.Bool) and call Resync. It must not modify the pod.
func ReadyWhen(ready func(*corev1.Pod) bool) PodFixtureOption {
	return func(f *PodFixture) { f.ready = ready }
}

// PodFixture plays the kubelet (and the scheduler) for pods, since no kubelet runs here: it binds
// every unscheduled pod to NodeName, reports it Running with a loopback pod IP and its containers
// started, ready or not as ReadyWhen says, and force-deletes pods being deleted, as no kubelet
// will finish their termination. Nothing actually runs.
//
// It is a client-go shared informer on pods feeding a workqueue with a few workers: no
// controller-runtime manager, so it shares no cache, scheme or metrics registry with the
// controllers under test, and it starts in the time one LIST takes.
type PodFixture struct {
	namespace string
	ready     func(*corev1.Pod) bool

	id         string
	client     kubernetes.Interface
	httpClient *http.Client
	factory    informers.SharedInformerFactory
	lister     corelisters.PodLister
	queue      workqueue.TypedRateLimitingInterface[types.NamespacedName]
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	stopOnce   sync.Once
	stopErr    error
}

// StartPodFixture registers the Ready node NodeName (if absent) and starts a PodFixture. It runs
// until ctx ends or Stop is called; call Stop before the test ends (t.Cleanup) to wait for all
// its goroutines to end.
func (e *Env) StartPodFixture(ctx context.Context, opts ...PodFixtureOption) (*PodFixture, error) {
	f := &PodFixture{
		ready: func(*corev1.Pod) bool { return true },
		id:    strconv.FormatInt(fixtureIDs.Add(1), 10),
	}
	for _, opt := range opts {
		opt(f)
	}

	// A transport of its own (a Dial function makes client-go's transport cache hand out a new
	// one), so that Stop can close its idle connections and their goroutines.
	cfg := rest.CopyConfig(e.Config)
	cfg.QPS, cfg.Burst = 500, 1000
	cfg.UserAgent = "aviary-testenv-pod-fixture"
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	cfg.Dial = dialer.DialContext
	var err error
	if f.httpClient, err = rest.HTTPClientFor(cfg); err != nil {
		return nil, err
	}
	if f.client, err = kubernetes.NewForConfigAndClient(cfg, f.httpClient); err != nil {
		return nil, err
	}

	ctx, f.cancel = context.WithCancel(ctx)
	f.factory = informers.NewSharedInformerFactoryWithOptions(f.client, 0, informers.WithNamespace(f.namespace))
	pods := f.factory.Core().V1().Pods()
	f.lister = pods.Lister()
	enqueue := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok {
			f.queue.Add(types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name})
		}
	}
	// Everything that starts goroutines (HTTP connections, the queue) runs under the label Stop
	// looks for.
	pprof.Do(ctx, pprof.Labels(goroutineLabel, f.id), func(ctx context.Context) {
		if err = ensureNode(ctx, f.client); err != nil {
			return
		}
		f.queue = workqueue.NewTypedRateLimitingQueue(
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](5*time.Millisecond, time.Second))
		f.wg.Go(func() {
			<-ctx.Done()
			f.queue.ShutDown()
		})
		if _, err = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
		}); err != nil {
			return
		}
		f.factory.Start(ctx.Done())
		for range podFixtureWorkers {
			f.wg.Go(func() {
				for f.processNext(ctx) {
				}
			})
		}
	})
	if err != nil {
		return nil, errors.Join(err, f.Stop())
	}
	for typ, synced := range f.factory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return nil, errors.Join(fmt.Errorf("pod fixture: the %v informer did not sync", typ), f.Stop())
		}
	}
	return f, nil
}

// Resync asks ReadyWhen again about every pod the fixture has seen.
func (f *PodFixture) Resync() {
	pods, err := f.lister.List(labels.Everything())
	if err != nil {
		return
	}
	for _, pod := range pods {
		f.queue.Add(types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name})
	}
}

// Stop stops the fixture and waits until every goroutine it started has ended, returning an error
// naming those still running after 10 seconds. Pods keep the status they were given. Calling Stop
// again returns the first result.
func (f *PodFixture) Stop() error {
	f.stopOnce.Do(func() {
		f.cancel()
		f.wg.Wait() // the workers, and the goroutine shutting the queue down
		f.factory.Shutdown()
		// Watches are closed by now; their HTTP/2 connections become idle and are closed here.
		// Their reader goroutines end shortly after.
		deadline := time.Now().Add(10 * time.Second)
		for {
			utilnet.CloseIdleConnectionsFor(f.httpClient.Transport)
			left := labelledGoroutines(goroutineLabel, f.id)
			if left == "" {
				return
			}
			if time.Now().After(deadline) {
				f.stopErr = fmt.Errorf("pod fixture %s: goroutines still running 10s after Stop:\n%s", f.id, left)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return f.stopErr
}

func (f *PodFixture) processNext(ctx context.Context) bool {
	key, shutdown := f.queue.Get()
	if shutdown {
		return false
	}
	defer f.queue.Done(key)
	if err := f.sync(ctx, key); err != nil && ctx.Err() == nil {
		f.queue.AddRateLimited(key)
		return true
	}
	f.queue.Forget(key)
	return true
}

func (f *PodFixture) sync(ctx context.Context, key types.NamespacedName) error {
	ns, name := key.Namespace, key.Name
	cached, err := f.lister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	pods := f.client.CoreV1().Pods(ns)

	switch {
	case cached.DeletionTimestamp != nil:
		// No kubelet will stop the containers and confirm: finish the deletion now.
		err := pods.Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0),
			Preconditions:      &metav1.Preconditions{UID: &cached.UID},
		})
		return ignoreGone(err)

	case cached.Spec.NodeName == "":
		binding := &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: cached.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: NodeName},
		}
		// The update event of the bound pod brings it back here for its status.
		return ignoreGone(pods.Bind(ctx, binding, metav1.CreateOptions{}))

	case cached.Spec.NodeName != NodeName,
		cached.Status.Phase == corev1.PodSucceeded, cached.Status.Phase == corev1.PodFailed:
		return nil
	}

	pod := cached.DeepCopy()
	ready := f.ready(cached.DeepCopy())
	if statusMatches(pod, ready) {
		return nil
	}
	setRunningStatus(pod, ready, metav1.Now())
	_, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	// A conflict means a newer version is on its way through the informer.
	if apierrors.IsConflict(err) {
		return nil
	}
	return ignoreGone(err)
}

// ignoreGone ignores errors saying the pod is gone or is another pod by now (UID precondition),
// or, for a binding, is bound already.
func ignoreGone(err error) error {
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// statusMatches reports whether pod already shows what setRunningStatus would write, compared on
// the facts only (not timestamps or fields the API server may drop), so that writes converge.
func statusMatches(pod *corev1.Pod, ready bool) bool {
	s := &pod.Status
	if s.Phase != corev1.PodRunning || s.PodIP == "" || s.HostIP == "" || s.StartTime == nil {
		return false
	}
	for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodReadyToStartContainers, corev1.PodInitialized} {
		if conditionStatus(s.Conditions, c) != corev1.ConditionTrue {
			return false
		}
	}
	want := corev1.ConditionFalse
	if ready {
		want = corev1.ConditionTrue
	}
	if conditionStatus(s.Conditions, corev1.ContainersReady) != want ||
		conditionStatus(s.Conditions, corev1.PodReady) != want {
		return false
	}
	if len(s.ContainerStatuses) != len(pod.Spec.Containers) ||
		len(s.InitContainerStatuses) != len(pod.Spec.InitContainers) {
		return false
	}
	for i, c := range pod.Spec.Containers {
		cs := s.ContainerStatuses[i]
		if cs.Name != c.Name || cs.Image != c.Image || cs.Ready != ready || cs.State.Running == nil {
			return false
		}
	}
	return true
}

func conditionStatus(conds []corev1.PodCondition, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range conds {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// setRunningStatus writes what a kubelet would report for a pod whose containers all started,
// keeping the timestamps of anything that did not change.
func setRunningStatus(pod *corev1.Pod, ready bool, now metav1.Time) {
	s := &pod.Status
	s.Phase = corev1.PodRunning
	s.ObservedGeneration = pod.Generation
	s.HostIP = hostIP
	s.HostIPs = []corev1.HostIP{{IP: hostIP}}
	if s.PodIP == "" {
		s.PodIP = nextPodIP()
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	}
	if s.StartTime == nil {
		s.StartTime = &now
	}

	readyStatus, reason, message := corev1.ConditionTrue, "", ""
	if !ready {
		names := make([]string, 0, len(pod.Spec.Containers))
		for _, c := range pod.Spec.Containers {
			names = append(names, c.Name)
		}
		readyStatus, reason = corev1.ConditionFalse, "ContainersNotReady"
		message = "containers with unready status: [" + strings.Join(names, " ") + "]"
	}
	setCondition(pod, corev1.PodScheduled, corev1.ConditionTrue, "", "", now)
	setCondition(pod, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", "", now)
	setCondition(pod, corev1.PodInitialized, corev1.ConditionTrue, "", "", now)
	setCondition(pod, corev1.ContainersReady, readyStatus, reason, message, now)
	setCondition(pod, corev1.PodReady, readyStatus, reason, message, now)

	s.InitContainerStatuses = containerStatuses(pod, pod.Spec.InitContainers, s.InitContainerStatuses, ready, true, now)
	s.ContainerStatuses = containerStatuses(pod, pod.Spec.Containers, s.ContainerStatuses, ready, false, now)
}

func setCondition(pod *corev1.Pod, t corev1.PodConditionType, status corev1.ConditionStatus, reason, message string, now metav1.Time) {
	c := corev1.PodCondition{
		Type: t, Status: status, Reason: reason, Message: message,
		ObservedGeneration: pod.Generation, LastTransitionTime: now,
	}
	conds := pod.Status.Conditions
	for i := range conds {
		if conds[i].Type == t {
			if conds[i].Status == status {
				c.LastTransitionTime = conds[i].LastTransitionTime
			}
			conds[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// containerStatuses reports containers started and running, keeping earlier start times. Init
// containers have completed, except restartable ("sidecar") ones, which run like the others.
func containerStatuses(pod *corev1.Pod, containers []corev1.Container, old []corev1.ContainerStatus, ready, init bool, now metav1.Time) []corev1.ContainerStatus {
	startedAt := map[string]metav1.Time{}
	for _, cs := range old {
		if cs.State.Running != nil {
			startedAt[cs.Name] = cs.State.Running.StartedAt
		} else if cs.State.Terminated != nil {
			startedAt[cs.Name] = cs.State.Terminated.StartedAt
		}
	}
	out := make([]corev1.ContainerStatus, 0, len(containers))
	for _, c := range containers {
		started, ok := startedAt[c.Name]
		if !ok {
			started = now
		}
		cs := corev1.ContainerStatus{
			Name:        c.Name,
			Image:       c.Image,
			ImageID:     "aviary-test-image://" + c.Image,
			ContainerID: "aviary-test://" + string(pod.UID) + "/" + c.Name,
			Ready:       ready,
			Started:     ptr.To(true),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		}
		sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		if init && !sidecar {
			// As the kubelet reports an init container that exited 0.
			cs.Ready, cs.Started = true, ptr.To(false)
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				Reason: "Completed", StartedAt: started, FinishedAt: started, ContainerID: cs.ContainerID,
			}}
		}
		out = append(out, cs)
	}
	return out
}

// nextPodIP hands out 127.0.x.y, x and y in 1..254, unique within the test process for the
// first 64516 pods (then it wraps).
func nextPodIP() string {
	n := podIPs.Add(1) - 1
	return fmt.Sprintf("127.0.%d.%d", 1+(n/254)%254, 1+n%254)
}

// ensureNode creates NodeName if it is absent and makes its status Ready. Nothing heartbeats it:
// kube-controller-manager runs without the node lifecycle controller, so it stays Ready.
func ensureNode(ctx context.Context, c kubernetes.Interface) error {
	nodes := c.CoreV1().Nodes()
	node, err := nodes.Get(ctx, NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err = nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name: NodeName,
			Labels: map[string]string{
				corev1.LabelHostname: NodeName,
				corev1.LabelOSStable: "linux",
			},
		}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			node, err = nodes.Get(ctx, NodeName, metav1.GetOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("registering node %s: %w", NodeName, err)
	}
	if conditionStatusNode(node.Status.Conditions, corev1.NodeReady) == corev1.ConditionTrue {
		return nil
	}
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("10000"),
	}
	node.Status = corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady"),
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID"),
		},
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: hostIP},
			{Type: corev1.NodeHostName, Address: NodeName},
		},
		NodeInfo: corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64", KubeletVersion: "aviary-testenv"},
	}
	_, err = nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// Another fixture started at the same time: it has written the same status.
		return nil
	}
	if err != nil {
		return fmt.Errorf("making node %s Ready: %w", NodeName, err)
	}
	return nil
}

func conditionStatusNode(conds []corev1.NodeCondition, t corev1.NodeConditionType) corev1.ConditionStatus {
	for _, c := range conds {
		if c.Type == t {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// labelledGoroutines returns the stacks of goroutines carrying pprof label key=value, or "".
func labelledGoroutines(key, value string) string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return ""
	}
	needle := fmt.Sprintf("%q:%q", key, value)
	var left []string
	for _, block := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(block, needle) {
			left = append(left, block)
		}
	}
	return strings.Join(left, "\n\n")
}
