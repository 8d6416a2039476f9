package rollout

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// PodTemplateHash identifies a pod template. collisionCount changes it when two different
// templates hash alike, as Deployments do.
func PodTemplateHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	// encoding/json writes struct fields in declaration order and map keys sorted, so equal
	// templates always encode, and hash, alike.
	b, err := json.Marshal(template)
	if err != nil {
		b = []byte(fmt.Sprintf("%#v", template))
	}
	_, _ = h.Write(b)
	if collisionCount != nil {
		_, _ = h.Write([]byte(strconv.Itoa(int(*collisionCount))))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// newReplicaSet builds the ReplicaSet for the Rollout's current template, with no pods yet:
// the plan decides how many it gets.
func newReplicaSet(ro *v1alpha1.Rollout, hash string, revision int64) *appsv1.ReplicaSet {
	template := ro.Spec.Template.DeepCopy()
	if template.Labels == nil {
		template.Labels = map[string]string{}
	}
	template.Labels[v1alpha1.PodTemplateHashLabel] = hash
	selector := ro.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[v1alpha1.PodTemplateHashLabel] = hash
	labels := map[string]string{v1alpha1.PodTemplateHashLabel: hash}
	for k, v := range ro.Spec.Template.Labels {
		labels[k] = v
	}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            ro.Name + "-" + hash,
			Namespace:       ro.Namespace,
			Labels:          labels,
			Annotations:     map[string]string{v1alpha1.RevisionAnnotation: strconv.FormatInt(revision, 10)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        ptr.To[int32](0),
			MinReadySeconds: ro.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        *template,
		},
	}
}
