package integration

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/internal/testenv"
)

// settle bounds every wait for the control plane to converge.
const settle = 60 * time.Second

// startPodFixture plays the kubelet for pods in ns until the test ends, and checks on the way out
// that it left no goroutine behind.
func startPodFixture(t *testing.T, ns string, opts ...testenv.PodFixtureOption) *testenv.PodFixture {
	t.Helper()
	f, err := env.StartPodFixture(t.Context(), append([]testenv.PodFixtureOption{testenv.InNamespace(ns)}, opts...)...)
	if err != nil {
		t.Fatalf("starting the pod fixture: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			env.KeepLogs()
			t.Logf("kube-controller-manager log: %s", env.ControllerManagerLog())
		}
	})
	return f
}

// waitFor polls check until it reports done, failing the test after settle with the last state
// check described.
func waitFor(ctx context.Context, t *testing.T, what string, check func(context.Context) (done bool, state string, err error)) {
	t.Helper()
	var state string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, settle, true, func(ctx context.Context) (bool, error) {
		done, s, err := check(ctx)
		state = s
		if err != nil {
			state = err.Error()
		}
		return done, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s: %v; last seen: %s", what, settle, err, state)
	}
}

func replicaSet(ns, name, image string, replicas int32) *appsv1.ReplicaSet {
	labels := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "app",
					Image: image,
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}
}

