package integration

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func (s *scene) run(name string) *v1alpha1.AnalysisRun {
	s.t.Helper()
	run := &v1alpha1.AnalysisRun{}
	if err := env.Client.Get(s.t.Context(), client.ObjectKey{Namespace: s.ns, Name: name}, run); err != nil {
		s.t.Fatal(err)
	}
	return run
}

// awaitRun waits (bounded) for a run's phase and message.
func (s *scene) awaitRun(name string, phase v1alpha1.AnalysisPhase, message string) *v1alpha1.AnalysisRun {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		run := s.run(name)
		if run.Status.Phase == phase && strings.Contains(run.Status.Message, message) {
			return run
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for run %s to be %s %q; it is %s %q", name, phase, message, run.Status.Phase, run.Status.Message)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func webRun(name, url string, tune func(*v1alpha1.AnalysisRun)) *v1alpha1.AnalysisRun {
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.AnalysisRunSpec{
			Args: []v1alpha1.Argument{{Name: "url", Value: ptr.To(url)}},
			Metrics: []v1alpha1.Metric{{
				Name: "success-rate", SuccessCondition: "result >= 0.95",
				Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: "{{args.url}}", JSONPath: "{$.data.successRate}"}},
			}},
		},
	}
	if tune != nil {
		tune(run)
	}
	return run
}

// TestAnalysisRunCannotStart: a run with a missing argument or a bad expression ends in Error
// at once, with a message naming the problem, without measuring.
func TestAnalysisRunCannotStart(t *testing.T) {
	s := newScene(t, nil)
	s.startAnalysisController()
	m := newMetricEndpoint(t, "0.99")
	s.create(webRun("missing-arg", m.srv.URL, func(r *v1alpha1.AnalysisRun) { r.Spec.Args[0].Value = nil }))
	s.create(webRun("bad-expression", m.srv.URL, func(r *v1alpha1.AnalysisRun) { r.Spec.Metrics[0].SuccessCondition = "result >=" }))
	s.create(webRun("missing-secret", m.srv.URL, func(r *v1alpha1.AnalysisRun) {
		r.Spec.Args[0].Value = nil
		r.Spec.Args[0].ValueFrom = &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "url"}}
	}))
	s.awaitRun("missing-arg", v1alpha1.AnalysisPhaseError, `argument "url" has no value`)
	s.awaitRun("bad-expression", v1alpha1.AnalysisPhaseError, `metric "success-rate": successCondition "result >="`)
	s.awaitRun("missing-secret", v1alpha1.AnalysisPhaseError, `argument "url": secret "creds" not found`)
	if m.hits.Load() != 0 {
		t.Errorf("runs that cannot start measured %d times", m.hits.Load())
	}
	// The phase change is an Event, as Argo's notification triggers expect.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list corev1.EventList
		if err := env.Client.List(t.Context(), &list, client.InNamespace(s.ns)); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range list.Items {
			found = found || (e.Reason == "AnalysisRunError" && e.InvolvedObject.Name == "missing-arg" && e.Type == corev1.EventTypeWarning)
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no AnalysisRunError Event for run missing-arg")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAnalysisRunSecretArgTerminateAndTTL: an argument from a Secret resolves; terminate ends
// an indefinite run as Successful "Run Terminated"; ttlStrategy then deletes it.
func TestAnalysisRunSecretArgTerminateAndTTL(t *testing.T) {
	s := newScene(t, nil)
	s.startAnalysisController()
	m := newMetricEndpoint(t, "0.99")
	s.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"}, StringData: map[string]string{"url": m.srv.URL}})
	s.create(webRun("forever", "", func(r *v1alpha1.AnalysisRun) {
		r.Spec.Args[0].Value = nil
		r.Spec.Args[0].ValueFrom = &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: "creds", Key: "url"}}
		r.Spec.Metrics[0].Interval = "1s"
		r.Spec.TTLStrategy = &v1alpha1.TTLStrategy{SecondsAfterSuccess: ptr.To[int32](2)}
	}))
	deadline := time.Now().Add(30 * time.Second)
	for m.hits.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the run measured %d times; it is %+v", m.hits.Load(), s.run("forever").Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	run := s.run("forever")
	if run.Status.Phase != v1alpha1.AnalysisPhaseRunning {
		t.Fatalf("indefinite run is %s", run.Status.Phase)
	}
	// A merge patch, as `terminate` sends: the controller writes the run's status every second,
	// so an update carrying the resourceVersion just read can lose that race.
	patch := client.MergeFrom(run.DeepCopy())
	run.Spec.Terminate = true
	if err := env.Client.Patch(t.Context(), run, patch); err != nil {
		t.Fatal(err)
	}
	s.awaitRun("forever", v1alpha1.AnalysisPhaseSuccessful, "Run Terminated")
	deadline = time.Now().Add(30 * time.Second)
	for {
		err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: s.ns, Name: "forever"}, &v1alpha1.AnalysisRun{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run outlived its 2s TTL: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// finishJobPods plays the kubelet's last word for Job pods: each one that runs exits with the
// given phase. The pod fixture leaves finished pods alone.
func (s *scene) finishJobPods(stop <-chan struct{}, phase corev1.PodPhase) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		var pods corev1.PodList
		if err := env.Client.List(s.t.Context(), &pods, client.InNamespace(s.ns), client.HasLabels{"batch.kubernetes.io/job-name"}); err != nil {
			continue
		}
		for i := range pods.Items {
			pod := &pods.Items[i]
			if pod.Status.Phase != corev1.PodRunning {
				continue
			}
			code := int32(0)
			if phase == corev1.PodFailed {
				code = 1
			}
			pod.Status.Phase = phase
			now := metav1.Now()
			for j := range pod.Status.ContainerStatuses {
				cs := &pod.Status.ContainerStatuses[j]
				cs.Ready, cs.Started = false, ptr.To(false)
				cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, StartedAt: now, FinishedAt: now}}
			}
			for j := range pod.Status.Conditions {
				if pod.Status.Conditions[j].Type == corev1.PodReady || pod.Status.Conditions[j].Type == corev1.ContainersReady {
					pod.Status.Conditions[j].Status = corev1.ConditionFalse
				}
			}
			_ = env.Client.Status().Update(s.t.Context(), pod)
		}
	}
}

