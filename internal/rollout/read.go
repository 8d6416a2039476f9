package rollout

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Rollouts are read from the cache as unstructured objects and decoded one by one. A typed
// informer decodes a whole list at once: one stored Rollout the Go types cannot hold (a number
// too large for its int32 field, stored before the CRD bounded it) fails the list, the informer
// never syncs, and no Rollout anywhere is reconciled. Every Rollout read of the controller
// process goes through GetRollout or ListRollouts; a single typed read would start that
// informer again.

// RolloutGVK is the kind Rollouts are read and watched as.
var RolloutGVK = v1alpha1.GroupVersion.WithKind("Rollout")

// NewUnstructuredRollout is an empty unstructured Rollout, for watches (builder.For) and reads
// that must not start a typed informer.
func NewUnstructuredRollout() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(RolloutGVK)
	return u
}

// ClientCacheOptions are the client options the readers here need: the manager's delegating
// client reads unstructured objects from the API server unless told to serve them from the
// cache, which would make every Rollout read a request.
func ClientCacheOptions() *client.CacheOptions {
	return &client.CacheOptions{Unstructured: true}
}

// UndecodableError is a stored Rollout the Go types cannot read. Object is the Rollout as
// stored, for reporting the problem on it.
type UndecodableError struct {
	Object *unstructured.Unstructured
	Err    error
}

func (e *UndecodableError) Error() string {
	return fmt.Sprintf("Rollout %s/%s cannot be read: %v", e.Object.GetNamespace(), e.Object.GetName(), e.Err)
}

func (e *UndecodableError) Unwrap() error { return e.Err }

// Key names the undecodable Rollout.
func (e *UndecodableError) Key() client.ObjectKey { return client.ObjectKeyFromObject(e.Object) }

// GetRollout reads one Rollout through r. A Rollout the Go types cannot decode is an
// *UndecodableError; a missing one is the reader's NotFound error.
func GetRollout(ctx context.Context, r client.Reader, key client.ObjectKey) (*v1alpha1.Rollout, error) {
	u := NewUnstructuredRollout()
	if err := r.Get(ctx, key, u); err != nil {
		return nil, err
	}
	ro, bad := decodeRollout(u)
	if bad != nil {
		return nil, bad
	}
	return ro, nil
}

// ListRollouts lists Rollouts through r: those the Go types decode, and one *UndecodableError
// for each of the others, so that callers go on with the rest.
func ListRollouts(ctx context.Context, r client.Reader, opts ...client.ListOption) ([]v1alpha1.Rollout, []*UndecodableError, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("RolloutList"))
	if err := r.List(ctx, list, opts...); err != nil {
		return nil, nil, err
	}
	out := make([]v1alpha1.Rollout, 0, len(list.Items))
	var bad []*UndecodableError
	for i := range list.Items {
		ro, undecodable := decodeRollout(&list.Items[i])
		if undecodable != nil {
			bad = append(bad, undecodable)
			continue
		}
		out = append(out, *ro)
	}
	return out, bad, nil
}

// decodeRollout converts an unstructured Rollout to the Go type, or says why it cannot. It decodes the object's JSON as the API machinery's typed clients do
// (case-sensitive, numbers checked against the field's size), so what it accepts is exactly
// what a typed informer would: runtime.DefaultUnstructuredConverter, by contrast, wraps a
// number too large for an int32 field around to a negative one without an error, and names
// no field when it does fail.
func decodeRollout(u *unstructured.Unstructured) (*v1alpha1.Rollout, *UndecodableError) {
	b, err := json.Marshal(u.Object)
	if err == nil {
		ro := &v1alpha1.Rollout{}
		if err = utiljson.Unmarshal(b, ro); err == nil {
			return ro, nil
		}
	}
	return nil, &UndecodableError{Object: u, Err: err}
}
