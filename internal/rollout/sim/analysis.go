package sim

import (
	"slices"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// SetRunPhase moves every AnalysisRun of the world to phase, as the analysis controller would.
func (w *World) SetRunPhase(phase v1alpha1.AnalysisPhase) {
	for _, run := range w.Runs {
		run.Status.Phase = phase
	}
}

// GrantRuns makes every run that is still measuring Successful, as a healthy release's
// analysis ends; it reports whether there was any.
func (w *World) GrantRuns() bool {
	granted := false
	for _, run := range w.Runs {
		if run.Spec.Terminate || finished(run.Status.Phase) {
			continue
		}
		run.Status.Phase = v1alpha1.AnalysisPhaseSuccessful
		granted = true
	}
	return granted
}

func finished(phase v1alpha1.AnalysisPhase) bool {
	switch phase {
	case v1alpha1.AnalysisPhaseSuccessful, v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
		return true
	}
	return false
}

// retireRuns sets spec.terminate on the runs the plan retires and removes those it prunes.
func (w *World) retireRuns(a plan.AnalysisPlan) {
	for _, run := range w.Runs {
		if slices.Contains(a.Terminate, run.Name) {
			run.Spec.Terminate = true
		}
	}
	w.Runs = slices.DeleteFunc(w.Runs, func(run *v1alpha1.AnalysisRun) bool { return slices.Contains(a.Delete, run.Name) })
}

// StandInTemplates adds, for every analysis template the Rollout refers to and Templates
// lacks, a template of one metric named after it: enough for the planner to create the runs
// that a walk then decides the outcome of.
func (w *World) StandInTemplates() {
	if w.Templates == nil {
		w.Templates = map[string]*v1alpha1.AnalysisTemplateSpec{}
	}
	for _, ref := range plan.AnalysisTemplateRefs(w.Rollout) {
		key := plan.TemplateKey(ref)
		if _, ok := w.Templates[key]; !ok {
			w.Templates[key] = &v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{{Name: key}}}
		}
	}
}