// waitForReplicaSet waits until the ReplicaSet controller has seen rs's latest spec, it has
// exactly want pods (none terminating) and want of them are available.
func waitForReplicaSet(ctx context.Context, t *testing.T, rs *appsv1.ReplicaSet, want int32) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	waitFor(ctx, t, fmt.Sprintf("ReplicaSet %s with %d available pods", rs.Name, want),
		func(ctx context.Context) (bool, string, error) {
			got := &appsv1.ReplicaSet{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(rs), got); err != nil {
				return false, "", err
			}
			list := &corev1.PodList{}
			if err := env.Client.List(ctx, list, client.InNamespace(rs.Namespace),
				client.MatchingLabels(rs.Spec.Selector.MatchLabels)); err != nil {
				return false, "", err
			}
			pods = list.Items
			s := got.Status
			state := fmt.Sprintf("generation %d observed %d, replicas %d ready %d available %d, %d pods",
				got.Generation, s.ObservedGeneration, s.Replicas, s.ReadyReplicas, s.AvailableReplicas, len(pods))
			return s.ObservedGeneration == got.Generation && s.Replicas == want &&
				s.AvailableReplicas == want && len(pods) == int(want), state, nil
		})
	return pods
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TestPodFixtureRunsReplicaSets: kube-controller-manager's ReplicaSet controller creates pods,
// the fixture binds them and makes them run and (unless told otherwise) ready, and what the
// controller reports follows.
func TestPodFixtureRunsReplicaSets(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(ctx, t, "pods")
	var badBecomesReady atomic.Bool
	fixture := startPodFixture(t, ns, testenv.ReadyWhen(func(p *corev1.Pod) bool {
		for _, c := range p.Spec.Containers {
			if strings.HasSuffix(c.Image, ":bad") {
				return badBecomesReady.Load()
			}
		}
		return true
	}))

	// The serviceaccount controller runs.
	waitFor(ctx, t, "the default ServiceAccount in "+ns, func(ctx context.Context) (bool, string, error) {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, "", err
	})

	web := replicaSet(ns, "web", "argoproj/rollouts-demo:blue", 3)
	if err := env.Client.Create(ctx, web); err != nil {
		t.Fatal(err)
	}
	pods := waitForReplicaSet(ctx, t, web, 3)
	seen := map[string]string{}
	for i := range pods {
		p := &pods[i]
		if p.Spec.NodeName != testenv.NodeName || p.Status.Phase != corev1.PodRunning || !podReady(p) {
			t.Errorf("pod %s: node %q, phase %s, ready %t; want %s, Running, ready",
				p.Name, p.Spec.NodeName, p.Status.Phase, podReady(p), testenv.NodeName)
		}
		if len(p.Status.ContainerStatuses) != 1 || !p.Status.ContainerStatuses[0].Ready ||
			p.Status.ContainerStatuses[0].State.Running == nil {
			t.Errorf("pod %s: container statuses %+v; want one running and ready", p.Name, p.Status.ContainerStatuses)
		}
		ip := p.Status.PodIP
		if !strings.HasPrefix(ip, "127.0.") || len(p.Status.PodIPs) != 1 || p.Status.PodIPs[0].IP != ip {
			t.Errorf("pod %s: podIP %q, podIPs %v; want one 127.0.x.y address", p.Name, ip, p.Status.PodIPs)
		}
		if other, dup := seen[ip]; dup {
			t.Errorf("pods %s and %s share podIP %s", other, p.Name, ip)
		}
		seen[ip] = p.Name
	}

	// Scaling in: the controller deletes pods gracefully, and as no kubelet confirms, the
	// fixture force-deletes them.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(web), web); err != nil {
			return err
		}
		web.Spec.Replicas = ptr.To[int32](1)
		return env.Client.Update(ctx, web)
	}); err != nil {
		t.Fatal(err)
	}
	waitForReplicaSet(ctx, t, web, 1)

	// A pod the readiness hook turns down runs but stays unready, and is not available.
	bad := replicaSet(ns, "bad", "argoproj/rollouts-demo:bad", 1)
	if err := env.Client.Create(ctx, bad); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the bad pod running, unready, and its ReplicaSet counting it", func(ctx context.Context) (bool, string, error) {
		list := &corev1.PodList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"app": "bad"}); err != nil {
			return false, "", err
		}
		rs := &appsv1.ReplicaSet{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bad), rs); err != nil {
			return false, "", err
		}
		if len(list.Items) != 1 {
			return false, fmt.Sprintf("%d pods", len(list.Items)), nil
		}
		p := &list.Items[0]
		running := p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 &&
			p.Status.ContainerStatuses[0].State.Running != nil
		state := fmt.Sprintf("pod phase %s ready %t; ReplicaSet generation %d observed %d replicas %d",
			p.Status.Phase, podReady(p), rs.Generation, rs.Status.ObservedGeneration, rs.Status.Replicas)
		return running && rs.Status.ObservedGeneration == rs.Generation && rs.Status.Replicas == 1, state, nil
	})
	got := &appsv1.ReplicaSet{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(bad), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.ReadyReplicas != 0 || got.Status.AvailableReplicas != 0 {
		t.Errorf("ReplicaSet bad: ready %d, available %d; want 0 and 0 while its pod is unready",
			got.Status.ReadyReplicas, got.Status.AvailableReplicas)
	}
	list := &corev1.PodList{}
	if err := env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"app": "bad"}); err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		if p := &list.Items[i]; podReady(p) || p.Status.ContainerStatuses[0].Ready {
			t.Errorf("pod %s is ready; the readiness hook said no", p.Name)
		}
	}

	// The hook's answer can change during a test: the same pod becomes ready and available.
	badBecomesReady.Store(true)
	fixture.Resync()
	waitForReplicaSet(ctx, t, bad, 1)

	// Deleting a ReplicaSet: the garbage collector deletes its pods, the fixture finishes them.
	if err := env.Client.Delete(ctx, web, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the pods of the deleted ReplicaSet gone", func(ctx context.Context) (bool, string, error) {
		list := &corev1.PodList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"app": "web"}); err != nil {
			return false, "", err
		}
		return len(list.Items) == 0, fmt.Sprintf("%d pods", len(list.Items)), nil
	})
}

// TestControllerManagerSharesServiceAccountKey: the token controller signs a legacy
// service-account token with the key kube-controller-manager was given, and the API server
// accepts it, so both use the same key.
func TestControllerManagerSharesServiceAccountKey(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(ctx, t, "sa")
	waitFor(ctx, t, "the default ServiceAccount in "+ns, func(ctx context.Context) (bool, string, error) {
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, "", err
	})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "default-token", Namespace: ns,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"},
		},
		Type: corev1.SecretTypeServiceAccountToken,
	}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the token controller filling "+secret.Name, func(ctx context.Context) (bool, string, error) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(secret), secret); err != nil {
			return false, "", err
		}
		return len(secret.Data[corev1.ServiceAccountTokenKey]) > 0, fmt.Sprintf("keys %d", len(secret.Data)), nil
	})

	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = string(secret.Data[corev1.ServiceAccountTokenKey])
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		if apierrors.IsUnauthorized(err) {
			t.Fatalf("the API server rejects a token signed by kube-controller-manager: %v", err)
		}
		t.Fatal(err)
	}
	if want := "system:serviceaccount:" + ns + ":default"; review.Status.UserInfo.Username != want {
		t.Errorf("token authenticates as %q; want %q", review.Status.UserInfo.Username, want)
	}
}
