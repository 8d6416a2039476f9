package cli

import "github.com/spf13/cobra"

// operationCommands lists the commands of this file's group.
func operationCommands(o *Options) []*cobra.Command {
	_ = o
	return nil
}
