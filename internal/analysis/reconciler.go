// Package analysis runs AnalysisRuns: it resolves a run's arguments, asks providers for
// measurements when they are due, and assesses metrics and the run the way Argo Rollouts does.
// The decisions (engine.go, assess.go) are pure; this file does the I/O around them.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/fieldpath"
	"github.com/aviary-dev/aviary/internal/analysis/provider"
	"github.com/aviary-dev/aviary/internal/analysis/provider/job"
	"github.com/aviary-dev/aviary/internal/analysis/provider/prometheus"
	"github.com/aviary-dev/aviary/internal/analysis/provider/web"
	aviaryevents "github.com/aviary-dev/aviary/internal/events"
	"github.com/aviary-dev/aviary/internal/rollout"
)

// DefaultRegistry holds the built-in providers. Adding one is a line here (or a Registry of
// one's own passed to the Reconciler); the reconciler never changes.
func DefaultRegistry() provider.Registry {
	return provider.Registry{
		prometheus.Name: prometheus.New,
		web.Name:        web.New,
		job.Name:        job.New,
	}
}

// Reconciler reconciles AnalysisRuns.
type Reconciler struct {
	Client client.Client
	// APIReader reads Secrets directly, so that no Secret is ever cached.
	APIReader client.Reader
	Registry  provider.Registry
	Clock     clock.PassiveClock
	// Recorder, when set, records an Event on each phase change ("AnalysisRunFailed", ...), the
	// reasons Argo Rollouts' notification triggers (on-analysis-run-failed, ...) key on.
	Recorder events.EventRecorder
	// Workers is the number of runs reconciled at once.
	Workers int
}

// SetupWithManager registers the reconciler; Jobs wake the run that owns them.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Registry == nil {
		r.Registry = DefaultRegistry()
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	workers := r.Workers
	if workers <= 0 {
		workers = 30
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.AnalysisRun{}).
		Owns(&batchv1.Job{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}

// Reconcile moves one run forward: measurements that are due, then the assessment.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	run := &v1alpha1.AnalysisRun{}
	if err := r.Client.Get(ctx, req.NamespacedName, run); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if run.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	now := r.Clock.Now()
	if run.Status.Phase.Completed() {
		return r.expire(ctx, run, now)
	}
	before := run.Status.DeepCopy()
	secrets := &redactor{}
	next, err := r.advance(ctx, run, now, secrets)
	retry := settle(run, err, secrets, now)
	if !equality.Semantic.DeepEqual(before, &run.Status) {
		if err := r.Client.Status().Update(ctx, run); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: 200 * time.Millisecond}, nil
			}
			return ctrl.Result{}, fmt.Errorf("writing the status of AnalysisRun %q: %w", run.Name, err)
		}
		r.recordPhase(run, before.Phase)
	}
	if retry != nil {
		// Returned, so that the controller retries with its backoff.
		return ctrl.Result{}, retry
	}
	if run.Status.Phase.Completed() {
		ctrl.LoggerFrom(ctx).Info("AnalysisRun completed", "phase", run.Status.Phase, "message", run.Status.Message)
		return r.expire(ctx, run, now)
	}
	return ctrl.Result{RequeueAfter: next}, nil
}

// advance resolves the run, takes due measurements and assesses it. An error means the run
// cannot go on (bad arguments, template or provider) and carries the reason, unless it is
// retryable: then the run only waits. The values of Secret arguments are added to secrets,
// which redacts them from what the measurements record.
func (r *Reconciler) advance(ctx context.Context, run *v1alpha1.AnalysisRun, now time.Time, secrets *redactor) (time.Duration, error) {
	if run.Status.StartedAt == nil {
		t := metav1.NewTime(now)
		run.Status.StartedAt = &t
		run.Status.Phase = v1alpha1.AnalysisPhaseRunning
	}
	metrics, err := r.resolve(ctx, run, secrets)
	if err != nil {
		return 0, err
	}
	providers := make(map[string]provider.Provider, len(metrics))
	deps := provider.Deps{Client: r.Client}
	for _, m := range metrics {
		p, err := r.Registry.For(deps, m)
		if err != nil {
			return 0, err
		}
		providers[m.Name] = p
	}
	due, next, err := Plan(run, metrics, now)
	if err != nil {
		return 0, err
	}
	for _, d := range due {
		if err := r.act(ctx, run, d, providers[d.Metric.Name], now, secrets); err != nil {
			return 0, err
		}
	}
	if err := Assess(run, metrics, now); err != nil {
		return 0, err
	}
	if len(due) > 0 && !run.Status.Phase.Completed() {
		// Measurements just taken set the next due time; plan again from the new state.
		if _, n, err := Plan(run, metrics, now); err == nil {
			next = n
		}
	}
	return next, nil
}

