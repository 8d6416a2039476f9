package controller

import (
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestMergeConditionsKeepsTransitionTimeOfUnchangedStatus(t *testing.T) {
	old := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	prev := []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, LastTransitionTime: old, ObservedGeneration: 1},
		{Type: "Programmed", Status: metav1.ConditionFalse, LastTransitionTime: old},
	}
	next := []metav1.Condition{
		{Type: "Accepted", Status: metav1.ConditionTrue, LastTransitionTime: now, ObservedGeneration: 2},
		{Type: "Programmed", Status: metav1.ConditionTrue, LastTransitionTime: now},
	}
	got := mergeConditions(prev, next)
	if !got[0].LastTransitionTime.Equal(&old) || got[0].ObservedGeneration != 2 {
		t.Errorf("unchanged status lost its transition time or took the old generation: %+v", got[0])
	}
	if !got[1].LastTransitionTime.Equal(&now) {
		t.Errorf("changed status kept the old transition time: %+v", got[1])
	}
}

func TestMergeParentsKeepsOtherControllers(t *testing.T) {
	other := gwv1.RouteParentStatus{ParentRef: gwv1.ParentReference{Name: "theirs"}, ControllerName: "example.com/other"}
	staleOurs := gwv1.RouteParentStatus{ParentRef: gwv1.ParentReference{Name: "removed"}, ControllerName: "aviary.dev/gw"}
	ours := gwv1.RouteParentStatus{ParentRef: gwv1.ParentReference{Name: "gw"}, ControllerName: "aviary.dev/gw"}
	got := mergeParents([]gwv1.RouteParentStatus{other, staleOurs}, []gwv1.RouteParentStatus{ours}, "aviary.dev/gw")
	if len(got) != 2 || got[0].ParentRef.Name != "theirs" || got[1].ParentRef.Name != "gw" {
		t.Errorf("merged parents: %+v", got)
	}
}

func TestIgnoreGone(t *testing.T) {
	gone := apierrors.NewNotFound(schema.GroupResource{Resource: "gateways"}, "x")
	if err := ignoreGone([]error{nil, gone}); err != nil {
		t.Errorf("not-found errors must be ignored, got %v", err)
	}
	boom := errors.New("boom")
	if err := ignoreGone([]error{gone, boom}); !errors.Is(err, boom) {
		t.Errorf("other errors must stay, got %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	o := NewOptions()
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for _, pool := range []string{"10.0.0.0/24", "nonsense", "127.0.0.1"} {
		o := NewOptions()
		o.AddressPool = pool
		if err := o.Validate(); err == nil {
			t.Errorf("--address-pool %q accepted", pool)
		}
	}
}
