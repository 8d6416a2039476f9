package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/aviary-dev/aviary/internal/validation"
)

// lintCommands lists the commands of this file's group.
func lintCommands(o *Options) []*cobra.Command {
	return []*cobra.Command{newLintCommand(o), newPlanCommand(o)}
}

// errLintFailed is returned when a file has problems; they were already printed one a line.
var errLintFailed = errors.New("lint found problems")

func newLintCommand(o *Options) *cobra.Command {
	var files []string
	var withPlan bool
	var output string
	cmd := &cobra.Command{
		Use:   "lint -f FILE",
		Short: "Validate Rollouts and analysis objects offline, with the API server's and the controller's rules",
		Long: `Validate the objects of one or more YAML files (multi-document; "-f -" reads stdin)
without a cluster. argoproj.io objects are checked against the schemas and CEL rules of the
CRDs built into this binary, exactly as the API server checks them, and Rollouts also against
the controller's own checks (selector, steps, traffic routing, Services). Each problem is one
line naming the file, the object and the field; the exit code is non-zero when there is any.`,
		Example: `  kubectl aviary lint -f rollout.yaml
  kustomize build . | kubectl aviary lint -f -
  kubectl aviary lint -f rollout.yaml --plan`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return fmt.Errorf("lint needs at least one file: -f FILE (or -f - for stdin)")
			}
			results, err := lintFiles(o.In, files)
			if err != nil {
				return err
			}
			ok := printLint(o.Out, results)
			if !ok {
				return errLintFailed
			}
			if withPlan {
				return printPlans(o.Out, results, output)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, `file to lint ("-" for stdin); repeatable`)
	cmd.Flags().BoolVar(&withPlan, "plan", false, "after a clean lint, print the plan of each Rollout (see `plan`)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "plan output format with --plan: table (default) or json")
	return cmd
}

// lintFiles reads and checks every file; an error is returned only when a file can't be read.
func lintFiles(stdin io.Reader, files []string) ([]fileResult, error) {
	crds, err := validation.Load()
	if err != nil {
		return nil, fmt.Errorf("loading the built-in CRDs: %w", err)
	}
	results := make([]fileResult, 0, len(files))
	for _, f := range files {
		var raw []byte
		if f == "-" {
			raw, err = io.ReadAll(stdin)
		} else {
			raw, err = os.ReadFile(f)
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		name := f
		if f == "-" {
			name = "<stdin>"
		}
		results = append(results, lintFile(crds, name, raw))
	}
	return results, nil
}

// printLint prints each problem and warning one a line, then a ✔ line per clean file;
// it reports whether every file is free of problems.
func printLint(w io.Writer, results []fileResult) bool {
	ok := true
	for _, r := range results {
		for _, f := range r.Findings {
			fmt.Fprintln(w, f.String(r.File))
		}
		if r.Problems() > 0 {
			ok = false
			continue
		}
		fmt.Fprintf(w, "✔ %s: %s valid\n", r.File, plural(len(r.Objects), "object"))
	}
	return ok
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
