package localnode

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// envSources looks up the ConfigMaps and Secrets that env and envFrom refer to.
type envSources interface {
	ConfigMap(namespace, name string) (*corev1.ConfigMap, error)
	Secret(namespace, name string) (*corev1.Secret, error)
}

// podFacts are the run-time values the downward API exposes beyond the pod object.
type podFacts struct {
	PodIP  string
	HostIP string
}

// ResolveEnv computes a container's environment like the kubelet: envFrom first, then env in
// order, each value's $(VAR) references expanded against the variables defined before it.
// A missing non-optional ConfigMap, Secret or key is an error naming it.
func resolveEnv(pod *corev1.Pod, c *corev1.Container, facts podFacts, src envSources) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if err := addEnvFrom(env, pod.Namespace, from, src); err != nil {
			return nil, err
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expandEnv(e.Value, env)
			continue
		}
		v, ok, err := envValueFrom(pod, c, e, facts, src)
		if err != nil {
			return nil, fmt.Errorf("env %s of container %s: %w", e.Name, c.Name, err)
		}
		if ok {
			env[e.Name] = v
		}
	}
	return env, nil
}

func addEnvFrom(env map[string]string, ns string, from corev1.EnvFromSource, src envSources) error {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := src.ConfigMap(ns, from.ConfigMapRef.Name)
		if err != nil {
			if isOptional(from.ConfigMapRef.Optional) {
				return nil
			}
			return fmt.Errorf("envFrom ConfigMap %s/%s: %w", ns, from.ConfigMapRef.Name, err)
		}
		for k, v := range cm.Data {
			env[from.Prefix+k] = v
		}
	case from.SecretRef != nil:
		s, err := src.Secret(ns, from.SecretRef.Name)
		if err != nil {
			if isOptional(from.SecretRef.Optional) {
				return nil
			}
			return fmt.Errorf("envFrom Secret %s/%s: %w", ns, from.SecretRef.Name, err)
		}
		for k, v := range s.Data {
			env[from.Prefix+k] = string(v)
		}
	}
	return nil
}

// envValueFrom resolves one valueFrom; ok is false when an optional source is missing.
func envValueFrom(pod *corev1.Pod, c *corev1.Container, e corev1.EnvVar, facts podFacts, src envSources) (string, bool, error) {
	vf := e.ValueFrom
	switch {
	case vf.FieldRef != nil:
		v, err := fieldValue(pod, vf.FieldRef.FieldPath, facts)
		return v, err == nil, err
	case vf.ResourceFieldRef != nil:
		return resourceValue(c, vf.ResourceFieldRef), true, nil
	case vf.ConfigMapKeyRef != nil:
		ref := vf.ConfigMapKeyRef
		cm, err := src.ConfigMap(pod.Namespace, ref.Name)
		if err != nil {
			return "", false, optionalMissing(ref.Optional, fmt.Errorf("ConfigMap %s/%s: %w", pod.Namespace, ref.Name, err))
		}
		v, found := cm.Data[ref.Key]
		if !found {
			return "", false, optionalMissing(ref.Optional, fmt.Errorf("ConfigMap %s/%s has no key %q", pod.Namespace, ref.Name, ref.Key))
		}
		return v, true, nil
	case vf.SecretKeyRef != nil:
		ref := vf.SecretKeyRef
		s, err := src.Secret(pod.Namespace, ref.Name)
		if err != nil {
			return "", false, optionalMissing(ref.Optional, fmt.Errorf("Secret %s/%s: %w", pod.Namespace, ref.Name, err))
		}
		v, found := s.Data[ref.Key]
		if !found {
			return "", false, optionalMissing(ref.Optional, fmt.Errorf("Secret %s/%s has no key %q", pod.Namespace, ref.Name, ref.Key))
		}
		return string(v), true, nil
	}
	return "", false, nil
}

func optionalMissing(optional *bool, err error) error {
	if isOptional(optional) {
		return nil
	}
	return err
}

func isOptional(b *bool) bool { return b != nil && *b }

// fieldValue answers the downward API's fieldRef paths.
func fieldValue(pod *corev1.Pod, path string, facts podFacts) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return facts.PodIP, nil
	case "status.hostIP", "status.hostIPs":
		return facts.HostIP, nil
	}
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	return "", fmt.Errorf("fieldRef %q is not supported by the local node (supported: metadata.name, metadata.namespace, metadata.uid, metadata.labels['k'], metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP(s), status.hostIP(s))", path)
}

// subscript reads "prefix['key']".
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, "']")
}

// resourceValue answers resourceFieldRef from the container's limits, else its requests, else
// "0": the local node has no per-container allocatable figure to fall back on.
func resourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector) string {
	kind, name, _ := strings.Cut(ref.Resource, ".")
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, ok := list[corev1.ResourceName(name)]
	if !ok {
		q, ok = c.Resources.Requests[corev1.ResourceName(name)]
	}
	if !ok {
		return "0"
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == string(corev1.ResourceCPU) {
		// Like the kubelet: CPU rounds up to whole divisors.
		return fmt.Sprint((q.MilliValue() + divisor.MilliValue() - 1) / divisor.MilliValue())
	}
	return fmt.Sprint((q.Value() + divisor.Value() - 1) / divisor.Value())
}

// expandEnv replaces $(NAME) with NAME's value when defined, keeps unknown references as they
// are, and turns $$ into $, like the kubelet.
func expandEnv(s string, env map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
