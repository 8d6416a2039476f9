package rollout

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// reportUndecodable tells the owner of a Rollout the Go types cannot read what is wrong: a log
// line, a Warning Event and a status patch (phase Degraded, the InvalidSpec condition), once
// per distinct problem. Nothing else is done with it and no retry is asked for: only an edit
// of the Rollout can change the outcome, and an edit reconciles it again.
func (r *Reconciler) reportUndecodable(ctx context.Context, bad *UndecodableError) error {
	if bad.Object.GetLabels()[v1alpha1.InstanceIDLabel] != r.InstanceID || bad.Object.GetDeletionTimestamp() != nil {
		return nil
	}
	shell := undecodableShell(bad.Object)
	p := plan.InvalidSpec(shell, undecodableMessage(bad), metav1.NewTime(r.Clock.Now()))
	if equality.Semantic.DeepEqual(shell.Status, p.Status) {
		return nil // already reported
	}
	ctrl.LoggerFrom(ctx).Error(bad.Err, "Rollout cannot be read; skipping it until it is edited", "rollout", bad.Key())
	patch, err := invalidSpecStatusPatch(p.Status)
	if err != nil {
		return err
	}
	if err := r.Client.Status().Patch(ctx, bad.Object, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("reporting that Rollout %s cannot be read in its status: %w", bad.Key(), err)
	}
	for _, e := range p.Events {
		r.Events.Event(shell, e.Type, e.Reason, e.Message)
	}
	return nil
}

// undecodableMessage says which field cannot be read (the decoder's error names it) and what
// to do about it.
func undecodableMessage(bad *UndecodableError) string {
	return fmt.Sprintf("the controller cannot read this Rollout (%v): edit or delete the Rollout so that the field holds a value its type allows", bad.Err)
}

// undecodableShell is what can be read of an undecodable Rollout: its metadata, for Events, and
// its status when that decodes alone, so that the conditions already there are kept.
func undecodableShell(u *unstructured.Unstructured) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{
		Namespace: u.GetNamespace(), Name: u.GetName(), UID: u.GetUID(),
		ResourceVersion: u.GetResourceVersion(), Generation: u.GetGeneration(), Labels: u.GetLabels(),
	}}
	ro.SetGroupVersionKind(RolloutGVK)
	if status, ok := u.Object["status"]; ok {
		var st v1alpha1.RolloutStatus
		if b, err := json.Marshal(status); err == nil && utiljson.Unmarshal(b, &st) == nil {
			ro.Status = st
		}
	}
	return ro
}

// invalidSpecStatusPatch is a JSON merge patch of the status fields an InvalidSpec report
// changes, and no others: the rest of the stored status may be what cannot be decoded.
func invalidSpecStatusPatch(st v1alpha1.RolloutStatus) ([]byte, error) {
	return json.Marshal(map[string]any{"status": map[string]any{
		"phase":              st.Phase,
		"message":            st.Message,
		"conditions":         st.Conditions,
		"observedGeneration": st.ObservedGeneration,
	}})
}
