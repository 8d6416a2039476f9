package cli

import "github.com/spf13/cobra"

// viewCommands lists the commands of this file's group.
func viewCommands(o *Options) []*cobra.Command {
	_ = o
	return nil
}
