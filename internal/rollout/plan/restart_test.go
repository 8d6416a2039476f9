package plan_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

var restartAt = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// pods makes ready pods named p0, p1, ... created at the given offsets from restartAt.
func restartPods(offsets ...time.Duration) []plan.RestartPod {
	out := make([]plan.RestartPod, len(offsets))
	for i, off := range offsets {
		created := restartAt.Add(off)
		out[i] = plan.RestartPod{Name: fmt.Sprintf("p%d", i), UID: types.UID(fmt.Sprint("uid-", i)), Created: created, Ready: true, ReadySince: created.Add(time.Second)}
	}
	return out
}

func TestRestart(t *testing.T) {
	old := -time.Hour
	now := restartAt.Add(time.Minute)
	notReady := func(pods []plan.RestartPod, i int) []plan.RestartPod { pods[i].Ready = false; return pods }
	deleting := func(pods []plan.RestartPod, i int) []plan.RestartPod { pods[i].Deleting = true; return pods }
	cases := []struct {
		name        string
		in          plan.RestartInput
		wantDelete  []string
		wantDone    bool
		wantRequeue time.Duration
	}{{
		name:        "restartAt in the future waits for its time",
		in:          plan.RestartInput{RestartAt: restartAt, Now: restartAt.Add(-90 * time.Second), Replicas: 4, TotalReplicas: 4, MaxUnavailable: 1, Pods: restartPods(old, old, old, old)},
		wantRequeue: 90 * time.Second,
	}, {
		name:        "restartAt equal to now is not yet due",
		in:          plan.RestartInput{RestartAt: restartAt, Now: restartAt, Replicas: 1, TotalReplicas: 1, MaxUnavailable: 1, Pods: restartPods(old)},
		wantRequeue: time.Millisecond,
	}, {
		name:     "every pod newer than restartAt: done",
		in:       plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 2, TotalReplicas: 2, MaxUnavailable: 1, Pods: restartPods(time.Second, 2*time.Second)},
		wantDone: true,
	}, {
		name:     "a pod created exactly at restartAt counts as restarted",
		in:       plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 1, TotalReplicas: 1, MaxUnavailable: 1, Pods: restartPods(0)},
		wantDone: true,
	}, {
		name:     "no pods at all: done",
		in:       plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 0, MaxUnavailable: 0},
		wantDone: true,
	}, {
		name:        "all available, maxUnavailable 1: the oldest pod goes",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 4, TotalReplicas: 4, MaxUnavailable: 1, Pods: restartPods(-time.Hour, -3*time.Hour, -2*time.Hour, -time.Hour)},
		wantDelete:  []string{"p1"},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "maxUnavailable 2 deletes two at once",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 4, TotalReplicas: 4, MaxUnavailable: 2, Pods: restartPods(old, old, old, old)},
		wantDelete:  []string{"p0", "p1"},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "maxUnavailable 0 still restarts one at a time",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 3, TotalReplicas: 3, MaxUnavailable: 0, Pods: restartPods(old, old, old)},
		wantDelete:  []string{"p0"},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "a replacement not ready yet uses up the budget",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 4, TotalReplicas: 4, MaxUnavailable: 1, Pods: notReady(restartPods(old, old, old, time.Second), 3)},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "a missing pod (not yet recreated) uses up the budget",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 4, TotalReplicas: 4, MaxUnavailable: 1, Pods: restartPods(old, old, old)},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "an old pod already terminating is not deleted again, and the restart is not done",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 4, TotalReplicas: 4, MaxUnavailable: 2, Pods: deleting(restartPods(old, old, time.Second, time.Second), 0)},
		wantDelete:  []string{"p1"},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "only a terminating old pod left: wait for it to go",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 2, TotalReplicas: 2, MaxUnavailable: 1, Pods: deleting(restartPods(old, time.Second), 0)},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "an unready old pod can be deleted while the others are available",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 3, TotalReplicas: 3, MaxUnavailable: 1, Pods: notReady(restartPods(old, time.Second, time.Second), 0)},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "a surge counts: 5 pods of a 4-replica canary keep 4 available",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 4, TotalReplicas: 5, MaxUnavailable: 1, Pods: restartPods(old, old, old, old, old)},
		wantDelete:  []string{"p0"},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "a surge with one pod down leaves no budget",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 4, TotalReplicas: 5, MaxUnavailable: 1, Pods: notReady(restartPods(old, old, old, old, time.Second), 4)},
		wantRequeue: plan.RestartPoll,
	}, {
		name: "minReadySeconds: a pod ready for less than that is not available",
		in: plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 2, TotalReplicas: 2, MaxUnavailable: 1, MinReadySeconds: 30,
			Pods: []plan.RestartPod{
				{Name: "old", Created: restartAt.Add(old), Ready: true, ReadySince: restartAt.Add(old)},
				{Name: "new", Created: now.Add(-20 * time.Second), Ready: true, ReadySince: now.Add(-10 * time.Second)},
			}},
		wantRequeue: plan.RestartPoll,
	}, {
		name: "minReadySeconds: once passed, the next pod goes",
		in: plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 2, TotalReplicas: 2, MaxUnavailable: 1, MinReadySeconds: 30,
			Pods: []plan.RestartPod{
				{Name: "old", Created: restartAt.Add(old), Ready: true, ReadySince: restartAt.Add(old)},
				{Name: "new", Created: now.Add(-50 * time.Second), Ready: true, ReadySince: now.Add(-40 * time.Second)},
			}},
		wantDelete:  []string{"old"},
		wantRequeue: plan.RestartPoll,
	}, {
		name:        "equal creation times break ties by name",
		in:          plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: 3, TotalReplicas: 3, MaxUnavailable: 1, Pods: []plan.RestartPod{{Name: "b", Created: restartAt.Add(old), Ready: true}, {Name: "a", Created: restartAt.Add(old), Ready: true}, {Name: "c", Created: restartAt.Add(old), Ready: true}}},
		wantDelete:  []string{"a"},
		wantRequeue: plan.RestartPoll,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			del, done, after := plan.Restart(tc.in)
			if !slices.Equal(del, tc.wantDelete) || done != tc.wantDone || after != tc.wantRequeue {
				t.Fatalf("Restart = %v, %v, %v; want %v, %v, %v", del, done, after, tc.wantDelete, tc.wantDone, tc.wantRequeue)
			}
		})
	}
}

