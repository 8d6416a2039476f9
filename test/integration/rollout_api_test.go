package integration

import (
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func minimalRollout(ns string) *v1alpha1.Rollout {
	labels := map[string]string{"app": "shop"}
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "shop", Image: "argoproj/rollouts-demo:blue"},
				}},
			},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				Steps: []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](20)}, {Pause: &v1alpha1.RolloutPause{}}},
			}},
		},
	}
}

// TestRolloutSelectorImmutable: the selector can be set at creation and never changed.
func TestRolloutSelectorImmutable(t *testing.T) {
	ctx := t.Context()
	ro := minimalRollout(newNamespace(ctx, t, "selector"))
	if err := env.Client.Create(ctx, ro); err != nil {
		t.Fatalf("creating a valid Rollout from Go types: %v", err)
	}

	ro.Spec.Replicas = ptr.To[int32](3)
	if err := env.Client.Update(ctx, ro); err != nil {
		t.Fatalf("an update that keeps the selector must pass: %v", err)
	}

	ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop", "tier": "web"}}
	ro.Spec.Template.Labels["tier"] = "web"
	err := env.Client.Update(ctx, ro)
	if !apierrors.IsInvalid(err) {
		t.Fatalf("changing spec.selector: want an Invalid error, got %v", err)
	}
	if !strings.Contains(err.Error(), "spec.selector") {
		t.Errorf("the error does not name spec.selector: %v", err)
	}
}

// TestRolloutScaleSubresource: kubectl scale and the HPA work through /scale, which reads
// spec.replicas, status.HPAReplicas and status.selector.
func TestRolloutScaleSubresource(t *testing.T) {
	ctx := t.Context()
	ro := minimalRollout(newNamespace(ctx, t, "scale"))
	if err := env.Client.Create(ctx, ro); err != nil {
		t.Fatal(err)
	}
	ro.Status.HPAReplicas = 2
	ro.Status.Selector = "app=shop"
	if err := env.Client.Status().Update(ctx, ro); err != nil {
		t.Fatalf("writing status: %v", err)
	}

	scale := &autoscalingv1.Scale{}
	if err := env.Client.SubResource("scale").Get(ctx, ro, scale); err != nil {
		t.Fatalf("reading /scale: %v", err)
	}
	if scale.Spec.Replicas != 2 || scale.Status.Replicas != 2 || scale.Status.Selector != "app=shop" {
		t.Errorf("/scale = spec %d, status %d, selector %q; want 2, 2, app=shop",
			scale.Spec.Replicas, scale.Status.Replicas, scale.Status.Selector)
	}

	scale.Spec.Replicas = 5
	if err := env.Client.SubResource("scale").Update(ctx, ro, client.WithSubResourceBody(scale)); err != nil {
		t.Fatalf("writing /scale: %v", err)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ro), ro); err != nil {
		t.Fatal(err)
	}
	if got := ptr.Deref(ro.Spec.Replicas, -1); got != 5 {
		t.Errorf("spec.replicas after scaling to 5 = %d", got)
	}
}
