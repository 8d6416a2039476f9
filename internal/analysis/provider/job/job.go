// Package job measures a metric by running a Kubernetes Job (Argo's `job` provider): the
// measurement succeeds when the Job completes and fails when the Job fails.
package job

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/provider"
)

// Name is the provider's key under metric.provider.
const Name = "job"

// Labels put on every Job, as Argo Rollouts does, so that a run's Jobs can be found.
const (
	RunUIDLabel     = "analysisrun.argoproj.io/uid"
	RunNameLabel    = "analysisrun.argoproj.io/name"
	MetricNameLabel = "analysisrun.argoproj.io/metric-name"
	// JobNameKey is the measurement metadata key holding the Job's name.
	JobNameKey = "job-name"
)

// Provider runs one Job per measurement.
type Provider struct {
	client client.Client
	spec   v1alpha1.JobMetric
}

// New is the job provider's factory.
func New(deps provider.Deps, metric v1alpha1.Metric) (provider.Provider, error) {
	if deps.Client == nil {
		return nil, fmt.Errorf("the job provider needs a Kubernetes client")
	}
	if len(metric.Provider.Job.Spec.Template.Spec.Containers) == 0 {
		return nil, fmt.Errorf("metric %q: job.spec.template.spec.containers is empty", metric.Name)
	}
	return &Provider{client: deps.Client, spec: *metric.Provider.Job}, nil
}

// Measure creates the measurement's Job; an existing Job of that name (created before a
// controller restart) is adopted, so a measurement never runs twice.
func (p *Provider) Measure(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) provider.Observation {
	job := p.newJob(run, metric)
	err := p.client.Create(ctx, job)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return provider.Observation{Err: fmt.Errorf("creating Job %q: %w", job.Name, err)}
	}
	return provider.Observation{Phase: v1alpha1.AnalysisPhaseRunning, Metadata: map[string]string{JobNameKey: job.Name}}
}

// Resume reads the Job's conditions.
func (p *Provider) Resume(ctx context.Context, run *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) provider.Observation {
	name := m.Metadata[JobNameKey]
	job := &batchv1.Job{}
	err := p.client.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: name}, job)
	if apierrors.IsNotFound(err) {
		return provider.Observation{Err: fmt.Errorf("Job %q of this measurement was deleted", name), Metadata: m.Metadata} //nolint:staticcheck // Job is a kind name
	}
	if err != nil {
		return provider.Observation{Err: fmt.Errorf("reading Job %q: %w", name, err), Metadata: m.Metadata}
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return provider.Observation{Phase: v1alpha1.AnalysisPhaseSuccessful, Metadata: m.Metadata}
		case batchv1.JobFailed:
			msg := fmt.Sprintf("Job %q failed", name)
			if c.Message != "" {
				msg += ": " + c.Message
			}
			return provider.Observation{Phase: v1alpha1.AnalysisPhaseFailed, Message: msg, Metadata: m.Metadata}
		}
	}
	return provider.Observation{Phase: v1alpha1.AnalysisPhaseRunning, Metadata: m.Metadata}
}

// Terminate deletes the measurement's Job and its pods.
func (p *Provider) Terminate(ctx context.Context, run *v1alpha1.AnalysisRun, _ v1alpha1.Metric, m v1alpha1.Measurement) provider.Observation {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: run.Namespace, Name: m.Metadata[JobNameKey]}}
	err := p.client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return provider.Observation{Err: fmt.Errorf("deleting Job %q: %w", job.Name, err), Metadata: m.Metadata}
	}
	return provider.Observation{Phase: v1alpha1.AnalysisPhaseSuccessful, Message: "Metric Terminated", Metadata: m.Metadata}
}

// GarbageCollect deletes the metric's oldest Jobs beyond limit.
func (p *Provider) GarbageCollect(ctx context.Context, run *v1alpha1.AnalysisRun, metric v1alpha1.Metric, limit int) error {
	var list batchv1.JobList
	if err := p.client.List(ctx, &list, client.InNamespace(run.Namespace),
		client.MatchingLabels{RunUIDLabel: string(run.UID), MetricNameLabel: labelValue(metric.Name)}); err != nil {
		return fmt.Errorf("listing the Jobs of metric %q: %w", metric.Name, err)
	}
	jobs := list.Items
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].CreationTimestamp.Before(&jobs[j].CreationTimestamp) })
	for i := 0; i < len(jobs)-limit; i++ {
		err := p.client.Delete(ctx, &jobs[i], client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting Job %q: %w", jobs[i].Name, err)
		}
	}
	return nil
}

// newJob builds the Job of the next measurement. Its name is fixed by the run, the metric and
// the measurement's ordinal, which makes creating it idempotent.
func (p *Provider) newJob(run *v1alpha1.AnalysisRun, metric v1alpha1.Metric) *batchv1.Job {
	ordinal := int32(1)
	for _, r := range run.Status.MetricResults {
		if r.Name == metric.Name {
			ordinal = r.Count + r.Error + 1
		}
	}
	labels := map[string]string{
		RunUIDLabel:     string(run.UID),
		RunNameLabel:    labelValue(run.Name),
		MetricNameLabel: labelValue(metric.Name),
	}
	var annotations map[string]string
	if md := p.spec.Metadata; md != nil {
		for k, v := range md.Labels {
			labels[k] = v
		}
		annotations = md.Annotations
	}
	spec := *p.spec.Spec.DeepCopy()
	if spec.Template.Spec.RestartPolicy == "" {
		spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:        jobName(run, metric.Name, ordinal),
			Namespace:   run.Namespace,
			Labels:      labels,
			Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "AnalysisRun",
				Name: run.Name, UID: run.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: spec,
	}
}

// jobName is "<run uid>.<metric>.<ordinal>" as in Argo Rollouts, with the metric name hashed
// when the whole would not fit the 63 characters a Job name may have (it becomes a label).
func jobName(run *v1alpha1.AnalysisRun, metric string, ordinal int32) string {
	name := fmt.Sprintf("%s.%s.%d", run.UID, metric, ordinal)
	if len(name) <= 63 {
		return name
	}
	return fmt.Sprintf("%s.%s.%d", run.UID, hashed(metric), ordinal)
}

// labelValue keeps a name usable as a label value (at most 63 characters).
func labelValue(s string) string {
	if len(s) <= 63 {
		return s
	}
	return s[:54] + "-" + hashed(s)
}

func hashed(s string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}
