package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestMetrics(t *testing.T) {
	m := New("v1.2.3", nil)
	reg := prometheus.NewPedanticRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(reg); err == nil {
		t.Error("registering the metrics twice succeeded, want an error")
	}

	checkout := client.ObjectKey{Namespace: "shop", Name: "checkout"}
	cart := client.ObjectKey{Namespace: "shop", Name: "cart"}
	m.ObserveReconcile(checkout, 200*time.Millisecond, nil)
	m.ObserveReconcile(checkout, 2*time.Second, errors.New("conflict"))
	m.ObserveReconcile(cart, 5*time.Millisecond, nil)
	m.IncEvent("shop", "checkout", "Normal", "RolloutUpdated")
	m.IncEvent("shop", "checkout", "Normal", "RolloutUpdated")
	m.IncEvent("shop", "cart", "Warning", "RolloutAborted")

	const want = `
# HELP argo_rollouts_controller_info Running controller information
# TYPE argo_rollouts_controller_info gauge
argo_rollouts_controller_info{version="v1.2.3"} 1
# HELP rollout_events_total Count of rollout events
# TYPE rollout_events_total counter
rollout_events_total{name="cart",namespace="shop",reason="RolloutAborted",type="Warning"} 1
rollout_events_total{name="checkout",namespace="shop",reason="RolloutUpdated",type="Normal"} 2
# HELP rollout_reconcile Rollout reconciliation performance.
# TYPE rollout_reconcile histogram
rollout_reconcile_bucket{name="cart",namespace="shop",le="0.01"} 1
rollout_reconcile_bucket{name="cart",namespace="shop",le="0.15"} 1
rollout_reconcile_bucket{name="cart",namespace="shop",le="0.25"} 1
rollout_reconcile_bucket{name="cart",namespace="shop",le="0.5"} 1
rollout_reconcile_bucket{name="cart",namespace="shop",le="1"} 1
rollout_reconcile_bucket{name="cart",namespace="shop",le="+Inf"} 1
rollout_reconcile_sum{name="cart",namespace="shop"} 0.005
rollout_reconcile_count{name="cart",namespace="shop"} 1
rollout_reconcile_bucket{name="checkout",namespace="shop",le="0.01"} 0
rollout_reconcile_bucket{name="checkout",namespace="shop",le="0.15"} 0
rollout_reconcile_bucket{name="checkout",namespace="shop",le="0.25"} 1
rollout_reconcile_bucket{name="checkout",namespace="shop",le="0.5"} 1
rollout_reconcile_bucket{name="checkout",namespace="shop",le="1"} 1
rollout_reconcile_bucket{name="checkout",namespace="shop",le="+Inf"} 2
rollout_reconcile_sum{name="checkout",namespace="shop"} 2.2
rollout_reconcile_count{name="checkout",namespace="shop"} 2
# HELP rollout_reconcile_error Error occurring during the rollout
# TYPE rollout_reconcile_error counter
rollout_reconcile_error{name="checkout",namespace="shop"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}

	m.Forget(checkout)
	for _, name := range []string{"rollout_reconcile", "rollout_reconcile_error", "rollout_events_total"} {
		n, err := testutil.GatherAndCount(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"rollout_reconcile": 1, "rollout_reconcile_error": 0, "rollout_events_total": 1}[name]
		if n != want {
			t.Errorf("after Forget(shop/checkout), %s has %d series, want %d (only shop/cart's)", name, n, want)
		}
	}
}

func TestReconcileOfDeletedRolloutIsNotObserved(t *testing.T) {
	deleted := client.ObjectKey{Namespace: "shop", Name: "gone"}
	live := client.ObjectKey{Namespace: "shop", Name: "live"}
	m := New("dev", func(key client.ObjectKey) bool { return key != deleted })
	m.ObserveReconcile(deleted, time.Millisecond, nil)
	m.ObserveReconcile(deleted, time.Millisecond, errors.New("not found"))
	m.ObserveReconcile(live, time.Millisecond, nil)
	reg := prometheus.NewPedanticRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"rollout_reconcile": 1, "rollout_reconcile_error": 0} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != want {
			t.Errorf("%s has %d series (%v), want %d: only the live Rollout's", name, n, err, want)
		}
	}
}
