// Package controller builds and runs Aviary's controller manager: client configuration,
// cache scope (namespace and --instance-id), leader election, metrics, health probes,
// logging, and the reconcilers.
package controller

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Defaults of the controller flags, as Argo Rollouts has them.
const (
	DefaultLeaseDuration   = 15 * time.Second
	DefaultRenewDeadline   = 10 * time.Second
	DefaultRetryPeriod     = 2 * time.Second
	DefaultMetricsPort     = 8090
	DefaultHealthzPort     = 8080
	DefaultRolloutThreads  = 10
	DefaultQPS             = 40
	DefaultBurst           = 80
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	LeaderElectionID       = "aviary-controller-lock"
	DefaultSystemNamespace = "aviary-system"
)

// serviceAccountNamespaceFile is where a pod finds its own namespace.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Options are the settings of `aviary controller`.
type Options struct {
	// Kubeconfig is the kubeconfig file to use; empty means $KUBECONFIG, then in-cluster
	// configuration, then ~/.kube/config.
	Kubeconfig string
	// Namespace limits the controller to one namespace; empty watches all.
	Namespace string
	// InstanceID limits the controller to objects labelled
	// argo-rollouts.argoproj.io/controller-instance-id=<InstanceID>; empty means objects
	// without that label.
	InstanceID string

	LeaderElect bool
	// LeaderElectionNamespace holds the Lease; empty means ResolveLeaderElectionNamespace.
	LeaderElectionNamespace     string
	LeaderElectionLeaseDuration time.Duration
	LeaderElectionRenewDeadline time.Duration
	LeaderElectionRetryPeriod   time.Duration

	// BindAddress is the IP address the metrics and health ports listen on; empty means every
	// interface, which a controller in a pod needs for Prometheus and the kubelet's probes.
	BindAddress string
	// MetricsPort serves /metrics; 0 disables it.
	MetricsPort int
	// HealthzPort serves /healthz and /readyz; 0 disables them.
	HealthzPort int

	RolloutThreads int

	// GatewayVerifyWeights makes a route change count only once the gateways accepted it
	// (status.parents[].conditions Accepted at the route's generation).
	GatewayVerifyWeights bool

	LogLevel  string
	LogFormat string

	QPS   float32
	Burst int

	// Version is reported by argo_rollouts_controller_info; set by the caller, not a flag.
	Version string
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		LeaderElect:                 true,
		LeaderElectionLeaseDuration: DefaultLeaseDuration,
		LeaderElectionRenewDeadline: DefaultRenewDeadline,
		LeaderElectionRetryPeriod:   DefaultRetryPeriod,
		MetricsPort:                 DefaultMetricsPort,
		HealthzPort:                 DefaultHealthzPort,
		RolloutThreads:              DefaultRolloutThreads,
		GatewayVerifyWeights:        true,
		LogLevel:                    DefaultLogLevel,
		LogFormat:                   DefaultLogFormat,
		QPS:                         DefaultQPS,
		Burst:                       DefaultBurst,
		Version:                     "dev",
	}
}

// AddFlags binds the options to fs with Argo Rollouts' flag names. It also accepts
// --metricsPort for --metricsport and --healthzport for --healthzPort, the spellings both
// projects' docs use.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig,
		"Path to a kubeconfig file. Default: $KUBECONFIG, then in-cluster configuration, then ~/.kube/config")
	fs.StringVarP(&o.Namespace, "namespace", "n", o.Namespace,
		"Only watch objects in this namespace (default: all namespaces)")
	fs.StringVar(&o.InstanceID, "instance-id", o.InstanceID,
		"Only reconcile objects labelled argo-rollouts.argoproj.io/controller-instance-id=<id>; "+
			"without it, only objects without that label")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect,
		"Elect a leader so that only one replica reconciles at a time")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace,
		"Namespace of the leader election Lease (default: $POD_NAMESPACE, then the pod's own namespace, then "+
			DefaultSystemNamespace+")")
	fs.DurationVar(&o.LeaderElectionLeaseDuration, "leader-election-lease-duration", o.LeaderElectionLeaseDuration,
		"How long non-leaders wait after the last renewal before taking over")
	fs.DurationVar(&o.LeaderElectionRenewDeadline, "leader-election-renew-deadline", o.LeaderElectionRenewDeadline,
		"How long the leader retries renewing before it gives up leadership")
	fs.DurationVar(&o.LeaderElectionRetryPeriod, "leader-election-retry-period", o.LeaderElectionRetryPeriod,
		"How long to wait between tries to acquire or renew leadership")
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress,
		"IP address the metrics and health ports listen on, e.g. 127.0.0.1 (default: all interfaces)")
	fs.IntVar(&o.MetricsPort, "metricsport", o.MetricsPort, "Port serving Prometheus metrics at /metrics (0 disables)")
	fs.IntVar(&o.HealthzPort, "healthzPort", o.HealthzPort, "Port serving /healthz and /readyz (0 disables)")
	fs.IntVar(&o.RolloutThreads, "rollout-threads", o.RolloutThreads, "Number of Rollouts reconciled at once")
	fs.BoolVar(&o.GatewayVerifyWeights, "gateway-verify-weights", o.GatewayVerifyWeights,
		"Count a Gateway API route change as done only once every parent Gateway accepted it at the route's new generation; turn off for gateways that write no route status")
	fs.StringVar(&o.LogLevel, "loglevel", o.LogLevel, "Log level: debug, info, warn or error")
	fs.StringVar(&o.LogFormat, "logformat", o.LogFormat, "Log format: text or json")
	fs.Float32Var(&o.QPS, "qps", o.QPS, "Maximum queries per second to the Kubernetes API server")
	fs.IntVar(&o.Burst, "burst", o.Burst, "Maximum burst of queries to the Kubernetes API server")

	previous := fs.GetNormalizeFunc()
	fs.SetNormalizeFunc(func(f *pflag.FlagSet, name string) pflag.NormalizedName {
		switch name {
		case "metricsPort":
			name = "metricsport"
		case "healthzport":
			name = "healthzPort"
		}
		return previous(f, name)
	})
}

