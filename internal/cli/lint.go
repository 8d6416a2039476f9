package cli

import "github.com/spf13/cobra"

// lintCommands lists the commands of this file's group.
func lintCommands(o *Options) []*cobra.Command {
	_ = o
	return nil
}
