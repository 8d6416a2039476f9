// Package app holds the cobra commands of the aviary binary: one constructor per subcommand,
// each in its own file, joined by NewRootCommand.
package app

import (
	"github.com/spf13/cobra"
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
	return root
}
