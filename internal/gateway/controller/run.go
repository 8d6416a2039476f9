package controller

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/proxy"
	"github.com/aviary-dev/aviary/internal/gateway/server"
)

// DefaultControllerName is the GatewayClass controllerName this gateway serves by default.
const DefaultControllerName = "aviary.dev/gateway-controller"

// Options are the flags of `aviary gateway`.
type Options struct {
	Kubeconfig             string
	ControllerName         string
	AddressPool            string
	MetricsBindAddress     string
	HealthProbeBindAddress string
	GCPercent              int
	Limits                 server.Limits
	Proxy                  proxy.Options
}

// DefaultGCPercent is the collector's target for the data plane. A collection marks the whole
// binary's live heap (≈ 8 MB: API types, informer caches) for milliseconds on the one CPU a
// gateway may have, and the requests that arrive meanwhile queue behind it: at 400 rather than
// Go's 100 collections come a quarter as often, for about 25 MB more heap (docs/benchmarks.md).
const DefaultGCPercent = 400

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		ControllerName:         DefaultControllerName,
		AddressPool:            "127.0.100.0/24",
		MetricsBindAddress:     "127.0.0.1:9101",
		HealthProbeBindAddress: "127.0.0.1:9102",
		GCPercent:              DefaultGCPercent,
		Limits:                 server.DefaultLimits(),
		Proxy:                  proxy.DefaultOptions(),
	}
}

// AddFlags registers the flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig; default: $KUBECONFIG, the pod's service account, ~/.kube/config")
	fs.StringVar(&o.ControllerName, "controller-name", o.ControllerName, "GatewayClass spec.controllerName this gateway serves")
	fs.StringVar(&o.AddressPool, "address-pool", o.AddressPool, "Loopback prefix that Gateways without a requested address get their address from")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "Address of the Prometheus /metrics endpoint; 0 disables it")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress, "Address of /healthz and /readyz")
	fs.IntVar(&o.GCPercent, "gc-percent", o.GCPercent, "Garbage collector target (as GOGC) for this process; the GOGC environment variable, when set, wins")
	fs.IntVar(&o.Limits.MaxHeaderBytes, "max-header-bytes", o.Limits.MaxHeaderBytes, "Largest request header block accepted (larger gets 431)")
	fs.DurationVar(&o.Limits.ReadHeaderTimeout, "read-header-timeout", o.Limits.ReadHeaderTimeout, "Time a client has to send the request headers")
	fs.DurationVar(&o.Limits.ReadTimeout, "read-timeout", o.Limits.ReadTimeout, "Time a client has to send a whole request including its body; 0 means no limit")
	fs.DurationVar(&o.Limits.IdleTimeout, "idle-timeout", o.Limits.IdleTimeout, "How long an idle keep-alive connection stays open")
	fs.DurationVar(&o.Limits.SendTimeout, "send-timeout", o.Limits.SendTimeout, "Time a client has to take each piece of an answer; one that stops reading loses its connection; 0 means no limit")
	fs.DurationVar(&o.Limits.DrainTimeout, "drain-timeout", o.Limits.DrainTimeout, "How long shutdown waits for requests in flight")
	fs.Int64Var(&o.Proxy.MaxMirrorBody, "max-mirror-body-bytes", o.Proxy.MaxMirrorBody, "Largest request body buffered to be mirrored (larger bodies are not mirrored)")
}

