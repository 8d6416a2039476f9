package rollout

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// observeAnalysis reads the Rollout's AnalysisRuns and the templates its strategy refers to.
// A message means a template is missing: the spec cannot be run as written.
func (r *Reconciler) observeAnalysis(ctx context.Context, ro *v1alpha1.Rollout) (plan.AnalysisObserved, string, error) {
	out := plan.AnalysisObserved{Templates: map[string]*v1alpha1.AnalysisTemplateSpec{}}
	refs := plan.AnalysisTemplateRefs(ro)
	for len(refs) > 0 {
		ref := refs[0]
		refs = refs[1:]
		key := plan.TemplateKey(ref)
		if _, done := out.Templates[key]; done {
			continue
		}
		spec, msg, err := r.template(ctx, ro.Namespace, ref)
		if err != nil || msg != "" {
			return out, msg, err
		}
		out.Templates[key] = spec
		refs = append(refs, spec.Templates...)
	}
	if len(out.Templates) == 0 && !hasRunsToTidy(ro) {
		return out, "", nil
	}
	var list v1alpha1.AnalysisRunList
	if err := r.Client.List(ctx, &list, client.InNamespace(ro.Namespace)); err != nil {
		return out, "", fmt.Errorf("listing AnalysisRuns: %w", err)
	}
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], ro) {
			out.Runs = append(out.Runs, &list.Items[i])
		}
	}
	return out, "", nil
}

// hasRunsToTidy: the status still names runs (e.g. analysis was removed from the spec).
func hasRunsToTidy(ro *v1alpha1.Rollout) bool {
	st := ro.Status
	return st.Canary.CurrentStepAnalysisRunStatus != nil || st.Canary.CurrentBackgroundAnalysisRunStatus != nil ||
		st.BlueGreen.PrePromotionAnalysisRunStatus != nil || st.BlueGreen.PostPromotionAnalysisRunStatus != nil
}

func (r *Reconciler) template(ctx context.Context, ns string, ref v1alpha1.AnalysisTemplateRef) (*v1alpha1.AnalysisTemplateSpec, string, error) {
	if ref.ClusterScope {
		t := &v1alpha1.ClusterAnalysisTemplate{}
		err := r.Client.Get(ctx, client.ObjectKey{Name: ref.TemplateName}, t)
		if apierrors.IsNotFound(err) {
			return nil, fmt.Sprintf("ClusterAnalysisTemplate %q not found; create it or fix the templateName", ref.TemplateName), nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading ClusterAnalysisTemplate %q: %w", ref.TemplateName, err)
		}
		return &t.Spec, "", nil
	}
	t := &v1alpha1.AnalysisTemplate{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.TemplateName}, t)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Sprintf("AnalysisTemplate %q not found in namespace %q; create it, fix the templateName, or set clusterScope: true for a ClusterAnalysisTemplate", ref.TemplateName, ns), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading AnalysisTemplate %q: %w", ref.TemplateName, err)
	}
	return &t.Spec, "", nil
}

// createAnalysisRuns creates the planned runs before the status that names them is written.
// A run that already exists was created by an earlier reconcile (the cache had not seen it
// yet, or the controller restarted): it is the same run, not a conflict.
func (r *Reconciler) createAnalysisRuns(ctx context.Context, runs []*v1alpha1.AnalysisRun) error {
	for _, run := range runs {
		err := r.Client.Create(ctx, run)
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("creating AnalysisRun %q: %w", run.Name, err)
		}
	}
	return nil
}

// retireAnalysisRuns terminates and deletes runs, after the status no longer waits on them.
func (r *Reconciler) retireAnalysisRuns(ctx context.Context, ro *v1alpha1.Rollout, a plan.AnalysisPlan) error {
	for _, name := range a.Terminate {
		run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ro.Namespace, Name: name}}
		patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`))
		if err := r.Client.Patch(ctx, run, patch); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("terminating AnalysisRun %q: %w", name, err)
		}
	}
	for _, name := range a.Delete {
		run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Namespace: ro.Namespace, Name: name}}
		if err := r.Client.Delete(ctx, run); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting AnalysisRun %q beyond the history limit: %w", name, err)
		}
	}
	return nil
}

// rolloutsForTemplate maps a (cluster) analysis template event to the Rollouts that refer to
// it, so that creating a missing template un-sticks them at once.
func (r *Reconciler) rolloutsForTemplate(ctx context.Context, obj client.Object) []ctrl.Request {
	_, cluster := obj.(*v1alpha1.ClusterAnalysisTemplate)
	ns := obj.GetNamespace() // "" for a cluster template: Rollouts of every namespace
	return r.rolloutsInNamespace(ctx, ns, func(ro *v1alpha1.Rollout) bool {
		for _, ref := range plan.AnalysisTemplateRefs(ro) {
			if ref.TemplateName == obj.GetName() && ref.ClusterScope == cluster {
				return true
			}
		}
		return false
	})
}