// act runs one provider action and records its observation, with the secrets redacted.
func (r *Reconciler) act(ctx context.Context, run *v1alpha1.AnalysisRun, d Due, p provider.Provider, now time.Time, secrets *redactor) error {
	var obs provider.Observation
	res := findResult(run, d.Metric.Name)
	switch d.Action {
	case Measure:
		obs = p.Measure(ctx, run, d.Metric)
	case Resume:
		obs = p.Resume(ctx, run, d.Metric, *lastMeasurement(res))
	case Terminate:
		obs = p.Terminate(ctx, run, d.Metric, *lastMeasurement(res))
	}
	obs = secrets.Observation(obs)
	retention, err := Retention(run, d.Metric.Name)
	if err != nil {
		return err
	}
	dry, err := DryRun(run, d.Metric.Name)
	if err != nil {
		return err
	}
	Record(run, d.Metric, d.Action, obs, now, retention, dry)
	if obs.Err != nil {
		ctrl.LoggerFrom(ctx).Info("Measurement failed", "metric", d.Metric.Name, "error", truncate(obs.Err.Error(), MaxStoredMessage))
	}
	if d.Action == Measure {
		if err := p.GarbageCollect(ctx, run, d.Metric, retention); err != nil {
			ctrl.LoggerFrom(ctx).Error(secrets.Error(err), "Garbage-collecting measurements", "metric", d.Metric.Name)
		}
	}
	return nil
}

// resolve gives the run's metrics their argument values and checks them; it adds the values
// read from Secrets to secrets.
func (r *Reconciler) resolve(ctx context.Context, run *v1alpha1.AnalysisRun, secrets *redactor) ([]v1alpha1.Metric, error) {
	values, err := ResolveArgs(run.Spec.Args, &clusterArgs{ctx: ctx, r: r, run: run, secrets: secrets})
	if err != nil {
		return nil, err
	}
	metrics, err := ResolveMetrics(run.Spec.Metrics, values)
	if err != nil {
		return nil, err
	}
	return metrics, Validate(run, metrics)
}

// recordPhase records an Event when the run's phase changed.
func (r *Reconciler) recordPhase(run *v1alpha1.AnalysisRun, before v1alpha1.AnalysisPhase) {
	phase := run.Status.Phase
	if r.Recorder == nil || phase == before || phase == "" {
		return
	}
	eventType := corev1.EventTypeNormal
	switch phase {
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
		eventType = corev1.EventTypeWarning
	}
	msg := fmt.Sprintf("Analysis Run %s", phase)
	if run.Status.Message != "" {
		msg += ": " + run.Status.Message
	}
	msg = truncate(msg, aviaryevents.MaxMessageBytes) // the events API refuses longer notes
	r.Recorder.Eventf(run, nil, eventType, "AnalysisRun"+string(phase), "Reconcile", "%s", msg)
}

// settle records in the run what an error of advance means, with the secrets redacted. A
// retryable error (the world did not answer, e.g. an API error reading a Secret) only becomes
// the run's message and is returned, to be retried; any other ends the run in Error.
func settle(run *v1alpha1.AnalysisRun, err error, secrets *redactor, now time.Time) (retry error) {
	switch {
	case err == nil:
		return nil
	case isRetryable(err):
		retry = secrets.Error(err)
		run.Status.Message = truncate(retry.Error(), MaxStoredMessage)
		return retry
	}
	fail(run, v1alpha1.AnalysisPhaseError, secrets.String(err.Error()), now)
	return nil
}

