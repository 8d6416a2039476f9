package argocd

import (
	"context"
	"encoding/json"
	"fmt"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Health is Argo CD's verdict on a resource: Healthy, Progressing, Suspended, Degraded, …
type Health struct {
	Status  string
	Message string
}

// Health runs Argo CD's Rollout health check on obj.
func (s Scripts) Health(obj *unstructured.Unstructured) (Health, error) {
	out, err := s.run("health.lua", obj.Object)
	if err != nil {
		return Health{}, err
	}
	hs, _ := fromLua(out, nil).(map[string]any)
	status, _ := hs["status"].(string)
	message, _ := hs["message"].(string)
	if status == "" {
		return Health{}, fmt.Errorf("argo CD's health check returned no status for %s", obj.GetName())
	}
	return Health{Status: status, Message: message}, nil
}

// Enabled runs Argo CD's action discovery on obj and reports which actions its UI offers.
func (s Scripts) Enabled(obj *unstructured.Unstructured) (map[string]bool, error) {
	out, err := s.run("actions/discovery.lua", obj.Object)
	if err != nil {
		return nil, err
	}
	actions, _ := fromLua(out, nil).(map[string]any)
	enabled := map[string]bool{}
	for name, a := range actions {
		def, _ := a.(map[string]any)
		disabled, _ := def["disabled"].(bool)
		enabled[name] = !disabled
	}
	return enabled, nil
}

// Action runs one of Argo CD's Rollout actions (abort, pause, promote-full, restart, resume,
// retry, skip-current-step) on a copy of obj and returns the object the action asks for.
func (s Scripts) Action(name string, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	before := obj.DeepCopy()
	out, err := s.run("actions/"+name+"/action.lua", before.Object)
	if err != nil {
		return nil, err
	}
	after, ok := fromLua(out, before.Object).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("argo CD's %s action returned no object", name)
	}
	return &unstructured.Unstructured{Object: after}, nil
}

// Write sends the difference between live and updated to the API server the way Argo CD's API
// server writes an action's result: one JSON merge patch, sent to the status subresource when
// it touches status, and its non-status part to the object itself.
func Write(ctx context.Context, c client.Client, live, updated *unstructured.Unstructured) error {
	liveJSON, err := json.Marshal(live.Object)
	if err != nil {
		return err
	}
	updatedJSON, err := json.Marshal(updated.Object)
	if err != nil {
		return err
	}
	diff, err := jsonpatch.CreateMergePatch(liveJSON, updatedJSON)
	if err != nil {
		return fmt.Errorf("computing the action's merge patch: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(diff, &fields); err != nil {
		return err
	}
	if _, touchesStatus := fields["status"]; touchesStatus {
		if err := c.Status().Patch(ctx, live.DeepCopy(), client.RawPatch(types.MergePatchType, diff)); err != nil {
			return fmt.Errorf("patching status: %w", err)
		}
		delete(fields, "status")
	}
	if len(fields) == 0 {
		return nil
	}
	rest, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	if err := c.Patch(ctx, live.DeepCopy(), client.RawPatch(types.MergePatchType, rest)); err != nil {
		return fmt.Errorf("patching the object: %w", err)
	}
	return nil
}

// Rollout reads a Rollout as Argo CD sees it: unstructured, straight from the API server.
func Rollout(ctx context.Context, c client.Reader, key client.ObjectKey) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Rollout"))
	if err := c.Get(ctx, key, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Run performs an action on the live Rollout as a user clicking it in Argo CD's UI would.
func (s Scripts) Run(ctx context.Context, c client.Client, name string, key client.ObjectKey) error {
	live, err := Rollout(ctx, c, key)
	if err != nil {
		return err
	}
	updated, err := s.Action(name, live)
	if err != nil {
		return err
	}
	return Write(ctx, c, live, updated)
}
