package cli

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func TestParseImageArg(t *testing.T) {
	for arg, want := range map[string][2]string{
		"web=nginx:1.25":            {"web", "nginx:1.25"},
		"*=nginx":                   {"*", "nginx"},
		"web=reg:5000/app@sha256:0": {"web", "reg:5000/app@sha256:0"},
	} {
		c, i, err := parseImageArg(arg)
		if err != nil || c != want[0] || i != want[1] {
			t.Errorf("%s: got %q %q %v", arg, c, i, err)
		}
	}
	for _, arg := range []string{"web", "web=", "=img", "a=b=c", ""} {
		if _, _, err := parseImageArg(arg); err == nil {
			t.Errorf("%q: want an error", arg)
		}
	}
}

func TestSetImagePatch(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "shop", ResourceVersion: "7"}}
	ro.Spec.Template = &corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: "busybox"}},
		Containers:     []corev1.Container{{Name: "web", Image: "web:v1"}, {Name: "sidecar", Image: "envoy:v1"}},
	}}
	for _, tc := range []struct{ container, want string }{
		{"web", `{"metadata":{"resourceVersion":"7"},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"img:v2","resources":{}},{"name":"sidecar","image":"envoy:v1","resources":{}}]}}}}`},
		{"init", `{"metadata":{"resourceVersion":"7"},"spec":{"template":{"spec":{"initContainers":[{"name":"init","image":"img:v2","resources":{}}]}}}}`},
		{"*", `{"metadata":{"resourceVersion":"7"},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"img:v2","resources":{}},{"name":"sidecar","image":"img:v2","resources":{}}],"initContainers":[{"name":"init","image":"img:v2","resources":{}}]}}}}`},
	} {
		got, err := setImagePatch(ro, tc.container, "img:v2")
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %s, %v\nwant %s", tc.container, got, err, tc.want)
		}
	}
	if ro.Spec.Template.Spec.Containers[0].Image != "web:v1" {
		t.Error("setImagePatch changed its input")
	}
	if _, err := setImagePatch(ro, "db", "img"); err == nil || err.Error() != `unable to find container named "db"` {
		t.Errorf("unknown container: %v", err)
	}
	if _, err := setImagePatch(&v1alpha1.Rollout{}, "*", "img"); err == nil {
		t.Error("workloadRef rollout: want an error")
	}
}
