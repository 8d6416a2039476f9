//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Generous: the machine is small and shared; the steps themselves take seconds.
const walkTimeout = 90 * time.Second

// targetedCanaryWalk is the demo's walk-through (issues #4 and #5): the canary first reaches
// only requests with X-Canary: yes, then 20% of the others; abort sends everything back to
// stable and removes the header rule; retry and a full promotion put the canary in.
func targetedCanaryWalk(t *testing.T, d *delivery) {
	const stable, canary = "demo-stable", "demo-canary"
	gw := d.gw

	d.aviary(t, "set", "image", "demo", "demo=argoproj/rollouts-demo:yellow")

	// Step 0 adds the header route, step 1 pauses.
	d.waitRollout(t, "demo", walkTimeout, pausedAt(1))
	rt := d.waitRoute(t, "demo", func(rt *gatewayv1.HTTPRoute) string {
		i := headerRule(rt, "X-Canary")
		if i < 0 {
			return "no X-Canary rule"
		}
		if w := weights(rt.Spec.Rules[i]); w[canary] == 0 || len(w) != 1 {
			return fmt.Sprintf("X-Canary rule backends %v, want only %s", w, canary)
		}
		return splitIs(rt, stable, canary, 100, 0)
	})
	t.Logf("header step: HTTPRoute rules %s", describeRules(rt))
	gw.waitAll(t, walkTimeout, 20, "", canaryHeader(), "yellow")
	if got := gw.sample(context.Background(), 20, "", nil); got["blue"] != 20 {
		t.Fatalf("at the header step, 20 requests without X-Canary: want all blue, got %v", got)
	}

	// Promote: 20% of plain requests go to the canary; the header rule stays.
	d.aviary(t, "promote", "demo")
	d.waitRollout(t, "demo", walkTimeout, pausedAt(3))
	rt = d.waitRoute(t, "demo", func(rt *gatewayv1.HTTPRoute) string {
		if headerRule(rt, "X-Canary") < 0 {
			return "the X-Canary rule is gone at the weighted step"
		}
		return splitIs(rt, stable, canary, 80, 20)
	})
	t.Logf("weighted step: HTTPRoute rules %s", describeRules(rt))
	// The first yellow without the header shows that the gateway has the 20% split.
	gw.waitAny(t, walkTimeout, "", nil, "yellow")
	got := gw.sample(context.Background(), 100, "", nil)
	t.Logf("weighted step: 100 plain requests answered %v", got)
	if got["yellow"]+got["blue"] != 100 || got["yellow"] < 5 || got["yellow"] > 50 {
		t.Fatalf("at setWeight 20, 100 requests: want only blue and yellow with 5..50 yellow, got %v", got)
	}
	if got := gw.sample(context.Background(), 20, "", canaryHeader()); got["yellow"] != 20 {
		t.Fatalf("at setWeight 20, 20 requests with X-Canary: want all yellow, got %v", got)
	}

	// Abort: everything back to stable, no managed rule left, Degraded.
	d.aviary(t, "abort", "demo")
	d.waitRollout(t, "demo", walkTimeout, func(ro *v1alpha1.Rollout) string {
		if !ro.Status.Abort || ro.Status.Phase != v1alpha1.RolloutPhaseDegraded {
			return "want abort true and phase Degraded"
		}
		return ""
	})
	rt = d.waitRoute(t, "demo", func(rt *gatewayv1.HTTPRoute) string {
		if len(rt.Spec.Rules) != 1 {
			return fmt.Sprintf("want only the weighted rule after abort, have %d rules", len(rt.Spec.Rules))
		}
		return splitIs(rt, stable, canary, 100, 0)
	})
	t.Logf("aborted: HTTPRoute rules %s", describeRules(rt))
	gw.waitAll(t, walkTimeout, 40, "", nil, "blue")
	// The header rule is gone: X-Canary no longer reaches the canary either.
	gw.waitAll(t, walkTimeout, 20, "", canaryHeader(), "blue")

	// Retry, then a full promotion: the canary becomes stable for everyone.
	d.aviary(t, "retry", "rollout", "demo")
	d.waitRollout(t, "demo", walkTimeout, pausedAt(1))
	d.aviary(t, "promote", "demo", "--full")
	// Healthy waits for the old stable's scaleDownDelaySeconds (30s in the demo), and no longer:
	// when the scale-down at the deadline lost a version race to the removal of the deadline,
	// the next reconcile stamped a new one, and this took 60, 90 or 120s in some runs. 55s
	// leaves room for a slow machine but not for one more delay.
	d.waitRollout(t, "demo", 55*time.Second, func(ro *v1alpha1.Rollout) string {
		if ro.Status.Phase != v1alpha1.RolloutPhaseHealthy || ro.Status.StableRS != ro.Status.CurrentPodHash {
			return "want phase Healthy with the new version stable"
		}
		return ""
	})
	assertNoScaleDownDeadline(t, d, "demo")
	d.waitRoute(t, "demo", func(rt *gatewayv1.HTTPRoute) string {
		if len(rt.Spec.Rules) != 1 {
			return fmt.Sprintf("want only the weighted rule after completion, have %d rules", len(rt.Spec.Rules))
		}
		return splitIs(rt, stable, canary, 100, 0)
	})
	gw.waitAll(t, walkTimeout, 40, "", nil, "yellow")
}

// assertNoScaleDownDeadline: the stable ReplicaSet (the canary that was aborted, retried and
// promoted) carries no scale-down deadline left from the abort, which would scale it down at
// once when it is replaced.
func assertNoScaleDownDeadline(t *testing.T, d *delivery, app string) {
	t.Helper()
	var rss appsv1.ReplicaSetList
	if err := d.kube.List(context.Background(), &rss, client.InNamespace("default"), client.MatchingLabels{"app": app}); err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss.Items {
		at, stamped := rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation]
		t.Logf("ReplicaSet %s: %d replicas, scale-down deadline %q", rs.Name, ptrValue(rs.Spec.Replicas), at)
		if stamped && ptrValue(rs.Spec.Replicas) > 0 && rs.Labels[v1alpha1.PodTemplateHashLabel] != "" {
			var ro v1alpha1.Rollout
			if err := d.kube.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: app}, &ro); err != nil {
				t.Fatal(err)
			}
			if rs.Labels[v1alpha1.PodTemplateHashLabel] == ro.Status.StableRS {
				t.Errorf("the stable ReplicaSet %s keeps a scale-down deadline %s", rs.Name, at)
			}
		}
	}
}

func ptrValue(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// pausedAt: the Rollout is paused at step index i of its current update, not aborted.
func pausedAt(i int32) func(*v1alpha1.Rollout) string {
	return func(ro *v1alpha1.Rollout) string {
		if ro.Status.Abort {
			return "aborted"
		}
		if stepOf(ro) != i || ro.Status.Phase != v1alpha1.RolloutPhasePaused {
			return fmt.Sprintf("want paused at step %d", i)
		}
		return ""
	}
}
