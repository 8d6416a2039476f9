package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/controller"
	"github.com/aviary-dev/aviary/internal/rollout"
)

// undecodablePause is a pause duration the API server stores (before the CRD bounds it, and
// in objects stored before that) but the Go type, an int32, cannot hold.
const undecodablePause = int64(3000000000)

// TestUndecodableRolloutDoesNotStopTheController runs the whole controller (aviary
// controller's Setup: rollout and AnalysisRun reconcilers, metrics, Events) with a Rollout
// whose pause duration does not fit an int32 next to a good one. The good one still rolls out
// an image update and is in the metrics; the bad one is reported on itself (status, Warning
// Event). The manager's cache fails the test on any typed Rollout read, the kind of read that
// stopped every reconcile.
func TestUndecodableRolloutDoesNotStopTheController(t *testing.T) {
	s := newIdleScene(t, nil)
	storeUnchecked(t, undecodableRollout(s.ns, "broken"))
	startWholeController(t, s.ns)

	s.create(shopRollout(2, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{setWeight(50)}}}))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 1, sizes: map[string]int32{"blue": 2}})
	s.setImage("argoproj/rollouts-demo:green")
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 1, sizes: map[string]int32{"green": 2}})

	const field = "spec.strategy.canary.steps.pause.duration"
	ctx := t.Context()
	awaitCondition(ctx, t, "the undecodable Rollout's status reports it", func() (bool, string) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(rollout.RolloutGVK)
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "broken"}, u); err != nil {
			return false, err.Error()
		}
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		message, _, _ := unstructured.NestedString(u.Object, "status", "message")
		conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		invalid := false
		for _, c := range conditions {
			m, _ := c.(map[string]any)
			invalid = invalid || (m["type"] == "InvalidSpec" && m["status"] == "True" && m["reason"] == "InvalidSpec")
		}
		ok := phase == "Degraded" && strings.HasPrefix(message, "InvalidSpec: ") &&
			strings.Contains(message, field) && strings.Contains(message, "edit or delete the Rollout") && invalid
		return ok, fmt.Sprintf("phase=%q message=%q conditions=%v", phase, message, conditions)
	})
	awaitCondition(ctx, t, "a Warning InvalidSpec Event is recorded on it", func() (bool, string) {
		var list corev1.EventList
		if err := env.Client.List(ctx, &list, client.InNamespace(s.ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.InvolvedObject.Kind == "Rollout" && e.InvolvedObject.Name == "broken" {
				if e.Type == corev1.EventTypeWarning && e.Reason == "InvalidSpec" && strings.Contains(e.Message, field) {
					return true, ""
				}
				seen = append(seen, e.Type+"/"+e.Reason+": "+e.Message)
			}
		}
		return false, fmt.Sprint(seen)
	})

	// The metrics list Rollouts too: the good one is reported, the scrape did not fail.
	body := gatherText(t)
	for _, want := range []string{`rollout_info{name="shop",namespace="` + s.ns + `"`, "aviary_rollout_info_scrape_error 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// undecodableRollout is a canary Rollout whose pause step lasts undecodablePause seconds.
func undecodableRollout(ns, name string) *unstructured.Unstructured {
	ro := shopRollout(1, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{}})
	ro.Name, ro.Namespace = name, ns
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ro)
	if err != nil {
		panic(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(rollout.RolloutGVK)
	steps := []any{map[string]any{"pause": map[string]any{"duration": undecodablePause}}}
	if err := unstructured.SetNestedSlice(u.Object, steps, "spec", "strategy", "canary", "steps"); err != nil {
		panic(err)
	}
	return u
}

// storeUnchecked creates a Rollout as an API server stores one written before the CRD bounded
// the pause duration: when the installed CRD refuses it, the pause schema is relaxed to a bare
// int-or-string for the create and restored at once, and the test waits until the restored
// schema refuses it again. With a CRD that accepts it, the CRD is not touched. (Tests of this
// package do not run in parallel, so no other test sees the relaxed schema.)
func storeUnchecked(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	ctx := t.Context()
	err := env.Client.Create(ctx, u.DeepCopy(), client.DryRunAll)
	if err == nil {
		if err := env.Client.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !apierrors.IsInvalid(err) {
		t.Fatal(err)
	}
	t.Logf("the Rollout CRD refuses the object (%v): relaxing its pause schema for the create", err)
	restore := relaxPauseSchema(t)
	awaitCondition(ctx, t, "the relaxed schema stores the Rollout", func() (bool, string) {
		err := env.Client.Create(ctx, u.DeepCopy())
		return err == nil, fmt.Sprint(err)
	})
	restore()
	awaitCondition(ctx, t, "the restored schema refuses the Rollout again", func() (bool, string) {
		probe := u.DeepCopy()
		probe.SetName(u.GetName() + "-probe")
		err := env.Client.Create(ctx, probe, client.DryRunAll)
		return apierrors.IsInvalid(err), fmt.Sprint(err)
	})
}

// relaxPauseSchema drops every bound on the canary pause step of the Rollout CRD and returns
// the function that puts the original schema back.
func relaxPauseSchema(t *testing.T) func() {
	t.Helper()
	ctx := t.Context()
	key := client.ObjectKey{Name: "rollouts.argoproj.io"}
	var original []apiextensionsv1.CustomResourceDefinitionVersion
	updateCRD(ctx, t, key, func(crd *apiextensionsv1.CustomResourceDefinition) {
		if original == nil {
			original = make([]apiextensionsv1.CustomResourceDefinitionVersion, len(crd.Spec.Versions))
			for i := range crd.Spec.Versions {
				crd.Spec.Versions[i].DeepCopyInto(&original[i])
			}
		}
		for i := range crd.Spec.Versions {
			spec := crd.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["spec"]
			strategy := spec.Properties["strategy"]
			canary := strategy.Properties["canary"]
			steps := canary.Properties["steps"]
			pause := steps.Items.Schema.Properties["pause"]
			pause.XValidations = nil
			pause.Properties["duration"] = apiextensionsv1.JSONSchemaProps{XIntOrString: true}
			steps.Items.Schema.Properties["pause"] = pause
			canary.Properties["steps"] = steps
			strategy.Properties["canary"] = canary
			spec.Properties["strategy"] = strategy
			crd.Spec.Versions[i].Schema.OpenAPIV3Schema.Properties["spec"] = spec
		}
	})
	restored := false
	restore := func() {
		if restored {
			return
		}
		restored = true
		updateCRD(context.WithoutCancel(ctx), t, key, func(crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions = original
		})
	}
	t.Cleanup(restore)
	return restore
}

// updateCRD changes a CRD with optimistic retries.
func updateCRD(ctx context.Context, t *testing.T, key client.ObjectKey, change func(*apiextensionsv1.CustomResourceDefinition)) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		err := c.Get(ctx, key, crd)
		if err == nil {
			change(crd)
			err = c.Update(ctx, crd)
		}
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) || attempt > 20 {
			t.Fatalf("updating CRD %s: %v", key.Name, err)
		}
	}
}

