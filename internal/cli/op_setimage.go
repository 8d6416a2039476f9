package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func newSetCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set <image> ROLLOUT_NAME",
		Short: "Update various values on resources",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return opUsageError(c)
		},
	}
	cmd.AddCommand(newSetImageCommand(o))
	return cmd
}

// parseImageArg splits CONTAINER=IMAGE; CONTAINER may be "*" for every container.
func parseImageArg(arg string) (container, image string, err error) {
	parts := strings.Split(arg, "=")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", fmt.Errorf("invalid argument %q: expected CONTAINER=IMAGE (or *=IMAGE)", arg)
	}
	return parts[0], parts[1], nil
}

// setImagePatch returns the spec merge patch that sets the image of the named container, or of
// every container for "*", among the init, regular and ephemeral containers of the pod
// template, as Argo's CLI does. A merge patch replaces whole lists, so each list that holds a
// match is sent in full, with only the images changed.
func setImagePatch(ro *v1alpha1.Rollout, container, image string) ([]byte, error) {
	if ro.Spec.Template == nil {
		return nil, fmt.Errorf("rollout %q has no pod template (spec.workloadRef is not supported by set image)", ro.Name)
	}
	tmpl := ro.Spec.Template.DeepCopy()
	podSpec := map[string]any{}
	found := false
	set := func(name string, current *string) bool {
		if name == container || container == "*" {
			*current = image
			return true
		}
		return false
	}
	match := func(key string, n int, at func(int) (string, *string), list any) {
		changed := false
		for i := range n {
			name, img := at(i)
			if set(name, img) {
				changed = true
			}
		}
		if changed {
			found = true
			podSpec[key] = list
		}
	}
	match("initContainers", len(tmpl.Spec.InitContainers), func(i int) (string, *string) {
		return tmpl.Spec.InitContainers[i].Name, &tmpl.Spec.InitContainers[i].Image
	}, tmpl.Spec.InitContainers)
	match("containers", len(tmpl.Spec.Containers), func(i int) (string, *string) {
		return tmpl.Spec.Containers[i].Name, &tmpl.Spec.Containers[i].Image
	}, tmpl.Spec.Containers)
	match("ephemeralContainers", len(tmpl.Spec.EphemeralContainers), func(i int) (string, *string) {
		return tmpl.Spec.EphemeralContainers[i].Name, &tmpl.Spec.EphemeralContainers[i].Image
	}, tmpl.Spec.EphemeralContainers)
	if !found {
		return nil, fmt.Errorf("unable to find container named %q", container)
	}
	patch := map[string]any{"spec": map[string]any{"template": map[string]any{"spec": podSpec}}}
	if ro.ResourceVersion != "" {
		// A precondition, not a change: the lists were read at this version.
		patch["metadata"] = map[string]any{"resourceVersion": ro.ResourceVersion}
	}
	return json.Marshal(patch)
}

const setImageAttempts = 5

func setImage(ctx context.Context, t *opTarget, name, container, image string) error {
	ro, err := t.rollout(ctx, name)
	if err != nil {
		return err
	}
	patch, err := setImagePatch(ro, container, image)
	if err != nil {
		return err
	}
	return t.patchSpec(ctx, ro, patch)
}

func newSetImageCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:     "image ROLLOUT_NAME CONTAINER=IMAGE",
		Short:   "Update the image of a rollout",
		Example: "  # Set rollout image\n  aviary set image my-rollout www=image:v2\n\n  # Set the image of every container\n  aviary set image my-rollout '*=image:v2'",
		Args:    opExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			container, image, err := parseImageArg(args[1])
			if err != nil {
				return err
			}
			t, err := o.opTarget()
			if err != nil {
				return err
			}
			// Retry a few times on a conflict, as Argo's CLI does.
			for attempt := 1; ; attempt++ {
				err = setImage(c.Context(), t, args[0], container, image)
				if !apierrors.IsConflict(err) || attempt == setImageAttempts {
					break
				}
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(o.Out, "rollout \"%s\" image updated\n", args[0])
			return err
		},
	}
}
