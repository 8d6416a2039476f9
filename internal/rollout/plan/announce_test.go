package plan

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func TestAnnounceWritesNamesEachChange(t *testing.T) {
	rs := func(name string, replicas int32) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{v1alpha1.PodTemplateHashLabel: name}, Annotations: map[string]string{v1alpha1.RevisionAnnotation: "2"}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas)}}
	}
	o := Observed{Rollout: &v1alpha1.Rollout{}, NewRS: rs("new", 0), StableRS: rs("old", 3),
		Services: map[string]*corev1.Service{"canary": {Spec: corev1.ServiceSpec{Selector: map[string]string{v1alpha1.PodTemplateHashLabel: "old"}}}}}
	o.OldRSs = []*appsv1.ReplicaSet{o.StableRS}
	p := newPlan(o.Rollout)
	p.Replicas = map[string]int32{"new": 1, "old": 3}
	p.Selectors = map[string]string{"canary": "new"}
	p.Analysis.Create = []*v1alpha1.AnalysisRun{{ObjectMeta: metav1.ObjectMeta{Name: "run-1"}}}
	announceWrites(&p, o)
	want := []string{
		"ScalingReplicaSet: Scaled up ReplicaSet new (revision 2) from 0 to 1",
		"SwitchService: Switched selector for service 'canary' from 'old' to 'new'",
		"AnalysisRunCreated: Created AnalysisRun run-1",
	}
	if len(p.Events) != len(want) {
		t.Fatalf("events %v, want %v", p.Events, want)
	}
	for i, e := range p.Events {
		if got := e.Reason + ": " + e.Message; got != want[i] {
			t.Errorf("event %d: %q, want %q", i, got, want[i])
		}
	}
}
