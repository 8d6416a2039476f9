package localnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/log/klogv2"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Options configure a local node.
type Options struct {
	// NodeName is the Node object's name.
	NodeName string
	// FirstIP and LastIP bound the pod IPs (inclusive).
	FirstIP, LastIP netip.Addr
	// MaxPods is the node's pod capacity.
	MaxPods int
	// CPU and Memory are the capacity the node reports. Containers use next to nothing, so
	// these only decide how many pods with resource requests the scheduler places here.
	CPU, Memory resource.Quantity
	// Listen is the kubelet API's address (logs, port-forward); port 0 picks a free one.
	Listen string
	// Workers is the number of pod sync workers.
	Workers int
}

// DefaultOptions are the defaults of `aviary node`.
func DefaultOptions() Options {
	return Options{
		NodeName: "aviary-local",
		FirstIP:  DefaultFirstIP,
		LastIP:   DefaultLastIP,
		MaxPods:  3000,
		CPU:      resource.MustParse("1k"),
		Memory:   resource.MustParse("1Ti"),
		Listen:   "127.0.0.1:10250",
		Workers:  8,
	}
}

// Validate says what is wrong with o and how to fix it.
func (o Options) Validate() error {
	var errs []error
	if o.NodeName == "" {
		errs = append(errs, errors.New("--node-name must not be empty"))
	}
	if o.MaxPods < 1 {
		errs = append(errs, fmt.Errorf("--pods %d: the node must hold at least one pod", o.MaxPods))
	}
	if _, err := NewIPAllocator(o.FirstIP, o.LastIP); err != nil {
		errs = append(errs, err)
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("kubelet API address %q: want host:port such as 127.0.0.1:10250: %w", o.Listen, err))
	} else if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		errs = append(errs, fmt.Errorf("kubelet API address %q: the local node serves only on loopback (127.0.0.1)", o.Listen))
	}
	return errors.Join(errs...)
}

// Node is a running local node: the virtual-kubelet controllers, the provider, the kubelet API.
type Node struct {
	Provider *Provider
	vk       *nodeutil.Node
	api      net.Listener
	apiSrv   *http.Server
	events   record.EventBroadcaster
	client   kubernetes.Interface
	name     string
}

// New prepares a node against the API server of cfg; Run starts it. The kubelet API listener
// is opened here, so that the Node object can name its port.
func New(cfg *rest.Config, o Options) (*Node, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	// One process writes the status of thousands of pods: client-side throttling at the
	// default 5 requests per second would delay pods by minutes.
	cfg.QPS, cfg.Burst = 500, 1000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for the API server: %w", err)
	}
	ips, err := NewIPAllocator(o.FirstIP, o.LastIP)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("kubelet API on %s: %w (is another node running? pick another port)", o.Listen, err)
	}
	cert, err := selfSignedCert(o.NodeName)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	events := record.NewBroadcaster()
	recorder := events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "aviary-local-node", Host: o.NodeName})
	n := &Node{api: l, events: events, client: client, name: o.NodeName}
	mux := http.NewServeMux()
	vk, err := nodeutil.NewNode(o.NodeName,
		func(pc nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
			n.Provider = NewProvider(ProviderConfig{
				NodeName: o.NodeName, IPs: ips, Client: client, Recorder: recorder,
				Sources: listerSources{configMaps: pc.ConfigMaps, secrets: pc.Secrets},
			})
			mux.Handle("/", api.PodHandler(podHandlerConfig(n.Provider, pc.Pods), false))
			return n.Provider, nil, nil
		},
		nodeutil.WithClient(client),
		withNodeSpec(o, l.Addr().(*net.TCPAddr).Port),
		nodeutil.WithPodControllerConfigOverrides(withoutOverallRateLimit),
		func(c *nodeutil.NodeConfig) error {
			c.EventRecorder = recorder
			c.NumWorkers = max(o.Workers, 1)
			c.InformerResyncPeriod = 5 * time.Minute
			// The provider resolves env itself: virtual-kubelet resolves it before the pod has an
			// IP, so status.podIP would come out empty.
			c.SkipDownwardAPIResolution = true
			return nil
		},
	)
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	n.vk = vk
	n.apiSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	return n, nil
}

// APIAddr is the kubelet API's address.
func (n *Node) APIAddr() string { return n.api.Addr().String() }

