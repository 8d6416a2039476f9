package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// runViewContext runs the view commands under a bare root command.
func runViewContext(ctx context.Context, o *Options, args ...string) error {
	root := &cobra.Command{Use: "aviary", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(viewCommands(o)...)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}