func jobRun(name string) *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.AnalysisRunSpec{Metrics: []v1alpha1.Metric{{
			Name: "smoke",
			Provider: v1alpha1.MetricProvider{Job: &v1alpha1.JobMetric{Spec: batchv1.JobSpec{
				BackoffLimit: ptr.To[int32](0),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "smoke", Image: "curlimages/curl", Command: []string{"curl", "-f", "http://shop"}}},
				}},
			}}},
		}}},
	}
}

// TestJobProvider runs real Jobs (kube-controller-manager's job controller makes their pods):
// a Job whose pod succeeds makes the run Successful, one whose pod fails makes it Failed.
func TestJobProvider(t *testing.T) {
	for _, tc := range []struct {
		podPhase corev1.PodPhase
		want     v1alpha1.AnalysisPhase
		message  string
	}{
		{corev1.PodSucceeded, v1alpha1.AnalysisPhaseSuccessful, ""},
		{corev1.PodFailed, v1alpha1.AnalysisPhaseFailed, `Metric "smoke" assessed Failed due to failed (1) > failureLimit (0)`},
	} {
		t.Run(string(tc.podPhase), func(t *testing.T) {
			s := newScene(t, nil)
			s.startAnalysisController()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { defer close(done); s.finishJobPods(stop, tc.podPhase) }()
			defer func() { close(stop); <-done }()

			s.create(jobRun("smoke"))
			run := s.awaitRun("smoke", tc.want, tc.message)
			meas := run.Status.MetricResults[0].Measurements
			if len(meas) != 1 || meas[0].Metadata["job-name"] == "" {
				t.Fatalf("measurements %+v", meas)
			}
			job := &batchv1.Job{}
			if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: s.ns, Name: meas[0].Metadata["job-name"]}, job); err != nil {
				t.Fatalf("the measurement's Job: %v", err)
			}
			if job.Labels["analysisrun.argoproj.io/name"] != "smoke" || !metav1.IsControlledBy(job, run) {
				t.Errorf("job labels %v owners %v", job.Labels, job.OwnerReferences)
			}
		})
	}
}
