package plan

import (
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/replicas"
)

// Restarts (spec.restartAt, what `kubectl argo rollouts restart` sets) recreate every pod of the
// Rollout in place: a pod created before restartAt is deleted and its ReplicaSet makes a new
// one. The version does not change, so no strategy steps run. As in Argo Rollouts:
//
//   - the restart is due once the clock is past restartAt and status.restartedAt differs from it;
//     a restartAt in the future waits for its time;
//   - pods are deleted only while the Rollout as a whole keeps max(replicas, sum of the
//     ReplicaSets' sizes) - max(maxUnavailable, 1) pods available, so at most maxUnavailable
//     (and always at least one) are down at once, counting pods down for any other reason;
//   - a new pod template (or, for a canary, new steps) cancels a pending restart by setting
//     status.restartedAt = spec.restartAt, since the update replaces every pod anyway;
//   - when no pod older than restartAt is left, status.restartedAt = spec.restartAt.
//
// Argo Rollouts does not otherwise hold a restart back during an update: it restarts the pods of
// every ReplicaSet (stable, new and older) under the same availability budget. Aviary does the
// same. A reconcile that resizes a ReplicaSet downwards deletes no pods, so that the two kinds
// of disruption are never decided on the same (possibly stale) availability counts.

// RestartPoll is how often a restart in progress is looked at again. Pods are not watched
// (caching every pod of the cluster would cost far more than the rare restart needs); the
// ReplicaSet watch wakes the reconciler on most changes, and this poll on the rest.
const RestartPoll = 2 * time.Second

// RestartPod is what a restart needs to know of one pod of the Rollout.
type RestartPod struct {
	Name string
	// UID guards the deletion: a pod recreated under the same name is left alone.
	UID     types.UID
	Created time.Time
	// Ready is the pod's Ready condition; ReadySince its last transition time.
	Ready      bool
	ReadySince time.Time
	// Deleting: the pod has a deletionTimestamp.
	Deleting bool
}

// RestartInput is everything Restart decides from.
type RestartInput struct {
	RestartAt time.Time
	Now       time.Time
	// Replicas is spec.replicas; TotalReplicas the sum of spec.replicas of every ReplicaSet the
	// Rollout owns (higher than Replicas while a canary surges or a blue-green runs two versions).
	Replicas, TotalReplicas int32
	// MaxUnavailable is the strategy's maxUnavailable as a pod count.
	MaxUnavailable  int32
	MinReadySeconds int32
	Pods            []RestartPod
}

// Restart decides one round of a due or pending restart: the pods to delete now (oldest first),
// whether every pod is already newer than restartAt, and when to look again.
func Restart(in RestartInput) (deletePods []string, done bool, requeueAfter time.Duration) {
	if !in.Now.After(in.RestartAt) {
		return nil, false, max(in.RestartAt.Sub(in.Now), time.Millisecond)
	}
	var stale []RestartPod
	available := int32(0)
	for _, pod := range in.Pods {
		if pod.Created.Before(in.RestartAt) {
			stale = append(stale, pod)
		}
		if podAvailable(pod, in.MinReadySeconds, in.Now) {
			available++
		}
	}
	if len(stale) == 0 {
		return nil, true, 0
	}
	concurrent := max(in.MaxUnavailable, 1)
	budget := available - (max(in.Replicas, in.TotalReplicas) - concurrent)
	slices.SortStableFunc(stale, func(a, b RestartPod) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, pod := range stale {
		if budget <= 0 {
			break
		}
		if pod.Deleting {
			continue
		}
		deletePods = append(deletePods, pod.Name)
		budget--
	}
	return deletePods, false, RestartPoll
}

// podAvailable: ready, not going away, and ready for minReadySeconds, as a ReplicaSet counts it.
func podAvailable(pod RestartPod, minReadySeconds int32, now time.Time) bool {
	if !pod.Ready || pod.Deleting {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	return !pod.ReadySince.IsZero() && pod.ReadySince.Add(time.Duration(minReadySeconds)*time.Second).Before(now)
}

// RestartPending reports whether spec.restartAt asks for a restart that has not happened yet:
// the reconciler then reads the Rollout's pods. A restartAt in the future is pending too, so
// that the plan can ask to be woken at its time.
func RestartPending(ro *v1alpha1.Rollout) bool {
	at := ro.Spec.RestartAt
	if at == nil {
		return false
	}
	done := ro.Status.RestartedAt
	return done == nil || !done.Equal(at)
}

// planRestart runs the restart step of a reconcile, after the strategy has planned its sizes.
func planRestart(p *Plan, o Observed) {
	ro := o.Rollout
	st := &p.Status
	if !RestartPending(ro) {
		return
	}
	before := ro.Status
	if before.CurrentPodHash != st.CurrentPodHash || before.CurrentStepHash != st.CurrentStepHash {
		// A new template or new steps: the update recreates the pods, the restart is moot.
		st.RestartedAt = ro.Spec.RestartAt.DeepCopy()
		return
	}
	in := RestartInput{
		RestartAt:       ro.Spec.RestartAt.Time,
		Now:             o.Now,
		Replicas:        ro.Spec.ReplicasOrDefault(),
		MaxUnavailable:  restartMaxUnavailable(ro),
		MinReadySeconds: ro.Spec.MinReadySeconds,
		Pods:            o.Pods,
	}
	shrinking := false
	for _, rs := range o.all() {
		have := specReplicas(rs)
		in.TotalReplicas += have
		if want, ok := p.Replicas[rs.Name]; ok && want < have {
			shrinking = true
		}
	}
	names, done, after := Restart(in)
	if done {
		st.RestartedAt = ro.Spec.RestartAt.DeepCopy()
		p.normal(ReasonRestarted, "Rollout restarted")
		return
	}
	p.requeue(after)
	if shrinking {
		return
	}
	for _, name := range names {
		for _, pod := range o.Pods {
			if pod.Name == name {
				p.DeletePods = append(p.DeletePods, pod)
			}
		}
	}
}

// restartMaxUnavailable is the strategy's maxUnavailable as a pod count; an unreadable value
// (the API server validates it) restarts one pod at a time.
func restartMaxUnavailable(ro *v1alpha1.Rollout) int32 {
	n := ro.Spec.ReplicasOrDefault()
	var err error
	var unavailable int32
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		_, unavailable, err = replicas.ResolveSurgeUnavailable(n, v1alpha1.DefaultMaxSurge, bg.MaxUnavailableOrDefault())
	} else if c := ro.Spec.Strategy.Canary; c != nil {
		_, unavailable, err = replicas.ResolveSurgeUnavailable(n, c.MaxSurgeOrDefault(), c.MaxUnavailableOrDefault())
	}
	if err != nil {
		return 1
	}
	return max(unavailable, 1)
}