// startWholeController runs what `aviary controller --namespace=ns` runs (without leader
// election, metrics or probe listeners), with a cache that refuses typed Rollout reads.
// Setup registers the metrics in controller-runtime's global registry, so one test only may
// call it per process.
func startWholeController(t *testing.T, ns string) {
	t.Helper()
	o := controller.NewOptions()
	o.Namespace, o.LeaderElect, o.MetricsPort, o.HealthzPort = ns, false, 0, 0
	opts := o.ManagerOptions(env.Scheme)
	opts.NewCache = refuseTypedRolloutReads(t)
	opts.Controller.SkipNameValidation = ptr.To(true)
	mgr, err := ctrl.NewManager(env.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := controller.Setup(ctx, mgr, o); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("controller stopped with %v", err)
		}
	})
}

// gatherText is controller-runtime's metrics registry in the text exposition format, roughly.
func gatherText(t *testing.T) string {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			value := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			if len(labels) == 0 {
				fmt.Fprintf(&b, "%s %v\n", f.GetName(), value)
			} else {
				fmt.Fprintf(&b, "%s{%s} %v\n", f.GetName(), strings.Join(labels, ","), value)
			}
		}
	}
	return b.String()
}

// awaitCondition polls cond (bounded) until it holds, failing with its last description.
func awaitCondition(ctx context.Context, t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, have := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out waiting until %s; have %s", what, have)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
