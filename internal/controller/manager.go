package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis"
	"github.com/aviary-dev/aviary/internal/events"
	"github.com/aviary-dev/aviary/internal/metrics"
	"github.com/aviary-dev/aviary/internal/rollout"
)

const (
	// readyzSyncTimeout bounds how long one /readyz request waits for the cache.
	readyzSyncTimeout = 500 * time.Millisecond
	// existsTimeout bounds the cache read that checks a reconciled Rollout still exists.
	existsTimeout = time.Second
)

// NewScheme returns a scheme with the built-in Kubernetes types and argoproj.io/v1alpha1.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// RestConfig loads the client configuration (--kubeconfig, else $KUBECONFIG, in-cluster,
// ~/.kube/config) and applies --qps and --burst.
func (o *Options) RestConfig() (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	if o.Kubeconfig != "" {
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: o.Kubeconfig}, &clientcmd.ConfigOverrides{}).ClientConfig()
	} else {
		cfg, err = config.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading Kubernetes client configuration: %w (pass --kubeconfig, set $KUBECONFIG, or run in a pod)", err)
	}
	cfg.QPS = o.QPS
	cfg.Burst = o.Burst
	cfg.UserAgent = "aviary-controller/" + o.Version
	return cfg, nil
}

// InstanceIDSelector selects the objects of the controller started with --instance-id=id:
// those labelled with it, or, when id is empty, those without the label at all, as Argo
// Rollouts does, so that a default controller and instance-scoped ones never share objects.
func InstanceIDSelector(id string) labels.Selector {
	var req *labels.Requirement
	var err error
	if id == "" {
		req, err = labels.NewRequirement(v1alpha1.InstanceIDLabel, selection.DoesNotExist, nil)
	} else {
		req, err = labels.NewRequirement(v1alpha1.InstanceIDLabel, selection.Equals, []string{id})
	}
	if err != nil {
		// Only an id that is not a valid label value gets here; Validate rejects it first.
		return labels.Nothing()
	}
	return labels.NewSelector().Add(*req)
}

// instanceScopedObjects are the kinds filtered by --instance-id: the root objects a controller
// instance owns. The rollout controller labels the AnalysisRuns and Experiments it creates with
// its instance id, as Argo Rollouts does. Templates are shared by every instance. The cache
// keys these settings by kind, so the filter applies as well to the unstructured informer
// Rollouts are read through (rollout.GetRollout).
func instanceScopedObjects() []client.Object {
	return []client.Object{&v1alpha1.Rollout{}, &v1alpha1.AnalysisRun{}, &v1alpha1.Experiment{}}
}

// ManagerOptions are the controller-runtime manager options for these settings. It reads no
// cluster, so it can be tested alone; the leader election namespace is resolved here.
func (o *Options) ManagerOptions(scheme *runtime.Scheme) ctrl.Options {
	byObject := map[client.Object]cache.ByObject{}
	selector := InstanceIDSelector(o.InstanceID)
	for _, obj := range instanceScopedObjects() {
		byObject[obj] = cache.ByObject{Label: selector}
	}
	cacheOpts := cache.Options{ByObject: byObject}
	if o.Namespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{o.Namespace: {}}
	}

	return ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		Client:                        client.Options{Cache: clientCacheOptions()},
		Metrics:                       metricsserver.Options{BindAddress: bindAddress(o.BindAddress, o.MetricsPort)},
		HealthProbeBindAddress:        bindAddress(o.BindAddress, o.HealthzPort),
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       o.ResolveLeaderElectionNamespace(),
		LeaderElectionResourceLock:    "leases",
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr.To(o.LeaderElectionLeaseDuration),
		RenewDeadline:                 ptr.To(o.LeaderElectionRenewDeadline),
		RetryPeriod:                   ptr.To(o.LeaderElectionRetryPeriod),
	}
}

// clientCacheOptions are what the manager's client reads from the cache: Rollouts unstructured
// (rollout.ClientCacheOptions), and Secrets (analysis arguments) not at all but one by one from
// the API server, since caching them would hold every Secret of the cluster in memory and need
// list and watch on them.
func clientCacheOptions() *client.CacheOptions {
	opts := rollout.ClientCacheOptions()
	opts.DisableFor = []client.Object{&corev1.Secret{}}
	return opts
}

