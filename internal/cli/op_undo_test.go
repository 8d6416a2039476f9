package cli

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func rsWithRevision(name, rev string) appsv1.ReplicaSet {
	rs := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if rev != "" {
		rs.Annotations = map[string]string{v1alpha1.RevisionAnnotation: rev}
	}
	return rs
}

func TestPickRevision(t *testing.T) {
	rss := []appsv1.ReplicaSet{
		rsWithRevision("r3", "3"), rsWithRevision("r1", "1"), rsWithRevision("r5", "5"),
		rsWithRevision("bad", "x"), rsWithRevision("r4", "4"),
	}
	for _, tc := range []struct {
		to      int64
		want    string
		wantRev int64
		err     string
	}{
		{to: 0, want: "r4", wantRev: 4},
		{to: 3, want: "r3", wantRev: 3},
		{to: 5, want: "r5", wantRev: 5},
		{to: 2, err: "unable to find specified revision 2 in history"},
	} {
		rs, rev, err := pickRevision("shop", rss, tc.to)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("to %d: got %v, want %q", tc.to, err, tc.err)
			}
		case err != nil || rs.Name != tc.want || rev != tc.wantRev:
			t.Errorf("to %d: got %v %d %v, want %s", tc.to, rs, rev, err, tc.want)
		}
	}
	if _, _, err := pickRevision("shop", rss[:1], 0); err == nil || err.Error() != `no revision found for rollout "shop"` {
		t.Errorf("one revision: %v", err)
	}
	if _, _, err := pickRevision("shop", nil, 0); err == nil {
		t.Error("no ReplicaSets: want an error")
	}
}

func TestUndoTemplate(t *testing.T) {
	rs := rsWithRevision("r1", "1")
	rs.Spec.Template = corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop", v1alpha1.PodTemplateHashLabel: "abc"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v1"}}},
	}
	got := undoTemplate(&rs)
	if len(got.Labels) != 1 || got.Labels["app"] != "shop" {
		t.Errorf("labels %v, want only app=shop", got.Labels)
	}
	if rs.Spec.Template.Labels[v1alpha1.PodTemplateHashLabel] != "abc" {
		t.Error("undoTemplate changed the ReplicaSet")
	}
	current := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "shop"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:v1"}}},
	}
	if !undoSameTemplate(current, &rs) {
		t.Error("same template up to the hash label: want a match")
	}
	current.Spec.Containers[0].Image = "web:v2"
	if undoSameTemplate(current, &rs) {
		t.Error("different image: want no match")
	}
}
