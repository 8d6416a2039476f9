package cli

import (
	"github.com/spf13/cobra"
)

func newCompletionCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "completion [bash|zsh|fish|powershell]",
		Short: "Generate completion script",
		Long: "To load completions:\n\n" +
			"Bash:\n  $ source <(aviary completion bash)\n\n" +
			"Zsh:\n  $ aviary completion zsh > \"${fpath[1]}/_aviary\"\n\n" +
			"Fish:\n  $ aviary completion fish | source\n\n" +
			"PowerShell:\n  PS> aviary completion powershell | Out-String | Invoke-Expression\n",
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		Args:                  cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		DisableFlagsInUseLine: true,
		RunE: func(c *cobra.Command, args []string) error {
			root, out := c.Root(), o.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}
