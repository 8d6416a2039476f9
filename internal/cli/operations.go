package cli

import (
	"context"

	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// operationCommands lists the commands of this file's group: the writes Argo's CLI makes
// (promote, abort, retry, pause, restart, set image, undo, terminate, create), status, and
// completion.
func operationCommands(o *Options) []*cobra.Command {
	return []*cobra.Command{
		newPromoteCommand(o),
		newAbortCommand(o),
		newRetryCommand(o),
		newPauseCommand(o),
		newRestartCommand(o),
		newSetCommand(o),
		newUndoCommand(o),
		newTerminateCommand(o),
		newCreateCommand(o),
		newStatusCommand(o),
		newCompletionCommand(o),
	}
}

// opUsageError is returned for a wrong number of arguments, with the command's usage line.
func opUsageError(c *cobra.Command) error {
	return fmt.Errorf("%s: wrong arguments; usage: %s", c.Name(), c.UseLine())
}

// opExactArgs checks the count and prints one clear line, as kubectl does.
func opExactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return opUsageError(c)
		}
		return nil
	}
}

// opTarget is the client and namespace a command works in.
type opTarget struct {
	c  client.Client
	ns string
}

func (o *Options) opTarget() (*opTarget, error) {
	ns, err := o.Namespace()
	if err != nil {
		return nil, err
	}
	c, err := o.NewClient()
	if err != nil {
		return nil, err
	}
	return &opTarget{c: c, ns: ns}, nil
}

func (t *opTarget) rollout(ctx context.Context, name string) (*v1alpha1.Rollout, error) {
	ro := &v1alpha1.Rollout{}
	if err := t.c.Get(ctx, client.ObjectKey{Namespace: t.ns, Name: name}, ro); err != nil {
		return nil, err
	}
	return ro, nil
}

// patchSpec sends a JSON merge patch to the object itself (spec and metadata).
func (t *opTarget) patchSpec(ctx context.Context, obj client.Object, patch []byte) error {
	return t.c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch))
}

// patchStatus sends a JSON merge patch to the object's status subresource.
func (t *opTarget) patchStatus(ctx context.Context, obj client.Object, patch []byte) error {
	return t.c.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch))
}

// opNamed returns an empty object of the given kind with its key set, for a patch.
func opNamed[T any, P interface {
	*T
	client.Object
}](ns, name string) P {
	obj := P(new(T))
	obj.SetNamespace(ns)
	obj.SetName(name)
	return obj
}

// opRollout is a Rollout with only its key, for patches that need no read first.
func opRollout(ns, name string) *v1alpha1.Rollout {
	return opNamed[v1alpha1.Rollout](ns, name)
}
