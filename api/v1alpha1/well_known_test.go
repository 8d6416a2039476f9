package v1alpha1

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestHashAndRevisionOfReplicaSets(t *testing.T) {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
		Labels:      map[string]string{PodTemplateHashLabel: "abc"},
		Annotations: map[string]string{RevisionAnnotation: "12"},
	}}
	if HashOf(rs) != "abc" || RevisionOf(rs) != 12 {
		t.Fatalf("hash %q revision %d, want abc 12", HashOf(rs), RevisionOf(rs))
	}
	if HashOf(nil) != "" || RevisionOf(nil) != 0 {
		t.Fatal("a nil ReplicaSet has no hash and revision 0")
	}
	for _, bad := range []map[string]string{nil, {RevisionAnnotation: "x"}, {RevisionAnnotation: ""}} {
		if n := RevisionIn(bad); n != 0 {
			t.Errorf("RevisionIn(%v) = %d, want 0", bad, n)
		}
	}
}