// bindAddress is "ip:port" (":port", every interface, for no ip), or "0" (disabled) for
// port 0.
func bindAddress(ip string, port int) string {
	if port == 0 {
		return "0"
	}
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

// NewManager creates the manager and registers the reconcilers, metrics, Events and probes.
func NewManager(ctx context.Context, cfg *rest.Config, o *Options) (ctrl.Manager, error) {
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, o.ManagerOptions(scheme))
	if err != nil {
		return nil, fmt.Errorf("creating the controller manager: %w", err)
	}
	if err := Setup(ctx, mgr, o); err != nil {
		return nil, err
	}
	return mgr, nil
}

// Setup registers on mgr the metrics (served on --metricsport), the Event sink, the rollout
// reconciler and the health and readiness checks.
func Setup(ctx context.Context, mgr ctrl.Manager, o *Options) error {
	m := metrics.New(o.Version, rolloutExists(mgr.GetCache()))
	if err := m.Register(ctrlmetrics.Registry); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	collector := metrics.NewRolloutCollector(metrics.CacheLister{Reader: mgr.GetCache()}, elected(mgr))
	if err := ctrlmetrics.Registry.Register(collector); err != nil {
		return fmt.Errorf("registering the rollout collector: %w", err)
	}
	if err := mgr.Add(forgetDeletedRollouts(mgr.GetCache(), m)); err != nil {
		return err
	}

	sink := events.NewSink(mgr.GetEventRecorder(events.Component), m)
	r := &rollout.Reconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Events:     sink,
		Metrics:    m,
		Clock:      clock.RealClock{},
		InstanceID: o.InstanceID,
		Workers:    o.RolloutThreads,

		SkipRouteVerification: !o.GatewayVerifyWeights,
	}
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("setting up the rollout reconciler: %w", err)
	}
	ar := &analysis.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Clock: clock.RealClock{},
		Recorder: mgr.GetEventRecorder(events.Component)}
	if err := ar.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the AnalysisRun reconciler: %w", err)
	}

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("cache-sync", cacheSynced(mgr.GetCache()))
}

// rolloutExists reports whether the cache still holds a Rollout; on errors other than not
// found it says yes, so that a reconcile is observed rather than lost.
func rolloutExists(c client.Reader) func(client.ObjectKey) bool {
	return func(key client.ObjectKey) bool {
		ctx, cancel := context.WithTimeout(context.Background(), existsTimeout)
		defer cancel()
		_, err := rollout.GetRollout(ctx, c, key)
		return !apierrors.IsNotFound(err)
	}
}

// elected reports whether this replica leads (always true without leader election, once started).
func elected(mgr manager.Manager) func() bool {
	ch := mgr.Elected()
	return func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
}

// cacheSynced is ready once the informer cache has synced, on leaders and standbys alike.
func cacheSynced(c cache.Cache) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), readyzSyncTimeout)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("informer cache has not synced yet")
		}
		return nil
	}
}

// forgetDeletedRollouts drops the reconcile and event series of each deleted Rollout. It runs
// on the leader only, next to the reconciler that fills those series.
func forgetDeletedRollouts(c cache.Cache, m *metrics.Metrics) manager.Runnable {
	return manager.RunnableFunc(func(ctx context.Context) error {
		inf, err := c.GetInformer(ctx, rollout.NewUnstructuredRollout())
		if err != nil {
			return fmt.Errorf("watching Rollout deletions for metrics: %w", err)
		}
		reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj any) {
				if name, err := toolscache.DeletionHandlingObjectToName(obj); err == nil {
					m.Forget(client.ObjectKey{Namespace: name.Namespace, Name: name.Name})
				}
			},
		})
		if err != nil {
			return err
		}
		<-ctx.Done()
		return inf.RemoveEventHandler(reg)
	})
}

// Run runs the controller until ctx is cancelled.
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	log := ctrl.LoggerFrom(ctx)
	cfg, err := o.RestConfig()
	if err != nil {
		return err
	}
	mgr, err := NewManager(ctx, cfg, o)
	if err != nil {
		return err
	}
	log.Info("Starting controller", "version", o.Version, "host", cfg.Host,
		"namespace", displayNamespace(o.Namespace), "instanceID", o.InstanceID,
		"leaderElect", o.LeaderElect, "leaderElectionNamespace", o.ResolveLeaderElectionNamespace(),
		"bindAddress", o.BindAddress, "metricsPort", o.MetricsPort, "healthzPort", o.HealthzPort, "rolloutThreads", o.RolloutThreads)
	return mgr.Start(ctx)
}

func displayNamespace(ns string) string {
	if ns == "" {
		return "(all)"
	}
	return ns
}
