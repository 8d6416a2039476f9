package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// The patches of the one-field operations, as Argo's CLI sends them.
const (
	abortPatch         = `{"status":{"abort":true}}`
	retryRolloutPatch  = `{"status":{"abort":false}}`
	retryExperimentPtc = `{"status":null}`
	pausePatch         = `{"spec":{"paused":true}}`
	terminatePatch     = `{"spec":{"terminate":true}}`
)

func newAbortCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "abort ROLLOUT_NAME",
		Short: "Abort a rollout",
		Long: "This command stops progressing the current rollout and reverts all steps. " +
			"The previous ReplicaSet will be active.\n\nNote the 'spec.template' still represents " +
			"the new rollout version. If the Rollout leaves the aborted state, it will try to go " +
			"to the new version. Updating the 'spec.template' back to the previous version will " +
			"fully revert the rollout.",
		Example: "  # Abort a rollout\n  aviary abort guestbook",
		Args:    opExactArgs(1),
		RunE:    fixedPatch[v1alpha1.Rollout](o, true, abortPatch, "rollout '%s' aborted"),
	}
}

func newRetryCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "retry <rollout|experiment> RESOURCE_NAME",
		Short:   "Retry a rollout or experiment",
		Example: "  # Retry an aborted rollout\n  aviary retry rollout guestbook\n\n  # Retry a failed experiment\n  aviary retry experiment my-experiment",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return opUsageError(c)
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "rollout ROLLOUT_NAME",
		Aliases: []string{"ro", "rollouts"},
		Short:   "Retry an aborted rollout",
		Example: "  aviary retry rollout guestbook",
		Args:    opExactArgs(1),
		RunE:    fixedPatch[v1alpha1.Rollout](o, true, retryRolloutPatch, "rollout '%s' retried"),
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "experiment EXPERIMENT_NAME",
		Aliases: []string{"exp", "experiments"},
		Short:   "Retry an experiment: clear its status so the controller starts it again",
		Example: "  aviary retry experiment my-experiment",
		Args:    opExactArgs(1),
		RunE:    fixedPatch[v1alpha1.Experiment](o, true, retryExperimentPtc, "experiment '%s' retried"),
	})
	return cmd
}

func newPauseCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:     "pause ROLLOUT_NAME",
		Short:   "Pause a rollout",
		Long:    "Set the rollout paused state to 'true'",
		Example: "  # Pause a rollout\n  aviary pause guestbook",
		Args:    opExactArgs(1),
		RunE:    fixedPatch[v1alpha1.Rollout](o, false, pausePatch, "rollout '%s' paused"),
	}
}

// restartPatch is the spec patch of `restart`: restartAt = now + in, at second precision.
func restartPatch(now time.Time, in time.Duration) []byte {
	return fmt.Appendf(nil, `{"spec":{"restartAt":%q}}`, now.Add(in).UTC().Format(time.RFC3339))
}

// parseRestartIn reads --in, a Go duration such as 30s or 5m; empty means now. It also returns
// the text the confirmation shows ("0s" when empty, as Argo prints).
func parseRestartIn(in string) (time.Duration, string, error) {
	if in == "" {
		return 0, "0s", nil
	}
	d, err := time.ParseDuration(in)
	if err != nil {
		return 0, "", fmt.Errorf("invalid --in %q: %w", in, err)
	}
	if d < 0 {
		return 0, "", fmt.Errorf("invalid --in %q: must not be negative", in)
	}
	return d, in, nil
}

func newRestartCommand(o *Options) *cobra.Command {
	var in string
	now := metav1.Now
	cmd := &cobra.Command{
		Use:     "restart ROLLOUT",
		Short:   "Restart the pods of a rollout",
		Example: "  # Restart the pods of a rollout now\n  aviary restart guestbook\n\n  # Restart the pods of a rollout in ten seconds\n  aviary restart guestbook --in 10s",
		Args:    opExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			d, shown, err := parseRestartIn(in)
			if err != nil {
				return err
			}
			t, err := o.opTarget()
			if err != nil {
				return err
			}
			ro := opRollout(t.ns, args[0])
			if err := t.patchSpec(c.Context(), ro, restartPatch(now().Time, d)); err != nil {
				return err
			}
			_, err = fmt.Fprintf(o.Out, "rollout '%s' restarts in %s\n", ro.Name, shown)
			return err
		},
	}
	cmd.Flags().StringVarP(&in, "in", "i", "", "Amount of time before a restart. (e.g. 30s, 5m, 1h)")
	return cmd
}

func newTerminateCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "terminate <analysisrun|experiment> RESOURCE_NAME",
		Short:   "Terminate an AnalysisRun or Experiment",
		Example: "  # Terminate an analysisRun\n  aviary terminate analysisrun guestbook-877894d5b-4-success-rate.1\n\n  # Terminate an experiment\n  aviary terminate experiment my-experiment",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return opUsageError(c)
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "analysisrun ANALYSISRUN_NAME",
		Aliases: []string{"ar", "analysisruns"},
		Short:   "Terminate an AnalysisRun",
		Args:    opExactArgs(1),
		RunE:    fixedPatch[v1alpha1.AnalysisRun](o, false, terminatePatch, "analysisrun '%s' terminated"),
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "experiment EXPERIMENT_NAME",
		Aliases: []string{"exp", "experiments"},
		Short:   "Terminate an Experiment",
		Args:    opExactArgs(1),
		RunE:    fixedPatch[v1alpha1.Experiment](o, false, terminatePatch, "experiment '%s' terminated"),
	})
	return cmd
}

// fixedPatch is the RunE of a one-field operation: it sends a fixed merge patch (to the status
// subresource when status is set) to the object named by the only argument, then confirms with
// said, e.g. "rollout '%s' paused".
func fixedPatch[T any, P interface {
	*T
	client.Object
}](o *Options, status bool, patch, said string) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		t, err := o.opTarget()
		if err != nil {
			return err
		}
		obj := opNamed[T, P](t.ns, args[0])
		send := t.patchSpec
		if status {
			send = t.patchStatus
		}
		if err := send(c.Context(), obj, []byte(patch)); err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Out, said+"\n", obj.GetName())
		return err
	}
}
