package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// TestRefusedWriteIsReported: an admission policy refuses the controller's edit of the canary
// Service. The Rollout says so (the ApplyFailed condition and a Warning Event) instead of
// only retrying in its log, and goes on once the policy is gone.
func TestRefusedWriteIsReported(t *testing.T) {
	s := newScene(t, nil)
	s.service("shop-stable")
	s.service("shop-canary")
	s.create(shopRollout(5, walkCanary()))
	s.await(state{phase: v1alpha1.RolloutPhaseHealthy, step: 6, sizes: map[string]int32{"blue": 5}})

	name := "deny-canary-" + s.ns
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"services"}},
				},
			}}},
			Validations: []admissionv1.Validation{{
				Expression: fmt.Sprintf("object.metadata.namespace != '%s' || object.metadata.name != 'shop-canary'", s.ns),
				Message:    "the canary Service is frozen for this test",
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}
	if err := env.Client.Create(t.Context(), policy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(t.Context(), policy) })
	if err := env.Client.Create(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	awaitServiceFrozen(t, s.ns, "shop-canary")

	s.setImage("argoproj/rollouts-demo:green")
	deadline := time.Now().Add(90 * time.Second)
	for {
		ro := s.rollout()
		c := findRolloutCondition(ro, plan.RolloutApplyFailed)
		if c != nil && strings.Contains(c.Message, "the canary Service is frozen for this test") && s.events.count(plan.ReasonApplyFailed) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ApplyFailed report: condition %+v, %d events (%s)", c, s.events.count(plan.ReasonApplyFailed), s.describe())
		}
		time.Sleep(200 * time.Millisecond)
	}

	if err := env.Client.Delete(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	s.await(state{phase: v1alpha1.RolloutPhasePaused, message: "CanaryPauseStep", step: 1, sizes: map[string]int32{"blue": 4, "green": 1}})
	if c := findRolloutCondition(s.rollout(), plan.RolloutApplyFailed); c != nil {
		t.Fatalf("the ApplyFailed condition stayed after the write went through: %+v", c)
	}
	if s.selector("shop-canary") != "green" {
		t.Fatalf("the canary Service selects %s, want green", s.selector("shop-canary"))
	}
}

// awaitServiceFrozen waits until the admission policy refuses an update of the Service (a
// policy takes effect a moment after it is created), probing with dry-run updates.
func awaitServiceFrozen(t *testing.T, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		svc := &corev1.Service{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
			t.Fatal(err)
		}
		svc.Labels = map[string]string{"probe": "yes"}
		err := env.Client.Update(t.Context(), svc, client.DryRunAll)
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admission policy does not refuse updates of Service %s: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
