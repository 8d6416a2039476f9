package plan

import (
	"fmt"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/fieldpath"
)

// Labels Argo Rollouts puts on the AnalysisRuns a Rollout creates.
const (
	RolloutTypeLabel         = "rollout-type"
	StepIndexLabel           = "step-index"
	RolloutTypeStep          = "Step"
	RolloutTypeBackground    = "Background"
	RolloutTypePrePromotion  = "PrePromotion"
	RolloutTypePostPromotion = "PostPromotion"
)

// AnalysisObserved is what the reconciler read for analysis.
type AnalysisObserved struct {
	// Runs are the AnalysisRuns the Rollout owns.
	Runs []*v1alpha1.AnalysisRun
	// Templates are the templates the Rollout refers to (and those they refer to), by
	// TemplateKey. The reconciler reports a missing one as an invalid spec before planning.
	Templates map[string]*v1alpha1.AnalysisTemplateSpec
}

// AnalysisPlan is what a reconcile changes about AnalysisRuns.
type AnalysisPlan struct {
	// Create are new runs; one that already exists (an earlier reconcile made it) is found.
	Create []*v1alpha1.AnalysisRun
	// Terminate names runs to stop (spec.terminate): retired runs that no step waits on.
	Terminate []string
	// Delete names finished runs beyond the history limits.
	Delete []string
}

// TemplateKey identifies a template in AnalysisObserved.Templates.
func TemplateKey(ref v1alpha1.AnalysisTemplateRef) string {
	if ref.ClusterScope {
		return "cluster/" + ref.TemplateName
	}
	return "namespaced/" + ref.TemplateName
}

// runSlot is one kind of run a rollout waits on, and where its status is recorded.
type runSlot struct {
	kind     string
	step     *int32
	analysis *v1alpha1.RolloutAnalysis
	status   **v1alpha1.RolloutAnalysisRunStatus
	before   *v1alpha1.RolloutAnalysisRunStatus // the status as read, before this reconcile
}

// baseName is Argo's run name: <rollout>-<pod hash>-<revision>[-<step>|-pre|-post]. Later
// attempts of the same run (after a retry) add ".<n>".
func (s runSlot) baseName(o Observed) string {
	name := fmt.Sprintf("%s-%s-%d", o.Rollout.Name, v1alpha1.HashOf(o.NewRS), v1alpha1.RevisionOf(o.NewRS))
	switch s.kind {
	case RolloutTypeStep:
		name += "-" + strconv.Itoa(int(*s.step))
	case RolloutTypePrePromotion:
		name += "-pre"
	case RolloutTypePostPromotion:
		name += "-post"
	}
	return name
}

func (s runSlot) labels(o Observed) map[string]string {
	l := map[string]string{
		v1alpha1.PodTemplateHashLabel: v1alpha1.HashOf(o.NewRS),
		RolloutTypeLabel:              s.kind,
	}
	if s.step != nil {
		l[StepIndexLabel] = strconv.Itoa(int(*s.step))
	}
	if id := o.Rollout.Labels[v1alpha1.InstanceIDLabel]; id != "" {
		l[v1alpha1.InstanceIDLabel] = id
	}
	return l
}

// newRun builds the run of a slot from its templates and the rollout's arguments. An error
// names what makes the run impossible (a metric defined twice, an unreadable argument).
func newRun(o Observed, s runSlot, name string) (*v1alpha1.AnalysisRun, error) {
	ra := s.analysis
	spec := v1alpha1.AnalysisRunSpec{DryRun: ra.DryRun, MeasurementRetention: ra.MeasurementRetention}
	seen := map[string]bool{}
	for _, ref := range ra.Templates {
		if err := mergeTemplate(o, ref, &spec, seen, map[string]bool{}); err != nil {
			return nil, err
		}
	}
	if err := applyRolloutArgs(o, ra.Args, spec.Args); err != nil {
		return nil, err
	}
	labels := s.labels(o)
	for k, v := range ra.AnalysisRunMetadata.Labels {
		if _, ours := labels[k]; !ours {
			labels[k] = v
		}
	}
	annotations := map[string]string{v1alpha1.RevisionAnnotation: strconv.FormatInt(v1alpha1.RevisionOf(o.NewRS), 10)}
	for k, v := range ra.AnalysisRunMetadata.Annotations {
		if _, ours := annotations[k]; !ours {
			annotations[k] = v
		}
	}
	ro := o.Rollout
	return &v1alpha1.AnalysisRun{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AnalysisRun"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ro.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "Rollout", Name: ro.Name, UID: ro.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: spec,
	}, nil
}

