package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

func newGetCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get <rollout|experiment> NAME",
		Short: "Show a rollout or an experiment as a tree",
		Long: "Show a rollout or an experiment: a header block (status, strategy, step, weights, " +
			"images, replicas) and the tree of its revisions, ReplicaSets, pods, AnalysisRuns and Experiments.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newGetRolloutCommand(o), newGetExperimentCommand(o))
	return cmd
}

func newGetRolloutCommand(o *Options) *cobra.Command {
	f := &viewFlags{}
	cmd := &cobra.Command{
		Use:     "rollout NAME",
		Aliases: []string{"ro", "rollouts"},
		Short:   "Show a rollout's status and its tree of revisions, ReplicaSets, pods and analyses",
		Example: `  # Show a rollout
  kubectl aviary get rollout guestbook

  # Watch it, redrawing on every change
  kubectl aviary get rollout guestbook -w`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, c, err := o.viewTarget(f)
			if err != nil {
				return err
			}
			name := args[0]
			draw := func(ctx context.Context, w io.Writer) error {
				objs, err := fetchRolloutObjects(ctx, c, ns, name)
				if err != nil {
					return err
				}
				v := buildRolloutView(objs, viewClock())
				return renderRollout(w, &v, !f.noColor)
			}
			ctx, cancel := watchContext(cmd, f.timeoutSeconds)
			defer cancel()
			switch {
			case f.output != "":
				objs, err := fetchRolloutObjects(ctx, c, ns, name)
				if err != nil {
					return err
				}
				return printObject(o.Out, objs.Rollout, f.output)
			case f.watch:
				return watchRedraw(ctx, o.Out, draw)
			default:
				return draw(ctx, o.Out)
			}
		},
	}
	f.add(cmd, true)
	return cmd
}

func newGetExperimentCommand(o *Options) *cobra.Command {
	f := &viewFlags{}
	cmd := &cobra.Command{
		Use:     "experiment NAME",
		Aliases: []string{"exp", "experiments"},
		Short:   "Show an experiment's status and its tree of ReplicaSets, pods and analyses",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, c, err := o.viewTarget(f)
			if err != nil {
				return err
			}
			name := args[0]
			draw := func(ctx context.Context, w io.Writer) error {
				ex, rss, pods, ars, err := fetchExperimentObjects(ctx, c, ns, name)
				if err != nil {
					return err
				}
				v := buildExperimentView(ex, rss, pods, ars, viewClock())
				return renderExperiment(w, &v, !f.noColor)
			}
			ctx, cancel := watchContext(cmd, f.timeoutSeconds)
			defer cancel()
			switch {
			case f.output != "":
				ex, _, _, _, err := fetchExperimentObjects(ctx, c, ns, name)
				if err != nil {
					return err
				}
				return printObject(o.Out, ex, f.output)
			case f.watch:
				return watchRedraw(ctx, o.Out, draw)
			default:
				return draw(ctx, o.Out)
			}
		},
	}
	f.add(cmd, true)
	return cmd
}
