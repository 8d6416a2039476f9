package app

import (
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/aviary-dev/aviary/internal/controller"
)

// NewControllerCommand returns `aviary controller`, which runs the controller manager until
// it receives SIGINT or SIGTERM.
func NewControllerCommand() *cobra.Command {
	opts := controller.NewOptions()
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the controller manager: Rollouts, leader election, metrics, health probes",
		Long: "Run the controller manager against the cluster of --kubeconfig (or $KUBECONFIG, the pod's\n" +
			"service account, ~/.kube/config). It serves Prometheus metrics on --metricsport at /metrics\n" +
			"and /healthz and /readyz on --healthzPort.",
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			return opts.Validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := controller.NewLogger(opts, cmd.ErrOrStderr())
			ctrl.SetLogger(log)
			klog.SetLogger(log)
			opts.Version = Version()
			ctx := ctrl.LoggerInto(ctrl.SetupSignalHandler(), log)
			return controller.Run(ctx, opts)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}
