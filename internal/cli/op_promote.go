package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// promotion is what `promote` writes: a merge patch for the object (spec) and one for the
// status subresource; either may be nil.
type promotion struct {
	spec, status []byte
}

// promotePatches decides what promote writes for a rollout in its current state, as Argo's
// CLI does:
//
//   - --full: status.promoteFull=true, unless the rollout is already on its stable revision
//     (status.currentPodHash == status.stableRS), when there is nothing to promote.
//   - otherwise spec.paused=false when the rollout is paused by hand, and then either
//     status.pauseConditions are cleared (when there are any; controllerPause stays, the
//     controller reads "controllerPause with no pause condition" as promoted), or, for a canary
//     with steps, status.currentStepIndex moves one past the current step (never past the end),
//     clearing pauseConditions in the same patch.
func promotePatches(ro *v1alpha1.Rollout, full bool) promotion {
	var p promotion
	if full {
		if ro.Status.CurrentPodHash != ro.Status.StableRS {
			p.status = []byte(`{"status":{"promoteFull":true}}`)
		}
		return p
	}
	if ro.Spec.Paused {
		p.spec = []byte(`{"spec":{"paused":false}}`)
	}
	if len(ro.Status.PauseConditions) > 0 {
		p.status = []byte(`{"status":{"pauseConditions":null}}`)
		return p
	}
	if c := ro.Spec.Strategy.Canary; c != nil && len(c.Steps) > 0 {
		index := int32(0)
		if ro.Status.CurrentStepIndex != nil {
			index = *ro.Status.CurrentStepIndex
		}
		if int(index) < len(c.Steps) {
			index++
		}
		p.status = fmt.Appendf(nil, `{"status":{"pauseConditions":null,"currentStepIndex":%d}}`, index)
	}
	return p
}

func newPromoteCommand(o *Options) *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "promote ROLLOUT_NAME",
		Short: "Promote a rollout",
		Long: "Promote a rollout\n\nPromotes a rollout paused at a canary step, or a paused blue-green " +
			"pre-promotion.\nTo skip analysis, pauses and steps entirely, use '--full' to fully promote the rollout",
		Example: "  # Promote a paused rollout\n  aviary promote guestbook\n\n" +
			"  # Fully promote a rollout to desired version, skipping analysis, pauses, and steps\n  aviary promote guestbook --full",
		Args: opExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			t, err := o.opTarget()
			if err != nil {
				return err
			}
			ro, err := t.rollout(c.Context(), args[0])
			if err != nil {
				return err
			}
			p := promotePatches(ro, full)
			// Status first, then spec, as Argo does: a rollout unpaused before its pause
			// condition is cleared would briefly look paused by the controller.
			if p.status != nil {
				if err := t.patchStatus(c.Context(), opRollout(t.ns, ro.Name), p.status); err != nil {
					return err
				}
			}
			if p.spec != nil {
				if err := t.patchSpec(c.Context(), opRollout(t.ns, ro.Name), p.spec); err != nil {
					return err
				}
			}
			if full {
				_, err = fmt.Fprintf(o.Out, "rollout '%s' fully promoted\n", ro.Name)
			} else {
				_, err = fmt.Fprintf(o.Out, "rollout '%s' promoted\n", ro.Name)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "Perform a full promotion, skipping analysis, pauses, and steps")
	return cmd
}
