package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// statusPollInterval bounds how often `status -w` reads the rollout.
const statusPollInterval = time.Second

// statusPhase is the phase and message `status` reports, as Argo's CLI computes them: a spec
// change the controller has not observed yet is Progressing; otherwise the phase the controller
// wrote, or, for a rollout it has not written one for, the phase derived from the status.
func statusPhase(ro *v1alpha1.Rollout) (v1alpha1.RolloutPhase, string) {
	if gen, err := strconv.ParseInt(ro.Status.ObservedGeneration, 10, 64); err == nil && gen != ro.Generation {
		return v1alpha1.RolloutPhaseProgressing, "waiting for rollout spec update to be observed"
	}
	if ro.Status.Phase != "" {
		return ro.Status.Phase, ro.Status.Message
	}
	return plan.Phase(ro, &ro.Status)
}

func statusLine(phase v1alpha1.RolloutPhase, message string) string {
	if message == "" {
		return string(phase)
	}
	return fmt.Sprintf("%s - %s", phase, message)
}

// Errors of `status -w`, with Argo's wording.
var errStatusTimeout = errors.New("Rollout progress exceeded timeout") //nolint:staticcheck // Argo's exact message

func degradedError(message string) error {
	return fmt.Errorf("The rollout is in a degraded state with message: %s", message) //nolint:staticcheck // Argo's exact message
}

// statusDone says whether watching stops at this phase, and with which error: Healthy ends
// with success, Degraded with an error; Progressing and Paused keep watching (Argo's `status`
// waits through pauses, until the timeout).
func statusDone(phase v1alpha1.RolloutPhase, message string) (bool, error) {
	switch phase {
	case v1alpha1.RolloutPhaseHealthy:
		return true, nil
	case v1alpha1.RolloutPhaseDegraded:
		return true, degradedError(message)
	}
	return false, nil
}

func newStatusCommand(o *Options) *cobra.Command {
	var (
		watch   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status ROLLOUT_NAME",
		Short: "Show the status of a rollout",
		Long: "Watch rollout until it finishes or the timeout is exceeded. Returns success if\n" +
			"the rollout is healthy upon completion and an error otherwise.",
		Example: "  # Watch the rollout until it succeeds\n  aviary status guestbook\n\n" +
			"  # Show the rollout status once\n  aviary status guestbook --watch false\n\n" +
			"  # Watch the rollout until it succeeds, fail if it takes more than 60 seconds\n  aviary status --timeout 60s guestbook",
		Args: opExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if timeout < 0 {
				return fmt.Errorf("invalid --timeout %s: must not be negative", timeout)
			}
			t, err := o.opTarget()
			if err != nil {
				return err
			}
			ctx := c.Context()
			if !watch {
				ro, err := t.rollout(ctx, args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(o.Out, statusLine(statusPhase(ro)))
				return err
			}
			return statusWatch(ctx, o, t, args[0], timeout)
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", true, "Watch the status of the rollout until it's done")
	cmd.Flags().DurationVarP(&timeout, "timeout", "t", 0,
		"The length of time to watch before giving up. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). Zero means wait forever")
	return cmd
}

// statusWatch polls the rollout once per statusPollInterval, printing each new phase, until it
// is Healthy or Degraded, or the timeout (0: none) passes.
func statusWatch(ctx context.Context, o *Options, t *opTarget, name string, timeout time.Duration) error {
	ticker := time.NewTicker(statusPollInterval)
	defer ticker.Stop()
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	last := ""
	for {
		ro, err := t.rollout(ctx, name)
		if err != nil {
			return err
		}
		phase, message := statusPhase(ro)
		if line := statusLine(phase, message); line != last {
			if _, err := fmt.Fprintln(o.Out, line); err != nil {
				return err
			}
			last = line
		}
		if done, err := statusDone(phase, message); done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-expired:
			return errStatusTimeout
		case <-ticker.C:
		}
	}
}
