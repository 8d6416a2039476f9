// Package app holds the cobra commands of the aviary binary: one constructor per subcommand,
// each in its own file, joined by NewRootCommand.
package app

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aviary-dev/aviary/internal/cli"
)

// NewRootCommand returns the aviary command with every subcommand.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "aviary",
		Short:         "Progressive delivery for Kubernetes, speaking the Argo Rollouts API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		NewControllerCommand(),
		NewVersionCommand(),
	)
	cli.AddCommands(root, cli.NewOptions(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
	return root
}