// Run runs the node until ctx ends, then stops every pod's servers.
func (n *Node) Run(ctx context.Context) error {
	ctx = log.WithLogger(ctx, klogv2.New(nil))
	n.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: n.client.CoreV1().Events(corev1.NamespaceAll)})
	defer n.events.Shutdown()
	go func() { _ = n.apiSrv.ServeTLS(n.api, "", "") }()
	defer func() { _ = n.apiSrv.Close() }()
	klog.FromContext(ctx).Info("local node starting", "kubeletAPI", n.APIAddr())
	err := n.vk.Run(ctx)
	n.Provider.stopAll()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// WaitReady waits until the node is registered, its pod controller runs and the Node object
// says Ready. virtual-kubelet reports ready before its status update marking the node Ready
// has reached the API server; a scheduler or test looking in between sees Ready=False.
func (n *Node) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if err := n.vk.WaitReady(ctx, timeout); err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var last error
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		last = CheckReady(ctx, n.client, n.name)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("not Ready after %s: %w", timeout, last)
	}
	return nil
}

// CheckReady reports whether the Node name says Ready, and if not, what it says instead.
func CheckReady(ctx context.Context, cs kubernetes.Interface, name string) error {
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				return nil
			}
			return fmt.Errorf("node %s is not Ready: %s %s", name, c.Reason, c.Message)
		}
	}
	return fmt.Errorf("node %s has no Ready condition yet", name)
}

// withoutOverallRateLimit keeps only per-pod retry back-off on the pod controller's queues. The
// default also caps each queue at 10 items per second overall, which made 2,000 pods take more
// than three minutes to start.
func withoutOverallRateLimit(c *node.PodControllerConfig) error {
	perPod := func() workqueue.TypedRateLimiter[any] {
		return workqueue.NewTypedItemExponentialFailureRateLimiter[any](5*time.Millisecond, 30*time.Second)
	}
	c.SyncPodsFromKubernetesRateLimiter = perPod()
	c.SyncPodStatusFromProviderRateLimiter = perPod()
	c.DeletePodsFromKubernetesRateLimiter = perPod()
	return nil
}

func podHandlerConfig(p *Provider, pods corev1listers.PodLister) api.PodHandlerConfig {
	return api.PodHandlerConfig{
		RunInContainer:    p.RunInContainer,
		AttachToContainer: p.AttachToContainer,
		PortForward:       p.PortForward,
		GetContainerLogs:  p.GetContainerLogs,
		GetPods:           p.GetPods,
		GetPodsFromKubernetes: func(context.Context) ([]*corev1.Pod, error) {
			return pods.List(labels.Everything())
		},
		GetStatsSummary:       p.GetStatsSummary,
		StreamIdleTimeout:     5 * time.Minute,
		StreamCreationTimeout: 30 * time.Second,
	}
}

// withNodeSpec describes the node: Ready once running, its capacity, 127.0.0.1 as its only
// address (the API server reaches the kubelet API there) and the kubelet API's port.
func withNodeSpec(o Options, apiPort int) nodeutil.NodeOpt {
	return func(c *nodeutil.NodeConfig) error {
		n := &c.NodeSpec
		n.Labels["kubernetes.io/os"] = "linux"
		n.Labels["kubernetes.io/arch"] = runtime.GOARCH
		n.Labels["node.aviary.dev/local"] = "true"
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:    o.CPU,
			corev1.ResourceMemory: o.Memory,
			corev1.ResourcePods:   *resource.NewQuantity(int64(o.MaxPods), resource.DecimalSI),
		}
		n.Status.Capacity, n.Status.Allocatable = capacity, capacity.DeepCopy()
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: HostIP}}
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(apiPort)
		n.Status.NodeInfo = corev1.NodeSystemInfo{
			OperatingSystem: "linux", Architecture: runtime.GOARCH, KubeletVersion: "v1.37.2-aviary",
			ContainerRuntimeVersion: "aviary-local://1", OSImage: "aviary local node (in-process HTTP containers)",
		}
		n.Status.Conditions = []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletStarting"},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory"},
			{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure"},
			{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID"},
			{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, Reason: "LoopbackNetwork"},
		}
		return nil
	}
}

// listerSources reads ConfigMaps and Secrets from the node's informers.
type listerSources struct {
	configMaps corev1listers.ConfigMapLister
	secrets    corev1listers.SecretLister
}

func (s listerSources) ConfigMap(namespace, name string) (*corev1.ConfigMap, error) {
	return s.configMaps.ConfigMaps(namespace).Get(name)
}

func (s listerSources) Secret(namespace, name string) (*corev1.Secret, error) {
	return s.secrets.Secrets(namespace).Get(name)
}
