package localnode

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// HostIP is the local node's address, and every pod's host IP.
const HostIP = "127.0.0.1"

// Provider is the virtual-kubelet provider of the local node: every pod's containers run in
// this process as HTTP servers on the pod's own loopback IP.
type Provider struct {
	nodeName string
	ips      *IPAllocator
	sources  envSources
	client   kubernetes.Interface // deletes terminated pods, like the kubelet; nil in unit tests
	recorder record.EventRecorder
	probes   *http.Client
	now      func() time.Time

	mu     sync.Mutex
	pods   map[string]*podRuntime
	notify func(*corev1.Pod)
}

// ProviderConfig is what NewProvider needs.
type ProviderConfig struct {
	NodeName string
	IPs      *IPAllocator
	Sources  envSources
	Client   kubernetes.Interface
	Recorder record.EventRecorder
}

// NewProvider returns a provider with no pods.
func NewProvider(cfg ProviderConfig) *Provider {
	recorder := cfg.Recorder
	if recorder == nil {
		recorder = &record.FakeRecorder{}
	}
	return &Provider{
		nodeName: cfg.NodeName, ips: cfg.IPs, sources: cfg.Sources, client: cfg.Client,
		recorder: recorder, probes: newProbeClient(), now: time.Now,
		pods: map[string]*podRuntime{}, notify: func(*corev1.Pod) {},
	}
}

func podKey(namespace, name string) string { return namespace + "/" + name }

// NotifyPods registers the callback that receives every pod status change.
func (p *Provider) NotifyPods(_ context.Context, notify func(*corev1.Pod)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notify = notify
}

func (p *Provider) notifyPod(pod *corev1.Pod) {
	p.mu.Lock()
	notify := p.notify
	p.mu.Unlock()
	notify(pod)
}

// CreatePod gives the pod an IP and starts its containers. Problems with a container (a port
// in use, a missing ConfigMap) show in its status, as with a kubelet, rather than failing here.
func (p *Provider) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	key := podKey(pod.Namespace, pod.Name)
	p.mu.Lock()
	if _, exists := p.pods[key]; exists {
		p.mu.Unlock()
		return nil
	}
	ip, err := p.podIP(pod, key)
	if err != nil {
		p.mu.Unlock()
		return err
	}
	rt := &podRuntime{
		ip: ip, hostIP: HostIP, startTime: p.now(), now: p.now, notify: p.notifyPod,
		pod: pod.DeepCopy(),
	}
	if pod.Status.StartTime != nil {
		rt.startTime = pod.Status.StartTime.Time
	}
	rt.containers = p.newContainers(rt, pod, ip)
	p.pods[key] = rt
	p.mu.Unlock()

	klog.FromContext(ctx).V(2).Info("starting pod", "pod", key, "podIP", ip)
	for _, c := range rt.containersCopy() {
		c.start()
	}
	rt.refresh()
	return nil
}

// podIP keeps the IP a pod already reports (after a node restart), else allocates one.
func (p *Provider) podIP(pod *corev1.Pod, owner string) (netip.Addr, error) {
	if prev, err := netip.ParseAddr(pod.Status.PodIP); err == nil && p.ips.Reserve(prev, owner) {
		return prev, nil
	}
	return p.ips.Allocate(owner)
}

func (p *Provider) newContainers(rt *podRuntime, pod *corev1.Pod, ip netip.Addr) []*container {
	out := make([]*container, 0, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		out = append(out, p.newContainer(rt, pod, ip, pod.Spec.Containers[i]))
	}
	return out
}

func (p *Provider) newContainer(rt *podRuntime, pod *corev1.Pod, ip netip.Addr, spec corev1.Container) *container {
	env, envErr := resolveEnv(pod, &spec, podFacts{PodIP: ip.String(), HostIP: HostIP}, p.sources)
	// Events and the echo identity need only the pod's name, namespace and UID: a small object
	// instead of a copy of the whole pod keeps thousands of pods light.
	ref := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion},
	}
	return newContainer(spec, containerEnv{
		Pod: ref, PodIP: ip.String(), PodDeclaresPorts: podDeclaresPorts(pod), Env: env, EnvErr: envErr, Now: p.now,
		Changed: rt.refresh,
		Event: func(eventType, reason, format string, a ...any) {
			p.recorder.Eventf(ref, eventType, reason, format, a...)
		},
		Probes: p.probes,
	})
}

