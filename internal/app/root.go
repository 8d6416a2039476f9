// Package app holds the cobra commands of the aviary binary: one constructor per subcommand,
// each in its own file, joined by NewRootCommand.
package app

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aviary-dev/aviary/internal/cli"
)

// RootOption adjusts the root command.
type RootOption func(*cobra.Command)

// AsKubectlPlugin names the command `kubectl aviary` in usage and help, for the kubectl-aviary
// binary that kubectl runs as a plugin.
func AsKubectlPlugin() RootOption {
	return func(root *cobra.Command) {
		root.Use = "kubectl-aviary"
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl aviary"}
	}
}

// NewRootCommand returns the aviary command with every subcommand.
func NewRootCommand(opts ...RootOption) *cobra.Command {
	root := &cobra.Command{
		Use:           "aviary",
		Short:         "Progressive delivery for Kubernetes, speaking the Argo Rollouts API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		NewControllerCommand(),
		NewLocalCommand(),
		NewNodeCommand(), NewDemoAppCommand(),
		NewGatewayCommand(),
		NewVersionCommand(),
	)
	cli.AddCommands(root, cli.NewOptions(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
	for _, opt := range opts {
		opt(root)
	}
	return root
}
