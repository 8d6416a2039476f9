package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// undoRSRevision reads a ReplicaSet's rollout.argoproj.io/revision; a ReplicaSet without one is
// revision 0.
func undoRSRevision(rs *appsv1.ReplicaSet) (int64, error) {
	v, ok := rs.Annotations[v1alpha1.RevisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

// pickRevision chooses the ReplicaSet undo rolls back to: the one with revision toRevision,
// or, for 0, the second-newest revision (the one before the current). ReplicaSets whose
// revision does not parse are ignored, as in Argo.
func pickRevision(rollout string, rss []appsv1.ReplicaSet, toRevision int64) (*appsv1.ReplicaSet, int64, error) {
	var latest, previous *appsv1.ReplicaSet
	latestRev, previousRev := int64(-1), int64(-1)
	for i := range rss {
		rs := &rss[i]
		v, err := undoRSRevision(rs)
		if err != nil {
			continue
		}
		if toRevision > 0 {
			if v == toRevision {
				return rs, v, nil
			}
			continue
		}
		switch {
		case v > latestRev:
			previous, previousRev = latest, latestRev
			latest, latestRev = rs, v
		case v > previousRev:
			previous, previousRev = rs, v
		}
	}
	if toRevision > 0 {
		return nil, 0, fmt.Errorf("unable to find specified revision %d in history", toRevision)
	}
	if previous == nil {
		return nil, 0, fmt.Errorf("no revision found for rollout %q", rollout)
	}
	return previous, previousRev, nil
}

// undoTemplate is the pod template undo writes: the ReplicaSet's, without the
// rollouts-pod-template-hash label the controller added.
func undoTemplate(rs *appsv1.ReplicaSet) *corev1.PodTemplateSpec {
	t := rs.Spec.Template.DeepCopy()
	delete(t.Labels, v1alpha1.PodTemplateHashLabel)
	if len(t.Labels) == 0 {
		t.Labels = nil
	}
	return t
}

// undoSameTemplate reports whether the rollout already runs the template, ignoring the hash label.
func undoSameTemplate(current *corev1.PodTemplateSpec, rs *appsv1.ReplicaSet) bool {
	if current == nil {
		return false
	}
	a := current.DeepCopy()
	delete(a.Labels, v1alpha1.PodTemplateHashLabel)
	return apiequality.Semantic.DeepDerivative(a, undoTemplate(rs))
}

func newUndoCommand(o *Options) *cobra.Command {
	var toRevision int64
	cmd := &cobra.Command{
		Use:     "undo ROLLOUT_NAME",
		Short:   "Undo a rollout",
		Long:    "Rollback to the previous rollout.",
		Example: "  # Undo a rollout\n  aviary undo guestbook\n\n  # Undo a rollout to revision 3\n  aviary undo guestbook --to-revision=3",
		Args:    opExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if toRevision < 0 {
				return fmt.Errorf("invalid --to-revision %d: must not be negative", toRevision)
			}
			t, err := o.opTarget()
			if err != nil {
				return err
			}
			ctx := c.Context()
			ro, err := t.rollout(ctx, args[0])
			if err != nil {
				return err
			}
			if ro.Spec.Template == nil {
				return fmt.Errorf("rollout %q has no pod template: undo of a spec.workloadRef rollout is not supported", ro.Name)
			}
			rss, err := opOwnedReplicaSets(ctx, t, ro)
			if err != nil {
				return fmt.Errorf("failed to retrieve replica sets from rollout %s: %w", ro.Name, err)
			}
			rs, rev, err := pickRevision(ro.Name, rss, toRevision)
			if err != nil {
				return err
			}
			if undoSameTemplate(ro.Spec.Template, rs) {
				_, err = fmt.Fprintf(o.Out, "skipped rollback (current template already matches revision %d)\n", rev)
				return err
			}
			orig := ro.DeepCopy()
			ro.Spec.Template = undoTemplate(rs)
			patch := client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})
			if err := t.c.Patch(ctx, ro, patch); err != nil {
				return fmt.Errorf("failed restoring revision %d: %w", rev, err)
			}
			_, err = fmt.Fprintf(o.Out, "rollout '%s' undo\n", ro.Name)
			return err
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	return cmd
}

// opOwnedReplicaSets lists the ReplicaSets the rollout controls.
func opOwnedReplicaSets(ctx context.Context, t *opTarget, ro *v1alpha1.Rollout) ([]appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
	if err != nil {
		return nil, err
	}
	list := &appsv1.ReplicaSetList{}
	if err := t.c.List(ctx, list, client.InNamespace(t.ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	owned := list.Items[:0]
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], ro) {
			owned = append(owned, list.Items[i])
		}
	}
	return owned, nil
}