// UpdatePod applies a changed spec: a container whose image changed restarts with the new
// image, as the kubelet does; labels and annotations are just kept.
func (p *Provider) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	rt := p.runtime(pod.Namespace, pod.Name)
	if rt == nil {
		return errdefs.NotFoundf("pod %s/%s is not on node %s", pod.Namespace, pod.Name, p.nodeName)
	}
	rt.mu.Lock()
	old := rt.pod
	var changed []int
	for i := range pod.Spec.Containers {
		if i < len(old.Spec.Containers) && old.Spec.Containers[i].Image != pod.Spec.Containers[i].Image {
			changed = append(changed, i)
		}
	}
	status := old.Status
	rt.pod = pod.DeepCopy()
	rt.pod.Status = status
	rt.mu.Unlock()
	for _, i := range changed {
		p.replaceContainer(rt, pod, i)
	}
	rt.refresh()
	return nil
}

// replaceContainer stops container i and starts it again from the new spec, counting a restart.
func (p *Provider) replaceContainer(rt *podRuntime, pod *corev1.Pod, i int) {
	rt.mu.Lock()
	if rt.terminating || i >= len(rt.containers) {
		rt.mu.Unlock()
		return
	}
	old := rt.containers[i]
	rt.mu.Unlock()
	old.kill("Completed", "image changed to "+pod.Spec.Containers[i].Image)
	next := p.newContainer(rt, pod, rt.ip, pod.Spec.Containers[i])
	old.mu.Lock()
	next.restarts, next.lastTerm, next.prevLog = old.restarts, old.lastTerm, old.prevLog
	old.mu.Unlock()
	old.quitOnce.Do(func() { close(old.quit) })
	rt.mu.Lock()
	rt.containers[i] = next
	rt.mu.Unlock()
	next.start()
}

// DeletePod stops the pod's containers within its grace period, reports them terminated,
// frees the IP and removes the pod from the API, as the kubelet does once a pod has stopped.
// It returns at once; the stopping happens in the background.
func (p *Provider) DeletePod(ctx context.Context, pod *corev1.Pod) error {
	rt := p.runtime(pod.Namespace, pod.Name)
	if rt == nil {
		return errdefs.NotFoundf("pod %s/%s is not on node %s", pod.Namespace, pod.Name, p.nodeName)
	}
	if !rt.beginTermination() {
		return nil
	}
	grace := time.Duration(0)
	if pod.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	log := klog.FromContext(ctx)
	go func() {
		rt.terminate(grace)
		p.forget(pod.Namespace, pod.Name, rt)
		if pod.DeletionTimestamp != nil {
			p.removeFromAPI(log, pod)
		}
	}()
	return nil
}

// forget drops the pod and frees its IP.
func (p *Provider) forget(namespace, name string, rt *podRuntime) {
	p.mu.Lock()
	if p.pods[podKey(namespace, name)] == rt {
		delete(p.pods, podKey(namespace, name))
	}
	p.mu.Unlock()
	p.ips.Release(rt.ip)
}

// removeFromAPI deletes the stopped pod with no further grace, for this very pod only.
func (p *Provider) removeFromAPI(log klog.Logger, pod *corev1.Pod) {
	if p.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := *metav1.NewDeleteOptions(0)
	opts.Preconditions = metav1.NewUIDPreconditions(string(pod.UID))
	err := p.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		log.Error(err, "removing the stopped pod from the API", "pod", podKey(pod.Namespace, pod.Name))
	}
}

func (p *Provider) runtime(namespace, name string) *podRuntime {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pods[podKey(namespace, name)]
}

