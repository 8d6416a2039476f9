package app

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time:
//
//	go build -ldflags "-X github.com/aviary-dev/aviary/internal/app.version=v0.1.0 \
//	  -X github.com/aviary-dev/aviary/internal/app.gitCommit=$(git rev-parse HEAD)" ./cmd/aviary
var (
	version   = "dev"
	gitCommit = ""
)

// Version is the version set at build time, "dev" when none was.
func Version() string { return version }

// GitCommit is the commit set at build time, else the one the Go toolchain stamped, else "unknown".
func GitCommit() string {
	if gitCommit != "" {
		return gitCommit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// NewVersionCommand returns `aviary version`.
func NewVersionCommand() *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, git commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printVersion(cmd.OutOrStdout(), short)
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "Print only the version")
	return cmd
}

func printVersion(w io.Writer, short bool) error {
	if short {
		_, err := fmt.Fprintln(w, Version())
		return err
	}
	_, err := fmt.Fprintf(w, "aviary: %s\n  GitCommit: %s\n  GoVersion: %s\n  Platform: %s/%s\n",
		Version(), GitCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