// TestRestartNeverExceedsMaxUnavailable simulates a whole restart: each round deletes what
// plan.Restart allows, a deleted pod's replacement appears unready and becomes ready a round later.
func TestRestartNeverExceedsMaxUnavailable(t *testing.T) {
	for _, tc := range []struct{ replicas, maxUnavailable int32 }{{1, 0}, {4, 1}, {5, 2}, {10, 3}, {3, 3}} {
		t.Run(fmt.Sprintf("%d/%d", tc.replicas, tc.maxUnavailable), func(t *testing.T) {
			now := restartAt.Add(time.Second)
			var pods []plan.RestartPod
			for i := range tc.replicas {
				pods = append(pods, plan.RestartPod{Name: fmt.Sprintf("old-%d", i), Created: restartAt.Add(-time.Hour), Ready: true})
			}
			created := 0
			for round := 0; ; round++ {
				if round > 100 {
					t.Fatal("the restart did not finish in 100 rounds")
				}
				// Pods created last round become ready.
				for i := range pods {
					pods[i].Ready = true
				}
				del, done, _ := plan.Restart(plan.RestartInput{RestartAt: restartAt, Now: now, Replicas: tc.replicas, TotalReplicas: tc.replicas, MaxUnavailable: tc.maxUnavailable, Pods: pods})
				if done {
					return
				}
				kept := pods[:0]
				for _, p := range pods {
					if !slices.Contains(del, p.Name) {
						kept = append(kept, p)
					}
				}
				pods = kept
				if down := tc.replicas - int32(len(pods)); down > max(tc.maxUnavailable, 1) {
					t.Fatalf("round %d: %d pods down, maxUnavailable %d", round, down, tc.maxUnavailable)
				}
				for int32(len(pods)) < tc.replicas {
					created++
					pods = append(pods, plan.RestartPod{Name: fmt.Sprintf("new-%d", created), Created: now, Ready: false})
				}
				now = now.Add(time.Second)
			}
		})
	}
}

// restartWorld is a settled canary of 4 pods, all older than a restartAt a minute ago.
func restartWorld(t *testing.T, strategy v1alpha1.RolloutStrategy) *world {
	w := newWorld(t, strategy, 4)
	w.settle()
	w.Now = restartAt.Add(time.Minute)
	w.Rollout.Spec.RestartAt = &metav1.Time{Time: restartAt}
	return w
}

func (w *world) planWithPods(pods []plan.RestartPod) plan.Plan {
	o := w.Observe()
	o.Pods = pods
	if o.Rollout.Spec.Strategy.BlueGreen != nil {
		return plan.BlueGreen(o)
	}
	return plan.Canary(o)
}

func basicCanary(maxUnavailable intstr.IntOrString) v1alpha1.RolloutStrategy {
	return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{MaxUnavailable: &maxUnavailable, Steps: []v1alpha1.CanaryStep{weight(50), pause("")}}}
}

