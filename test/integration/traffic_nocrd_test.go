package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout"
	"github.com/aviary-dev/aviary/internal/testenv"
)

// TestTrafficWithoutGatewayAPICRDs starts the controller against an API server that serves no
// Gateway API: it starts, and a Rollout that needs routes says what to install.
func TestTrafficWithoutGatewayAPICRDs(t *testing.T) {
	bare, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bare.Stop(); err != nil {
			t.Errorf("stopping the second control plane: %v", err)
		}
	})
	mgr, err := ctrl.NewManager(bare.Config, ctrl.Options{
		Scheme: bare.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &rollout.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Events: &eventLog{}, Clock: clock.RealClock{}, Workers: 1}
	if err := r.SetupWithManager(t.Context(), mgr); err != nil {
		t.Fatalf("the controller does not start without the Gateway API CRDs: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller stopped with %v", err)
		}
	})

	for _, name := range []string{"shop-stable", "shop-canary"} {
		svc := serviceFor(name)
		svc.Namespace = "default"
		if err := bare.Client.Create(t.Context(), svc); err != nil {
			t.Fatal(err)
		}
	}
	ro := shopRollout(2, exampleCanary())
	ro.Namespace = "default"
	if err := bare.Client.Create(t.Context(), ro); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := &v1alpha1.Rollout{}
		if err := bare.Client.Get(t.Context(), client.ObjectKeyFromObject(ro), got); err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase == v1alpha1.RolloutPhaseDegraded &&
			strings.Contains(got.Status.Message, "does not serve HTTPRoute.gateway.networking.k8s.io") &&
			strings.Contains(got.Status.Message, "install the Gateway API CRDs") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no clear InvalidSpec: phase=%s message=%q", got.Status.Phase, got.Status.Message)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