// mergeTemplate adds a template's metrics, args, dryRun and retention (and those of the
// templates it refers to) to spec.
func mergeTemplate(o Observed, ref v1alpha1.AnalysisTemplateRef, spec *v1alpha1.AnalysisRunSpec, seen, visiting map[string]bool) error {
	key := TemplateKey(ref)
	if visiting[key] {
		return fmt.Errorf("analysis template %q refers to itself through spec.templates", ref.TemplateName)
	}
	t := o.Analysis.Templates[key]
	if t == nil {
		return fmt.Errorf("analysis template %q not found", ref.TemplateName)
	}
	visiting[key] = true
	for _, nested := range t.Templates {
		if err := mergeTemplate(o, nested, spec, seen, visiting); err != nil {
			return err
		}
	}
	delete(visiting, key)
	for _, m := range t.Metrics {
		if seen[m.Name] {
			return fmt.Errorf("metric %q is defined by more than one of the analysis templates; rename one", m.Name)
		}
		seen[m.Name] = true
		spec.Metrics = append(spec.Metrics, *m.DeepCopy())
	}
	for _, a := range t.Args {
		if i := argIndex(spec.Args, a.Name); i >= 0 {
			if spec.Args[i].Value == nil && spec.Args[i].ValueFrom == nil {
				spec.Args[i] = *a.DeepCopy()
			}
			continue
		}
		spec.Args = append(spec.Args, *a.DeepCopy())
	}
	spec.DryRun = append(spec.DryRun, t.DryRun...)
	spec.MeasurementRetention = append(spec.MeasurementRetention, t.MeasurementRetention...)
	return nil
}

func argIndex(args []v1alpha1.Argument, name string) int {
	for i := range args {
		if args[i].Name == name {
			return i
		}
	}
	return -1
}

// applyRolloutArgs gives the templates' arguments the values the Rollout supplies: a value, a
// pod-template hash (Stable or Latest), or a field of the Rollout.
func applyRolloutArgs(o Observed, ras []v1alpha1.AnalysisRunArgument, args []v1alpha1.Argument) error {
	for _, ra := range ras {
		i := argIndex(args, ra.Name)
		if i < 0 {
			continue // an argument no template declares is ignored, as in Argo Rollouts
		}
		v := ra.Value
		if vf := ra.ValueFrom; vf != nil {
			switch {
			case vf.PodTemplateHashValue != nil && *vf.PodTemplateHashValue == v1alpha1.Stable:
				v = o.Rollout.Status.StableRS
			case vf.PodTemplateHashValue != nil:
				v = v1alpha1.HashOf(o.NewRS)
			case vf.FieldRef != nil:
				val, err := fieldpath.Value(o.Rollout, vf.FieldRef.FieldPath)
				if err != nil {
					return fmt.Errorf("argument %q: %w", ra.Name, err)
				}
				v = val
			}
		}
		args[i] = v1alpha1.Argument{Name: ra.Name, Value: ptr.To(v)}
	}
	return nil
}

// AnalysisTemplateRefs lists every template reference of a Rollout's analyses: the canary's
// background analysis and analysis steps, and blue-green's pre- and post-promotion analysis.
func AnalysisTemplateRefs(ro *v1alpha1.Rollout) []v1alpha1.AnalysisTemplateRef {
	analyses := []*v1alpha1.RolloutAnalysis{}
	if c := ro.Spec.Strategy.Canary; c != nil {
		if c.Analysis != nil {
			analyses = append(analyses, &c.Analysis.RolloutAnalysis)
		}
		for _, s := range c.Steps {
			analyses = append(analyses, s.Analysis)
		}
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		analyses = append(analyses, bg.PrePromotionAnalysis, bg.PostPromotionAnalysis)
	}
	var refs []v1alpha1.AnalysisTemplateRef
	for _, a := range analyses {
		if a != nil {
			refs = append(refs, a.Templates...)
		}
	}
	return refs
}
