package localnode

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

type fakeSources struct {
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
}

func (f fakeSources) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	if cm, ok := f.configMaps[ns+"/"+name]; ok {
		return cm, nil
	}
	return nil, errors.New("not found")
}

func (f fakeSources) Secret(ns, name string) (*corev1.Secret, error) {
	if s, ok := f.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, errors.New("not found")
}

func fieldRef(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
}

func TestResolveEnvLikeTheKubelet(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", UID: "u1", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "aviary-local", ServiceAccountName: "default"},
	}
	c := &corev1.Container{
		Name:      "app",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}},
		EnvFrom:   []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		Env: []corev1.EnvVar{
			{Name: "POD_NAME", ValueFrom: fieldRef("metadata.name")},
			{Name: "NAMESPACE", ValueFrom: fieldRef("metadata.namespace")},
			{Name: "POD_IP", ValueFrom: fieldRef("status.podIP")},
			{Name: "NODE", ValueFrom: fieldRef("spec.nodeName")},
			{Name: "APP", ValueFrom: fieldRef("metadata.labels['app']")},
			{Name: "URL", Value: "http://$(POD_IP):8080/$(UNKNOWN)/$$(POD_NAME)"},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "pw"}}},
			{Name: "MAYBE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Key: "k", Optional: ptr.To(true)}}},
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1m")}}},
		},
	}
	src := fakeSources{
		configMaps: map[string]*corev1.ConfigMap{"shop/cfg": {Data: map[string]string{"COLOR": "blue"}}},
		secrets:    map[string]*corev1.Secret{"shop/s": {Data: map[string][]byte{"pw": []byte("hunter2")}}},
	}
	env, err := resolveEnv(pod, c, podFacts{PodIP: "127.1.0.7", HostIP: "127.0.0.1"}, src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"CM_COLOR": "blue", "POD_NAME": "web-1", "NAMESPACE": "shop", "POD_IP": "127.1.0.7", "NODE": "aviary-local",
		"APP": "web", "URL": "http://127.1.0.7:8080/$(UNKNOWN)/$(POD_NAME)", "PASSWORD": "hunter2", "CPU": "250",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["MAYBE"]; ok {
		t.Error("optional missing ConfigMap key produced a variable")
	}
}

func TestResolveEnvNamesWhatIsMissing(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"}}
	c := &corev1.Container{Name: "app", Env: []corev1.EnvVar{
		{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "k"}}},
	}}
	_, err := resolveEnv(pod, c, podFacts{}, fakeSources{})
	if err == nil || !strings.Contains(err.Error(), "Secret shop/creds") || !strings.Contains(err.Error(), "env X") {
		t.Errorf("err = %v, want it to name env X and Secret shop/creds", err)
	}
	c.Env = []corev1.EnvVar{{Name: "Y", ValueFrom: fieldRef("status.nonsense")}}
	if _, err := resolveEnv(pod, c, podFacts{}, fakeSources{}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("unsupported fieldRef: err = %v", err)
	}
}
