package rollout

import (
	"context"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// ownerIndex indexes ReplicaSets by the UID of their controlling owner.
const ownerIndex = ".metadata.controllerUID"

func ownerUID(obj client.Object) []string {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			return []string{string(ref.UID)}
		}
	}
	return nil
}

// ownedReplicaSets lists the ReplicaSets the Rollout controls.
func (r *Reconciler) ownedReplicaSets(ctx context.Context, ro *v1alpha1.Rollout) ([]*appsv1.ReplicaSet, error) {
	var list appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &list, client.InNamespace(ro.Namespace), client.MatchingFields{ownerIndex: string(ro.UID)}); err != nil {
		return nil, fmt.Errorf("listing ReplicaSets: %w", err)
	}
	out := make([]*appsv1.ReplicaSet, 0, len(list.Items))
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp == nil {
			out = append(out, &list.Items[i])
		}
	}
	// Newest revision first: history pruning keeps the newest.
	sort.SliceStable(out, func(i, j int) bool { return v1alpha1.RevisionOf(out[i]) > v1alpha1.RevisionOf(out[j]) })
	return out, nil
}

// services reads the Services the strategy names; missing ones are left out.
func (r *Reconciler) services(ctx context.Context, ro *v1alpha1.Rollout) (map[string]*corev1.Service, error) {
	out := map[string]*corev1.Service{}
	for _, ref := range plan.ServiceRefs(ro) {
		svc := &corev1.Service{}
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: ref.Name}, svc)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("reading Service %q: %w", ref.Name, err)
		}
		out[ref.Name] = svc
	}
	return out, nil
}

// sortRoles splits the owned ReplicaSets into the new one (of the current template), the
// stable one (status.stableRS) and the rest.
func sortRoles(o *plan.Observed, owned []*appsv1.ReplicaSet) {
	for _, rs := range owned {
		switch {
		case rs == o.NewRS:
		case v1alpha1.HashOf(rs) == o.Rollout.Status.StableRS:
			o.StableRS = rs
			o.OldRSs = append(o.OldRSs, rs)
		default:
			o.OldRSs = append(o.OldRSs, rs)
		}
	}
	if v1alpha1.HashOf(o.NewRS) == o.Rollout.Status.StableRS {
		o.StableRS = o.NewRS
	}
}