// Validate reports every invalid option.
func (o *Options) Validate() error {
	var errs []error
	for _, msg := range validation.IsValidLabelValue(o.InstanceID) {
		errs = append(errs, fmt.Errorf("--instance-id=%q: %s", o.InstanceID, msg))
	}
	if o.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(o.Namespace) {
			errs = append(errs, fmt.Errorf("--namespace=%q: %s", o.Namespace, msg))
		}
	}
	if _, err := parseLogLevel(o.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if o.LogFormat != "text" && o.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--logformat=%q: want text or json", o.LogFormat))
	}
	for _, p := range []struct {
		flag string
		port int
	}{{"--metricsport", o.MetricsPort}, {"--healthzPort", o.HealthzPort}} {
		if p.port < 0 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("%s=%d: want a port from 1 to 65535, or 0 to disable", p.flag, p.port))
		}
	}
	if o.BindAddress != "" && net.ParseIP(o.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("--bind-address=%q: want an IP address such as 127.0.0.1, or nothing for all interfaces", o.BindAddress))
	}
	if o.MetricsPort != 0 && o.MetricsPort == o.HealthzPort {
		errs = append(errs, fmt.Errorf("--metricsport and --healthzPort are both %d: use two ports", o.MetricsPort))
	}
	if o.RolloutThreads < 1 {
		errs = append(errs, fmt.Errorf("--rollout-threads=%d: want at least 1", o.RolloutThreads))
	}
	if o.QPS <= 0 || o.Burst < 1 {
		errs = append(errs, fmt.Errorf("--qps=%v --burst=%d: want both above 0", o.QPS, o.Burst))
	}
	if o.LeaderElect {
		// The same rule client-go's leader election enforces, reported here with flag names.
		if o.LeaderElectionLeaseDuration <= o.LeaderElectionRenewDeadline {
			errs = append(errs, fmt.Errorf("--leader-election-lease-duration (%s) must be longer than --leader-election-renew-deadline (%s)",
				o.LeaderElectionLeaseDuration, o.LeaderElectionRenewDeadline))
		}
		if o.LeaderElectionRetryPeriod <= 0 ||
			float64(o.LeaderElectionRenewDeadline) <= 1.2*float64(o.LeaderElectionRetryPeriod) {
			errs = append(errs, fmt.Errorf("--leader-election-renew-deadline (%s) must be longer than 1.2 x --leader-election-retry-period (%s), which must be above 0",
				o.LeaderElectionRenewDeadline, o.LeaderElectionRetryPeriod))
		}
	}
	return errors.Join(errs...)
}

// ResolveLeaderElectionNamespace is the namespace of the leader election Lease: the flag,
// else $POD_NAMESPACE (set from the downward API by config/manager), else the namespace of
// the pod's service account, else aviary-system, where config/default installs the controller.
func (o *Options) ResolveLeaderElectionNamespace() string {
	return resolveNamespace(o.LeaderElectionNamespace, os.Getenv, os.ReadFile)
}

func resolveNamespace(flag string, getenv func(string) string, readFile func(string) ([]byte, error)) string {
	if flag != "" {
		return flag
	}
	if ns := getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := readFile(serviceAccountNamespaceFile); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return DefaultSystemNamespace
}
