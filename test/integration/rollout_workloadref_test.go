package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

func shopDeployment(replicas int32, image string) *appsv1.Deployment {
	labels := map[string]string{"app": "shop"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "shop", Image: image,
					Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				}}},
			},
		},
	}
}

func (s *scene) deployment() *appsv1.Deployment {
	s.t.Helper()
	d := &appsv1.Deployment{}
	if err := env.Client.Get(s.t.Context(), client.ObjectKey{Namespace: s.ns, Name: "shop"}, d); err != nil {
		s.t.Fatal(err)
	}
	return d
}

// rolloutSizes is the available pods per image of the Rollout's own ReplicaSets (the
// Deployment's are left out), e.g. {"blue": 3}.
func (s *scene) rolloutSizes() map[string]int32 {
	s.t.Helper()
	var list appsv1.ReplicaSetList
	if err := env.Client.List(s.t.Context(), &list, client.InNamespace(s.ns)); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]int32{}
	for _, rs := range list.Items {
		owner := metav1.GetControllerOf(&rs)
		if owner == nil || owner.Kind != "Rollout" {
			continue
		}
		image := rs.Spec.Template.Spec.Containers[0].Image
		color := image[strings.LastIndex(image, ":")+1:]
		if rs.Status.AvailableReplicas > 0 || ptr.Deref(rs.Spec.Replicas, 0) > 0 {
			out[color] = rs.Status.AvailableReplicas
		}
	}
	return out
}

// awaitWorkload waits (bounded) for a condition on the Rollout and its Deployment.
func (s *scene) awaitWorkload(what string, ok func(ro *v1alpha1.Rollout, d *appsv1.Deployment) bool) {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ro, d := s.rollout(), s.deployment()
		if ok(ro, d) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s; rollout %s workloadObservedGeneration=%q; deployment generation=%d replicas=%d/%d available",
				what, s.describe(), ro.Status.WorkloadObservedGeneration, d.Generation, ptr.Deref(d.Spec.Replicas, 1), d.Status.AvailableReplicas)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWorkloadRefProgressiveMigration migrates a running Deployment to a Rollout that
// references it with scaleDown: progressively: the Rollout comes up with the Deployment's
// template, the Deployment goes to zero as the Rollout's pods become available, and a new
// image in the Deployment starts a new revision of the Rollout.
func TestWorkloadRefProgressiveMigration(t *testing.T) {
	s := newScene(t, nil)
	s.create(shopDeployment(3, "argoproj/rollouts-demo:blue"))
	waitFor(t.Context(), t, "the Deployment's 3 pods", func(_ context.Context) (bool, string, error) {
		d := s.deployment()
		return d.Status.AvailableReplicas == 3, fmt.Sprintf("%d available", d.Status.AvailableReplicas), nil
	})

	s.create(&v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: v1alpha1.RolloutSpec{
			Replicas:    ptr.To[int32](3),
			WorkloadRef: &v1alpha1.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop", ScaleDown: plan.WorkloadScaleDownProgressively},
			Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
				Steps: []v1alpha1.CanaryStep{setWeight(50), pauseFor("1s")},
			}},
		},
	})
	s.awaitWorkload("a Healthy Rollout with 3 blue pods and the Deployment at 0", func(ro *v1alpha1.Rollout, d *appsv1.Deployment) bool {
		return ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && fmt.Sprint(s.rolloutSizes()) == "map[blue:3]" &&
			ptr.Deref(d.Spec.Replicas, 1) == 0 && d.Status.Replicas == 0 &&
			ro.Status.WorkloadObservedGeneration == fmt.Sprint(d.Generation)
	})
	if s.events.count(plan.ReasonScalingDeployment) == 0 {
		t.Error("no ScalingDeployment event")
	}
	first := s.rollout().Status.CurrentPodHash

	// The controller scales the Deployment and kube-controller-manager writes its status at the
	// same time: re-read on a conflict, as any client editing a live object must.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d := s.deployment()
		d.Spec.Template.Spec.Containers[0].Image = "argoproj/rollouts-demo:green"
		return env.Client.Update(t.Context(), d)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.awaitWorkload("a new revision with 3 green pods", func(ro *v1alpha1.Rollout, d *appsv1.Deployment) bool {
		return ro.Status.CurrentPodHash != first && ro.Status.StableRS == ro.Status.CurrentPodHash &&
			ro.Status.Phase == v1alpha1.RolloutPhaseHealthy && fmt.Sprint(s.rolloutSizes()) == "map[green:3]" &&
			ptr.Deref(d.Spec.Replicas, 1) == 0 && ro.Status.WorkloadObservedGeneration == fmt.Sprint(d.Generation)
	})
	if s.events.count(plan.ReasonStepCompleted) == 0 {
		t.Error("the new revision did not walk the canary steps")
	}
}