// GetPod returns the pod with its current status.
func (p *Provider) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	rt := p.runtime(namespace, name)
	if rt == nil {
		return nil, errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, name, p.nodeName)
	}
	return rt.snapshot(), nil
}

// GetPodStatus returns the pod's current status.
func (p *Provider) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

// GetPods returns every pod on the node.
func (p *Provider) GetPods(context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	rts := make([]*podRuntime, 0, len(p.pods))
	for _, rt := range p.pods {
		rts = append(rts, rt)
	}
	p.mu.Unlock()
	pods := make([]*corev1.Pod, 0, len(rts))
	for _, rt := range rts {
		pods = append(pods, rt.snapshot())
	}
	return pods, nil
}

// PodCount is the number of pods the node runs.
func (p *Provider) PodCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pods)
}

// GetContainerLogs serves kubectl logs from the container's in-memory log.
func (p *Provider) GetContainerLogs(ctx context.Context, namespace, podName, containerName string, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	rt := p.runtime(namespace, podName)
	if rt == nil {
		return nil, errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, podName, p.nodeName)
	}
	c := rt.containerNamed(containerName)
	if c == nil {
		return nil, errdefs.NotFoundf("container %s is not in pod %s/%s", containerName, namespace, podName)
	}
	l, err := c.logFor(opts.Previous)
	if err != nil {
		return nil, errdefs.AsNotFound(err)
	}
	return l.Read(ctx, opts), nil
}

// RunInContainer is not possible: containers are not processes.
func (p *Provider) RunInContainer(context.Context, string, string, string, []string, api.AttachIO) error {
	return errdefs.InvalidInput("exec is not supported by the local node: its containers are HTTP servers inside the node process, not processes")
}

// AttachToContainer is not possible: containers have no terminal.
func (p *Provider) AttachToContainer(context.Context, string, string, string, api.AttachIO) error {
	return errdefs.InvalidInput("attach is not supported by the local node: its containers have no terminal")
}

// PortForward connects the stream to the pod's IP and port.
func (p *Provider) PortForward(ctx context.Context, namespace, podName string, port int32, stream io.ReadWriteCloser) error {
	defer func() { _ = stream.Close() }()
	rt := p.runtime(namespace, podName)
	if rt == nil {
		return errdefs.NotFoundf("pod %s/%s is not on node %s", namespace, podName, p.nodeName)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(rt.ip.String(), strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("port-forward to %s/%s port %d: %w", namespace, podName, port, err)
	}
	defer func() { _ = conn.Close() }()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(conn, stream); done <- struct{}{} }()
	go func() { _, _ = io.Copy(stream, conn); done <- struct{}{} }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// GetStatsSummary reports the node and its pods without usage figures: in-process containers
// have no cgroups to measure.
func (p *Provider) GetStatsSummary(ctx context.Context) (*statsv1alpha1.Summary, error) {
	pods, _ := p.GetPods(ctx)
	s := &statsv1alpha1.Summary{Node: statsv1alpha1.NodeStats{NodeName: p.nodeName, StartTime: metav1.NewTime(p.now())}}
	for _, pod := range pods {
		s.Pods = append(s.Pods, statsv1alpha1.PodStats{
			PodRef: statsv1alpha1.PodReference{Name: pod.Name, Namespace: pod.Namespace, UID: string(pod.UID)},
		})
	}
	return s, nil
}

// GetMetricsResource has no resource metrics to offer (see GetStatsSummary).
func (p *Provider) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, nil
}

// stopAll stops every pod's servers at once, when the node shuts down. The pods stay in the
// API; a restarted node starts them again on the same IPs.
func (p *Provider) stopAll() {
	p.mu.Lock()
	rts := make([]*podRuntime, 0, len(p.pods))
	for _, rt := range p.pods {
		rts = append(rts, rt)
	}
	p.pods = map[string]*podRuntime{}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, rt := range rts {
		for _, c := range rt.containersCopy() {
			c.quitOnce.Do(func() { close(c.quit) })
			c.stop(ctx, "node shutting down")
		}
		p.ips.Release(rt.ip)
	}
}
