package rollout

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/podstate"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// restartPods reads the Rollout's pods for a pending restart (spec.restartAt), and nothing
// otherwise. The pods are listed from the API server, not the cache: the controller does not
// watch pods (a pod informer would hold every pod of the cluster in memory for a feature used
// now and then), so a restart in progress is driven by the ReplicaSet watch and a short
// requeue (plan.RestartPoll) instead. The ReplicaSets come from the cache; a pod counts when
// one of them controls it.
func (r *Reconciler) restartPods(ctx context.Context, ro *v1alpha1.Rollout, owned []*appsv1.ReplicaSet) ([]plan.RestartPod, error) {
	if !plan.RestartPending(ro) || ro.Spec.RestartAt.After(r.Clock.Now()) {
		return nil, nil // nothing to restart, or not yet: the plan asks to be woken at restartAt
	}
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	var out []plan.RestartPod
	for _, rs := range owned {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() {
			continue // the API server refuses such ReplicaSets; never list every pod
		}
		var list corev1.PodList
		if err := reader.List(ctx, &list, client.InNamespace(ro.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, fmt.Errorf("listing the pods of ReplicaSet %q: %w", rs.Name, err)
		}
		for i := range list.Items {
			pod := &list.Items[i]
			if metav1.IsControlledBy(pod, rs) {
				out = append(out, restartFacts(pod))
			}
		}
	}
	return out, nil
}

func restartFacts(pod *corev1.Pod) plan.RestartPod {
	facts := plan.RestartPod{Name: pod.Name, UID: pod.UID, Created: pod.CreationTimestamp.Time, Deleting: pod.DeletionTimestamp != nil}
	facts.Ready, facts.ReadySince = podstate.ReadySince(pod)
	return facts
}

// deletePods deletes the pods a restart chose, each only if it is still the pod that was
// looked at (a UID precondition); a pod already gone or replaced is no error.
func (r *Reconciler) deletePods(ctx context.Context, ro *v1alpha1.Rollout, pods []plan.RestartPod) error {
	for _, p := range pods {
		pod := &corev1.Pod{}
		pod.Namespace, pod.Name = ro.Namespace, p.Name
		uid := p.UID
		err := r.Client.Delete(ctx, pod, client.Preconditions{UID: &uid})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("restarting pod %q: %w", p.Name, err)
		}
	}
	return nil
}
