package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/aviary-dev/aviary/internal/demoapp"
	"github.com/aviary-dev/aviary/internal/localnode"
)

// NewNodeCommand returns `aviary node`, the local node of the sandbox: a virtual kubelet that
// runs every pod bound to it as in-process HTTP servers on the pod's own loopback IP.
func NewNodeCommand() *cobra.Command {
	o := localnode.DefaultOptions()
	var kubeconfig, ipRange, cpu, memory string
	port := 10250
	verbose := false
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run the local node: pods as in-process HTTP servers on loopback IPs",
		Long: "Run the local node against the API server of --kubeconfig. It registers Node --node-name,\n" +
			"runs every pod bound to it (spec.nodeName) as HTTP servers on the pod's own loopback IP\n" +
			"(allocated from --pod-ip-range), runs readiness, liveness and startup probes, reports pod\n" +
			"status, and serves the kubelet API (kubectl logs, port-forward) over TLS on\n" +
			"127.0.0.1:--port. See docs/local-node.md for the images it knows.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kubeconfig == "" {
				return errors.New("--kubeconfig is required: the kubeconfig of the API server to register with")
			}
			if err := applyNodeFlags(&o, ipRange, cpu, memory, port); err != nil {
				return err
			}
			log := nodeLogger(cmd, verbose)
			klog.SetLogger(log)
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			n, err := localnode.New(cfg, o)
			if err != nil {
				return err
			}
			return n.Run(klog.NewContext(ctx, log))
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (required)")
	f.StringVar(&o.NodeName, "node-name", o.NodeName, "name of the Node object")
	f.StringVar(&ipRange, "pod-ip-range", o.FirstIP.String()+"-"+o.LastIP.String(),
		"pod IPs: first-last or a CIDR inside 127.0.0.0/8, outside 127.0.0.0/16 (kept for the gateway and tests)")
	f.IntVar(&o.MaxPods, "pods", o.MaxPods, "pod capacity of the node")
	f.StringVar(&cpu, "cpu", o.CPU.String(), "CPU capacity the node reports (scheduling only; containers use next to none)")
	f.StringVar(&memory, "memory", o.Memory.String(), "memory capacity the node reports (scheduling only)")
	f.IntVar(&port, "port", port, "port of the kubelet API (logs, port-forward), served over TLS on 127.0.0.1; 0 picks a free one")
	f.IntVar(&o.Workers, "workers", o.Workers, "pod sync workers")
	f.BoolVarP(&verbose, "verbose", "v", false, "log every pod start and status change")
	return cmd
}

func applyNodeFlags(o *localnode.Options, ipRange, cpu, memory string, port int) error {
	first, last, err := localnode.ParseIPRange(ipRange)
	if err != nil {
		return fmt.Errorf("--pod-ip-range: %w", err)
	}
	o.FirstIP, o.LastIP = first, last
	if o.CPU, err = resource.ParseQuantity(cpu); err != nil {
		return fmt.Errorf("--cpu %q: want a quantity such as 8 or 1k: %w", cpu, err)
	}
	if o.Memory, err = resource.ParseQuantity(memory); err != nil {
		return fmt.Errorf("--memory %q: want a quantity such as 64Gi: %w", memory, err)
	}
	if port < 0 || port > 65535 {
		return fmt.Errorf("--port %d is outside 0..65535", port)
	}
	o.Listen = net.JoinHostPort(localnode.HostIP, strconv.Itoa(port))
	return o.Validate()
}

func nodeLogger(cmd *cobra.Command, verbose bool) klog.Logger {
	level := zapcore.InfoLevel
	if verbose {
		level = zapcore.Level(-4)
	}
	return zap.New(zap.WriteTo(cmd.ErrOrStderr()), zap.Level(level), zap.ConsoleEncoder(), millisecondTimes)
}

// NewDemoAppCommand returns `aviary demo-app`, the demo app alone on one address, for
// benchmarks and trying the page without a cluster.
func NewDemoAppCommand() *cobra.Command {
	var color, listen, errorRate, latency string
	cmd := &cobra.Command{
		Use:    "demo-app",
		Short:  "Serve the demo app (page, /color, /metrics, /knobs) on one address",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rate, err := demoapp.ParseErrorRate(errorRate)
			if err != nil {
				return fmt.Errorf("--error-rate: %w", err)
			}
			lat, err := demoapp.ParseLatency(latency)
			if err != nil {
				return fmt.Errorf("--latency: %w", err)
			}
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			srv := &http.Server{Handler: demoapp.New(demoapp.Config{Color: color, ErrorRate: rate, Latency: lat}), ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(shutdown)
			}()
			_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "demo app (%s) on http://%s/\n", color, l.Addr())
			if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&color, "color", "blue", "colour /color answers")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on")
	f.StringVar(&errorRate, "error-rate", "0", "share of /color requests answered with 500 (0.2 or 20%)")
	f.StringVar(&latency, "latency", "0", "latency added to /color (250ms, or milliseconds)")
	return cmd
}