// Validate checks the flags and says how to fix them.
func (o *Options) Validate() error {
	if _, err := o.pool(); err != nil {
		return err
	}
	if o.ControllerName == "" {
		return fmt.Errorf("--controller-name must not be empty; the default is %s", DefaultControllerName)
	}
	if o.GCPercent <= 0 {
		return fmt.Errorf("--gc-percent %d must be positive (Go's own default is 100, the gateway's %d)", o.GCPercent, DefaultGCPercent)
	}
	if o.Limits.MaxHeaderBytes <= 0 || o.Limits.ReadHeaderTimeout <= 0 {
		return fmt.Errorf("--max-header-bytes and --read-header-timeout must be positive")
	}
	for _, t := range []struct {
		flag string
		d    time.Duration
	}{{"--read-timeout", o.Limits.ReadTimeout}, {"--idle-timeout", o.Limits.IdleTimeout}, {"--send-timeout", o.Limits.SendTimeout}} {
		if t.d < 0 {
			return fmt.Errorf("%s %s must not be negative; 0 means no limit", t.flag, t.d)
		}
	}
	return nil
}

// ApplyGCPercent sets the collector's target to GCPercent unless the GOGC environment variable
// is set (lookup reads the environment), and reports whether it did.
func (o *Options) ApplyGCPercent(lookup func(string) (string, bool)) bool {
	if _, set := lookup("GOGC"); set {
		return false
	}
	debug.SetGCPercent(o.GCPercent)
	return true
}

func (o *Options) pool() (netip.Prefix, error) {
	p, err := netip.ParsePrefix(o.AddressPool)
	if err != nil || !p.Addr().Is4() || !netip.MustParsePrefix("127.0.0.0/8").Contains(p.Addr()) || p.Bits() < 8 {
		return netip.Prefix{}, fmt.Errorf("--address-pool %q must be an IPv4 prefix inside 127.0.0.0/8, such as 127.0.100.0/24", o.AddressPool)
	}
	return p.Masked(), nil
}

// NewScheme returns the core types plus gateway.networking.k8s.io/v1.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := gwv1.Install(s); err != nil {
		return nil, err
	}
	return s, nil
}

func (o *Options) restConfig() (*rest.Config, error) {
	if o.Kubeconfig != "" {
		return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
			&clientcmd.ClientConfigLoadingRules{ExplicitPath: o.Kubeconfig}, &clientcmd.ConfigOverrides{}).ClientConfig()
	}
	return config.GetConfig()
}

// cacheOptions limits what the gateway caches to what it serves. Secrets are the one kind
// narrowed: certificateRefs name kubernetes.io/tls Secrets, so the informer lists and watches
// that type only (a field selector the API server applies), and the gateway never holds the
// cluster's other credentials (service account tokens, registry and application secrets).
// The gateway does not cache Pods at all: endpoints come from EndpointSlices.
func cacheOptions() cache.Options {
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Field: fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS))},
	}}
}

// Run serves until ctx ends, then drains the sockets.
func Run(ctx context.Context, o *Options) error {
	cfg, err := o.restConfig()
	if err != nil {
		return fmt.Errorf("loading Kubernetes client configuration: %w (pass --kubeconfig or set $KUBECONFIG)", err)
	}
	return RunWithConfig(ctx, cfg, o)
}

// RunWithConfig is Run with an explicit client configuration (tests use it).
func RunWithConfig(ctx context.Context, cfg *rest.Config, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	pool, _ := o.pool()
	scheme, err := NewScheme()
	if err != nil {
		return err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "aviary-gateway"
	cfg.QPS, cfg.Burst = 50, 100
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  cacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress: o.HealthProbeBindAddress,
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	log := ctrl.LoggerFrom(ctx).WithName("gateway")
	h := proxy.New(log.WithName("proxy"), o.Proxy)
	srv := server.New(h, o.Limits, log.WithName("server"))
	r := &Reconciler{
		Client: mgr.GetClient(), ControllerName: o.ControllerName, AddressPool: pool,
		Handler: h, Server: srv, Clock: clock.RealClock{},
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("cache", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("informer caches not synced")
		}
		return nil
	}); err != nil {
		return err
	}
	log.Info("starting", "controllerName", o.ControllerName, "addressPool", pool.String())
	runErr := mgr.Start(ctx)
	drainCtx, cancel := context.WithTimeout(context.Background(), o.Limits.DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		log.Error(err, "draining connections")
	}
	return runErr
}