func TestPlanRestartDeletesWithinMaxUnavailable(t *testing.T) {
	w := restartWorld(t, basicCanary(intstr.FromInt32(1)))
	old := -time.Hour
	p := w.planWithPods(restartPods(old, old, old, old))
	if len(p.DeletePods) != 1 || p.DeletePods[0].Name != "p0" || p.DeletePods[0].UID != "uid-0" {
		t.Fatalf("DeletePods %+v, want p0 with its UID", p.DeletePods)
	}
	if p.Status.RestartedAt != nil || p.RequeueAfter != plan.RestartPoll {
		t.Fatalf("restartedAt %v requeue %v: want unset and %v", p.Status.RestartedAt, p.RequeueAfter, plan.RestartPoll)
	}
	// 50% of 4 is 2 pods at a time.
	w.Rollout.Spec.Strategy = basicCanary(intstr.FromString("50%"))
	if p := w.planWithPods(restartPods(old, old, old, old)); len(p.DeletePods) != 2 {
		t.Fatalf("with maxUnavailable 50%% DeletePods %+v, want 2", p.DeletePods)
	}
}

func TestPlanRestartFinishes(t *testing.T) {
	w := restartWorld(t, basicCanary(intstr.FromInt32(1)))
	p := w.planWithPods(restartPods(time.Second, time.Second, 2*time.Second, 3*time.Second))
	if len(p.DeletePods) != 0 || p.Status.RestartedAt == nil || !p.Status.RestartedAt.Time.Equal(restartAt) {
		t.Fatalf("DeletePods %v restartedAt %v: want none and %v", p.DeletePods, p.Status.RestartedAt, restartAt)
	}
	if len(p.Events) != 1 || p.Events[0].Reason != plan.ReasonRestarted || p.Events[0].Message != "Rollout restarted" {
		t.Fatalf("events %+v, want one RolloutRestarted", p.Events)
	}
	w.Rollout.Status = p.Status
	if plan.RestartPending(w.Rollout) {
		t.Fatal("restart still pending after restartedAt was set")
	}
	if p := w.planWithPods(nil); len(p.Events) != 0 || p.RequeueAfter != 0 {
		t.Fatalf("after the restart: events %+v requeue %v, want none", p.Events, p.RequeueAfter)
	}
}

func TestPlanRestartInTheFutureRequeues(t *testing.T) {
	w := restartWorld(t, basicCanary(intstr.FromInt32(1)))
	w.Now = restartAt.Add(-5 * time.Minute)
	p := w.planWithPods(restartPods(-time.Hour))
	if len(p.DeletePods) != 0 || p.Status.RestartedAt != nil || p.RequeueAfter != 5*time.Minute {
		t.Fatalf("DeletePods %v restartedAt %v requeue %v: want none, unset, 5m", p.DeletePods, p.Status.RestartedAt, p.RequeueAfter)
	}
}

func TestPlanRestartCancelledByNewTemplate(t *testing.T) {
	w := restartWorld(t, basicCanary(intstr.FromInt32(1)))
	w.Deploy("v2")
	p := w.planWithPods(restartPods(-time.Hour, -time.Hour, -time.Hour, -time.Hour))
	if len(p.DeletePods) != 0 || p.Status.RestartedAt == nil || !p.Status.RestartedAt.Time.Equal(restartAt) {
		t.Fatalf("DeletePods %v restartedAt %v: want none, and the restart cancelled", p.DeletePods, p.Status.RestartedAt)
	}
	for _, e := range p.Events {
		if e.Reason == plan.ReasonRestarted {
			t.Fatalf("a cancelled restart recorded %+v", e)
		}
	}
}

func TestPlanRestartDuringUpdate(t *testing.T) {
	w := newWorld(t, basicCanary(intstr.FromInt32(1)), 4)
	w.settle()
	w.Deploy("v2")
	w.settle() // paused at 50%: 2 + 2
	w.Now = restartAt.Add(time.Minute)
	w.Rollout.Spec.RestartAt = &metav1.Time{Time: restartAt}
	p := w.planWithPods(restartPods(-time.Hour, -time.Hour, -time.Hour, -time.Hour))
	if len(p.DeletePods) != 1 {
		t.Fatalf("DeletePods %v, want one pod restarted during the paused update", p.DeletePods)
	}
}

func TestPlanRestartWaitsForScaleDown(t *testing.T) {
	w := restartWorld(t, basicCanary(intstr.FromInt32(1)))
	w.Rollout.Spec.Replicas = ptr.To[int32](3)
	p := w.planWithPods(restartPods(-time.Hour, -time.Hour, -time.Hour, -time.Hour))
	if len(p.DeletePods) != 0 || p.RequeueAfter == 0 {
		t.Fatalf("DeletePods %v requeue %v: a scale-down round deletes no pods but comes back", p.DeletePods, p.RequeueAfter)
	}
}

func TestPlanRestartBlueGreenMaxUnavailable(t *testing.T) {
	bg := v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "shop-active", MaxUnavailable: ptr.To(intstr.FromInt32(3))}}
	w := restartWorld(t, bg)
	old := -time.Hour
	p := w.planWithPods(restartPods(old, old, old, old))
	if len(p.DeletePods) != 3 {
		t.Fatalf("DeletePods %v, want 3 (blueGreen.maxUnavailable)", p.DeletePods)
	}
}
