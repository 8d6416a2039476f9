package rollout

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// storedRollout is a Rollout as the API server may hold it, built from plain JSON values.
func storedRollout(name string, spec map[string]any) *unstructured.Unstructured {
	u := NewUnstructuredRollout()
	u.SetNamespace("shop")
	u.SetName(name)
	u.Object["spec"] = spec
	return u
}

// TestListRolloutsSeparatesUndecodable: a Rollout whose numbers do not fit the Go types is
// returned apart, naming the field, and the others are still listed. A replica count of 3e9
// must be refused rather than read as a negative int32, as DefaultUnstructuredConverter would.
func TestListRolloutsSeparatesUndecodable(t *testing.T) {
	// The fake client would decode objects of a kind its scheme knows; the API server and the
	// unstructured cache keep them as stored.
	scheme := runtime.NewScheme()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		storedRollout("good", map[string]any{"replicas": int64(3)}),
		storedRollout("pause", map[string]any{"strategy": map[string]any{"canary": map[string]any{
			"steps": []any{map[string]any{"pause": map[string]any{"duration": int64(3000000000)}}}}}}),
		storedRollout("replicas", map[string]any{"replicas": int64(3000000000)}),
	).Build()

	good, bad, err := ListRollouts(t.Context(), c, client.InNamespace("shop"))
	if err != nil {
		t.Fatal(err)
	}
	if len(good) != 1 || good[0].Name != "good" || *good[0].Spec.Replicas != 3 {
		t.Errorf("decodable Rollouts: %+v", good)
	}
	wantField := map[string]string{"pause": "spec.strategy.canary.steps.pause.duration", "replicas": "spec.replicas"}
	if len(bad) != len(wantField) {
		t.Fatalf("undecodable Rollouts: %v", bad)
	}
	for _, b := range bad {
		if !strings.Contains(b.Error(), wantField[b.Key().Name]+" of type int32") {
			t.Errorf("%s: error %q does not name %s", b.Key(), b.Error(), wantField[b.Key().Name])
		}
	}

	_, err = GetRollout(t.Context(), c, client.ObjectKey{Namespace: "shop", Name: "replicas"})
	if u, ok := errors.AsType[*UndecodableError](err); !ok || u.Object.GetName() != "replicas" {
		t.Errorf("GetRollout of an undecodable Rollout: %v", err)
	}
	ro, err := GetRollout(t.Context(), c, client.ObjectKey{Namespace: "shop", Name: "good"})
	if err != nil || ro.Name != "good" || ro.Kind != "Rollout" {
		t.Errorf("GetRollout: %+v, %v", ro, err)
	}
}
