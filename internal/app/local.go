package app

import (
	"fmt"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aviary-dev/aviary/internal/localcluster"
)

// NewLocalCommand returns `aviary local`, the single-machine sandbox.
func NewLocalCommand() *cobra.Command {
	local := &cobra.Command{
		Use:   "local",
		Short: "Run a real single-machine Kubernetes with Aviary, its gateway and a demo",
		Long: "The local sandbox: etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from\n" +
			"source, a local node that runs pods in-process, the Aviary controller and gateway, and Prometheus\n" +
			"when it is installed. State lives in $" + localcluster.StateDirEnv + " (default ~/.local/state/aviary/local);\n" +
			"ports are $" + localcluster.PortBaseEnv + " (default 16000) plus a fixed offset each.",
	}
	local.AddCommand(newLocalUpCommand(), newLocalDownCommand(), newLocalStatusCommand(),
		newLocalKubeconfigCommand(), newLocalDemoCommand(), newLocalPodTargetsCommand(),
		newLocalEndpointsCommand())
	return local
}

// sandbox opens the sandbox of the default state directory, telling it which subcommands
// this binary has.
func sandbox(cmd *cobra.Command) *localcluster.Sandbox {
	root := cmd.Root()
	return localcluster.New(localcluster.Options{
		Out: cmd.OutOrStdout(),
		HasCommand: func(name string) bool {
			found, _, err := root.Find([]string{name})
			return err == nil && found != root
		},
	})
}

func newLocalUpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Start the sandbox, or report what is running; restarts whatever crashed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return sandbox(cmd).Up(ctx)
		},
	}
}

func newLocalDownCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the sandbox and remove its state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return sandbox(cmd).Down(cmd.Context())
		},
	}
}

func newLocalStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each process of the sandbox and the gateway's URLs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sb := sandbox(cmd)
			comps, urls, err := sb.Status(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "COMPONENT\tPID\tSTATE\tADDRESS")
			for _, c := range comps {
				pid := "-"
				if c.Pid != 0 {
					pid = fmt.Sprint(c.Pid)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.Name, pid, c.State, c.Address)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(urls) == 0 {
				fmt.Fprintln(out, "\nGateway: no Gateway has an address yet (`aviary local demo` creates one).")
			}
			for _, u := range urls {
				fmt.Fprintf(out, "\nGateway %s: %s", u.Gateway, u.URL)
			}
			if len(urls) > 0 {
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "Kubeconfig: %s\nState: %s\n", sb.Layout().AdminKubeconfig(), sb.Layout().Dir)
			return nil
		},
	}
}

func newLocalKubeconfigCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "kubeconfig",
		Short: "Print the path of the sandbox's admin kubeconfig (export KUBECONFIG=$(aviary local kubeconfig))",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := sandbox(cmd).Kubeconfig()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
}

func newLocalDemoCommand() *cobra.Command {
	address := localcluster.DefaultDemoAddress
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy the demo: a Gateway, HTTPRoutes and a canary Rollout of argoproj/rollouts-demo",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return sandbox(cmd).Demo(ctx, address)
		},
	}
	cmd.Flags().StringVar(&address, "gateway-address", address,
		"Loopback address the demo Gateway asks for (a second sandbox on the same machine needs another)")
	return cmd
}

// newLocalPodTargetsCommand is the sandbox's own helper process: Prometheus' pod discovery.
func newLocalPodTargetsCommand() *cobra.Command {
	var kubeconfig, output string
	cmd := &cobra.Command{
		Use:    "pod-targets",
		Short:  "Write the pods annotated prometheus.io/scrape=true to a Prometheus file_sd file (run by `local up`)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return localcluster.RunPodTargets(ctx, kubeconfig, output)
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig of the sandbox")
	cmd.Flags().StringVar(&output, "output", "", "File to write")
	_ = cmd.MarkFlagRequired("kubeconfig")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// newLocalEndpointsCommand is the sandbox's own helper process: EndpointSlices for pods on
// loopback addresses, which kube-controller-manager cannot write.
func newLocalEndpointsCommand() *cobra.Command {
	var kubeconfig, synced string
	cmd := &cobra.Command{
		Use:    "endpoints",
		Short:  "Write FQDN EndpointSlices for the sandbox's loopback pods (run by `local up`)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return localcluster.RunEndpoints(ctx, kubeconfig, synced)
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "Kubeconfig of the sandbox")
	cmd.Flags().StringVar(&synced, "synced-file", "", "File touched after the first sync")
	_ = cmd.MarkFlagRequired("kubeconfig")
	_ = cmd.MarkFlagRequired("synced-file")
	return cmd
}
