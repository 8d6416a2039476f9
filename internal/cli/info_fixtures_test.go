package cli

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// fixtureNow is the fake clock of the view tests.
var fixtureNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(fixtureNow.Add(-d)) }

func fxMeta(name, uid string, age time.Duration, owner client.Object, kind string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(uid), CreationTimestamp: ago(age)}
	if owner != nil {
		m.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: kind, Name: owner.GetName(),
			UID: owner.GetUID(), Controller: ptr.To(true),
		}}
	}
	return m
}

func fxRollout(name string, replicas int32) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: fxMeta(name, name+"-uid", 7*24*time.Hour, nil, ""),
		Spec: v1alpha1.RolloutSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
		},
	}
}

func fxReplicaSet(ro client.Object, owner client.Object, ownerKind, hash string, revision int, image string,
	replicas, available int32, age time.Duration) *appsv1.ReplicaSet {
	app := ro.GetName()
	rs := &appsv1.ReplicaSet{
		ObjectMeta: fxMeta(app+"-"+hash, app+"-"+hash+"-uid", age, owner, ownerKind),
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app, v1alpha1.PodTemplateHashLabel: hash}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app, v1alpha1.PodTemplateHashLabel: hash}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: image}}},
			},
		},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available},
	}
	rs.Labels = map[string]string{"app": app, v1alpha1.PodTemplateHashLabel: hash}
	rs.Annotations = map[string]string{v1alpha1.RevisionAnnotation: fmt.Sprint(revision)}
	return rs
}

// fxPod is a one-container pod of rs; waiting is a container waiting reason ("" = running).
func fxPod(rs *appsv1.ReplicaSet, suffix string, ready bool, waiting string, restarts int32, age time.Duration) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: fxMeta(rs.Name+"-"+suffix, rs.Name+"-"+suffix+"-uid", age, rs, "ReplicaSet"),
		Spec:       corev1.PodSpec{Containers: rs.Spec.Template.Spec.Containers},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	p.OwnerReferences[0].APIVersion = "apps/v1"
	p.Labels = rs.Spec.Template.Labels
	cs := corev1.ContainerStatus{Name: rs.Spec.Template.Spec.Containers[0].Name, Ready: ready, RestartCount: restarts}
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	if waiting != "" {
		p.Status.Phase = corev1.PodPending
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: waiting}
	} else {
		cs.State.Running = &corev1.ContainerStateRunning{}
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}}
	return p
}

func fxAnalysisRun(name string, owner client.Object, kind string, revision int, phase v1alpha1.AnalysisPhase,
	ok, failed int32, age time.Duration) *v1alpha1.AnalysisRun {
	ar := &v1alpha1.AnalysisRun{
		ObjectMeta: fxMeta(name, name+"-uid", age, owner, kind),
		Status: v1alpha1.AnalysisRunStatus{Phase: phase,
			RunSummary: v1alpha1.RunSummary{Count: ok + failed, Successful: ok, Failed: failed}},
	}
	if revision > 0 {
		ar.Annotations = map[string]string{v1alpha1.RevisionAnnotation: fmt.Sprint(revision)}
	}
	return ar
}

// fxCanaryMidUpdate is a canary at step 1 of 6 (paused after setWeight 20), with 2 revisions:
// 1 canary pod of 5, an Experiment and a running AnalysisRun on revision 2.
func fxCanaryMidUpdate() []client.Object {
	ro := fxRollout("canary-demo", 5)
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](20)}, {Pause: &v1alpha1.RolloutPause{}},
		{SetWeight: ptr.To[int32](40)}, {Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("10s"))}},
		{SetWeight: ptr.To[int32](80)}, {Pause: &v1alpha1.RolloutPause{Duration: ptr.To(intstr.FromString("10s"))}},
	}}
	ro.Status = v1alpha1.RolloutStatus{
		Phase: v1alpha1.RolloutPhasePaused, Message: "CanaryPauseStep", CurrentStepIndex: ptr.To[int32](1),
		CurrentPodHash: "6cbccd9f99", StableRS: "877894d5b",
		Replicas: 5, UpdatedReplicas: 1, ReadyReplicas: 5, AvailableReplicas: 5,
		PauseConditions: []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: ago(2 * time.Minute)}},
	}
	canary := fxReplicaSet(ro, ro, "Rollout", "6cbccd9f99", 2, "argoproj/rollouts-demo:yellow", 1, 1, 3*time.Minute)
	stable := fxReplicaSet(ro, ro, "Rollout", "877894d5b", 1, "argoproj/rollouts-demo:blue", 4, 4, 7*24*time.Hour)
	objs := []client.Object{ro, canary, stable,
		fxPod(canary, "x7wlt", true, "", 0, 3*time.Minute),
		fxPod(stable, "2n8qf", true, "", 0, 7*24*time.Hour),
		fxPod(stable, "7kqcz", true, "", 2, 7*24*time.Hour),
		fxPod(stable, "bv9ww", true, "", 0, 7*24*time.Hour),
		fxPod(stable, "q5xzn", true, "", 0, 7*24*time.Hour),
		fxAnalysisRun("canary-demo-6cbccd9f99-2", ro, "Rollout", 2, v1alpha1.AnalysisPhaseRunning, 1, 0, 2*time.Minute),
	}
	ex := &v1alpha1.Experiment{
		ObjectMeta: fxMeta("canary-demo-6cbccd9f99-2-0", "exp-uid", 3*time.Minute, ro, "Rollout"),
		Status:     v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseSuccessful},
	}
	ex.Annotations = map[string]string{v1alpha1.RevisionAnnotation: "2"}
	exRS := fxReplicaSet(ro, ex, "Experiment", "baseline", 0, "argoproj/rollouts-demo:blue", 0, 0, 3*time.Minute)
	exRS.Name = "canary-demo-6cbccd9f99-2-0-baseline"
	exRS.Labels = map[string]string{"app": "canary-demo-exp"}
	exAR := fxAnalysisRun("canary-demo-6cbccd9f99-2-0-compare", ex, "Experiment", 0, v1alpha1.AnalysisPhaseSuccessful, 2, 0, 3*time.Minute)
	return append(objs, ex, exRS, exAR)
}