// fail ends a run that cannot go on.
func fail(run *v1alpha1.AnalysisRun, phase v1alpha1.AnalysisPhase, msg string, now time.Time) {
	st := &run.Status
	st.Phase, st.Message = phase, truncate(msg, MaxStoredMessage)
	if st.CompletedAt == nil {
		t := metav1.NewTime(now)
		st.CompletedAt = &t
	}
}

// expire deletes a completed run once its ttlStrategy says so.
func (r *Reconciler) expire(ctx context.Context, run *v1alpha1.AnalysisRun, now time.Time) (ctrl.Result, error) {
	at, ok := TTLExpiry(run)
	if !ok {
		return ctrl.Result{}, nil
	}
	if left := at.Sub(now); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	err := r.Client.Delete(ctx, run, client.Preconditions{UID: &run.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("deleting AnalysisRun %q after its TTL: %w", run.Name, err)
	}
	ctrl.LoggerFrom(ctx).Info("Deleted AnalysisRun after its TTL")
	return ctrl.Result{}, nil
}

// clusterArgs reads valueFrom arguments from the cluster; every Secret value it hands out is
// added to secrets.
type clusterArgs struct {
	ctx     context.Context
	r       *Reconciler
	run     *v1alpha1.AnalysisRun
	secrets *redactor
}

func (c *clusterArgs) Secret(name, key string) (string, error) {
	s := &corev1.Secret{}
	reader := c.r.APIReader
	if reader == nil {
		reader = c.r.Client
	}
	if err := reader.Get(c.ctx, client.ObjectKey{Namespace: c.run.Namespace, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("secret %q not found in namespace %q: create it, or fix args[].valueFrom.secretKeyRef", name, c.run.Namespace)
		}
		return "", retryable(fmt.Errorf("reading secret %q failed, retrying: %w", name, err))
	}
	v, ok := s.Data[key]
	if !ok {
		return "", fmt.Errorf("secret %q has no key %q: add it, or fix args[].valueFrom.secretKeyRef", name, key)
	}
	c.secrets.add(string(v))
	return string(v), nil
}

// Field reads a field of the Rollout that owns the run. (Rollouts resolve their own fieldRef
// arguments when they create a run; this serves runs created by hand with an owner.)
func (c *clusterArgs) Field(fieldPath string) (string, error) {
	for _, ref := range c.run.OwnerReferences {
		if ref.Kind != "Rollout" {
			continue
		}
		// Read unstructured and decoded on its own, as every Rollout read of the controller
		// is: a typed read would start a typed Rollout informer (see rollout.GetRollout).
		ro, err := rollout.GetRollout(c.ctx, c.r.Client, client.ObjectKey{Namespace: c.run.Namespace, Name: ref.Name})
		var undecodable *rollout.UndecodableError
		switch {
		case apierrors.IsNotFound(err):
			return "", fmt.Errorf("the owning Rollout %q was not found; give the argument a value instead", ref.Name)
		case errors.As(err, &undecodable):
			return "", fmt.Errorf("reading the owning Rollout %q: %w", ref.Name, err)
		case err != nil:
			return "", retryable(fmt.Errorf("reading the owning Rollout %q failed, retrying: %w", ref.Name, err))
		}
		return fieldpath.Value(ro, fieldPath)
	}
	return "", errors.New("valueFrom.fieldRef needs the run to be owned by a Rollout; give the argument a value instead")
}

// retryableError is a failure of the world around a run (an API server that did not answer),
// not of the run itself: the run stays as it is and the reconcile is retried.
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

// retryable marks err as worth retrying.
func retryable(err error) error { return retryableError{err: err} }

// isRetryable reports whether err, or an error it wraps, is marked retryable.
func isRetryable(err error) bool {
	var r retryableError
	return errors.As(err, &r)
}
