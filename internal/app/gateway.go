package app

import (
	"io"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	gateway "github.com/aviary-dev/aviary/internal/gateway/controller"
)

// NewGatewayCommand returns `aviary gateway`, the Gateway API data plane, which serves until it
// receives SIGINT or SIGTERM and then drains its connections.
func NewGatewayCommand() *cobra.Command {
	opts := gateway.NewOptions()
	var verbose bool
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run the Gateway API data plane: HTTPRoutes of GatewayClasses naming --controller-name",
		Long: "Run a Gateway API gateway against the cluster of --kubeconfig. It serves the Gateways whose\n" +
			"GatewayClass names --controller-name, each on its own loopback address (requested in\n" +
			"spec.addresses, or the next free one of --address-pool), routes HTTPRoutes to ready\n" +
			"EndpointSlice addresses, and writes GatewayClass, Gateway and HTTPRoute status.\n" +
			"The HTTPRoute annotation aviary.dev/user-key (header:<Name>, cookie:<name>, jwt:<claim>)\n" +
			"keeps each user on one backend of a weighted split; see docs/gateway.md.",
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			return opts.Validate()
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := gatewayLogger(cmd.ErrOrStderr(), verbose)
			ctrl.SetLogger(log)
			klog.SetLogger(log)
			opts.ApplyGCPercent(os.LookupEnv)
			ctx := ctrl.LoggerInto(ctrl.SetupSignalHandler(), log)
			return gateway.Run(ctx, opts)
		},
	}
	opts.AddFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "Log at debug level")
	return cmd
}

// gatewayLogger logs JSON, or text at debug level with --verbose, with times to the
// millisecond: a data plane's events (a route table swapped, a socket opened) are compared
// with what clients saw, and a second is too coarse for that.
func gatewayLogger(w io.Writer, verbose bool) logr.Logger {
	return zap.New(zap.WriteTo(w), zap.UseDevMode(verbose), millisecondTimes)
}

// millisecondTimes makes a logger write ISO 8601 times with milliseconds.
func millisecondTimes(o *zap.Options) { o.TimeEncoder = zapcore.ISO8601TimeEncoder }