// fxBlueGreenPreview is a blue-green rollout paused with revision 2 in preview.
func fxBlueGreenPreview() []client.Object {
	ro := fxRollout("bluegreen-demo", 2)
	ro.Spec.Strategy.BlueGreen = &v1alpha1.BlueGreenStrategy{
		ActiveService: "bluegreen-demo", PreviewService: "bluegreen-demo-preview", AutoPromotionEnabled: ptr.To(false)}
	ro.Status = v1alpha1.RolloutStatus{
		Phase: v1alpha1.RolloutPhasePaused, Message: "BlueGreenPause",
		CurrentPodHash: "6779f5d8b8", StableRS: "74b948fccb",
		Replicas: 4, UpdatedReplicas: 2, ReadyReplicas: 4, AvailableReplicas: 2,
		BlueGreen: v1alpha1.BlueGreenStatus{ActiveSelector: "74b948fccb", PreviewSelector: "6779f5d8b8"},
	}
	preview := fxReplicaSet(ro, ro, "Rollout", "6779f5d8b8", 2, "argoproj/rollouts-demo:green", 2, 2, 90*time.Second)
	active := fxReplicaSet(ro, ro, "Rollout", "74b948fccb", 1, "argoproj/rollouts-demo:blue", 2, 2, 15*time.Minute)
	return []client.Object{ro, preview, active,
		fxPod(preview, "lfjzd", true, "", 0, 90*time.Second),
		fxPod(preview, "wrsqp", true, "", 0, 90*time.Second),
		fxPod(active, "hmk4t", true, "", 0, 15*time.Minute),
		fxPod(active, "ztpnf", true, "", 0, 15*time.Minute),
	}
}

// fxDegradedAborted is a canary aborted after its analysis failed on revision 3: the canary pod
// cannot pull its image and its ReplicaSet waits 30s to scale down; revision 1 is scaled down.
func fxDegradedAborted() []client.Object {
	ro := fxRollout("canary-abort", 3)
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](50)}, {Analysis: &v1alpha1.RolloutAnalysis{}}, {Pause: &v1alpha1.RolloutPause{}},
	}}
	ro.Status = v1alpha1.RolloutStatus{
		Phase: v1alpha1.RolloutPhaseDegraded, Abort: true, AbortedAt: ptr.To(ago(time.Minute)),
		Message:        `RolloutAborted: Rollout aborted update to revision 3: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)`,
		CurrentPodHash: "65fb5ffc84", StableRS: "5d7b9c6f4d", CurrentStepIndex: ptr.To[int32](0),
		Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 3, AvailableReplicas: 3,
	}
	canary := fxReplicaSet(ro, ro, "Rollout", "65fb5ffc84", 3, "argoproj/rollouts-demo:does-not-exist", 1, 0, 5*time.Minute)
	canary.Annotations[v1alpha1.ScaleDownDeadlineAnnotation] = fixtureNow.Add(30 * time.Second).Format(time.RFC3339)
	stable := fxReplicaSet(ro, ro, "Rollout", "5d7b9c6f4d", 2, "argoproj/rollouts-demo:green", 3, 3, 2*time.Hour)
	old := fxReplicaSet(ro, ro, "Rollout", "7f5d9b8c6a", 1, "argoproj/rollouts-demo:blue", 0, 0, 7*24*time.Hour)
	return []client.Object{ro, canary, stable, old,
		fxPod(canary, "9wf5r", false, "ImagePullBackOff", 0, 5*time.Minute),
		fxPod(stable, "8vzjm", true, "", 0, 2*time.Hour),
		fxPod(stable, "f2dgk", true, "", 1, 2*time.Hour),
		fxPod(stable, "tq6xl", false, "", 0, 30*time.Second),
		fxAnalysisRun("canary-abort-65fb5ffc84-3-1", ro, "Rollout", 3, v1alpha1.AnalysisPhaseFailed, 1, 1, 4*time.Minute),
		fxAnalysisRun("canary-abort-5d7b9c6f4d-2-1", ro, "Rollout", 2, v1alpha1.AnalysisPhaseSuccessful, 3, 0, 2*time.Hour),
	}
}

// fxObjects sorts fixture objects into the info layer's input.
func fxObjects(objs []client.Object) rolloutObjects {
	var in rolloutObjects
	for _, o := range objs {
		switch t := o.(type) {
		case *v1alpha1.Rollout:
			in.Rollout = t
		case *appsv1.ReplicaSet:
			in.ReplicaSets = append(in.ReplicaSets, *t)
		case *corev1.Pod:
			in.Pods = append(in.Pods, *t)
		case *v1alpha1.AnalysisRun:
			in.AnalysisRuns = append(in.AnalysisRuns, *t)
		case *v1alpha1.Experiment:
			in.Experiments = append(in.Experiments, *t)
		}
	}
	return in
}
