package plan

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func analysisObserved(runs ...*v1alpha1.AnalysisRun) Observed {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "ns", UID: "uid-1",
		Labels: map[string]string{"app": "shop"}}}
	ro.Status.StableRS = "stable1"
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "shop-abc",
		Labels:      map[string]string{v1alpha1.PodTemplateHashLabel: "abc"},
		Annotations: map[string]string{v1alpha1.RevisionAnnotation: "3"}}}
	return Observed{Rollout: ro, NewRS: rs, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Analysis: AnalysisObserved{
		Runs: runs,
		Templates: map[string]*v1alpha1.AnalysisTemplateSpec{
			"namespaced/rate": {
				Args:      []v1alpha1.Argument{{Name: "service"}, {Name: "hash"}, {Name: "app"}, {Name: "fixed", Value: ptr.To("x")}},
				Metrics:   []v1alpha1.Metric{{Name: "rate"}},
				Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "latency", ClusterScope: true}},
			},
			"cluster/latency": {Metrics: []v1alpha1.Metric{{Name: "latency"}}, DryRun: []v1alpha1.DryRun{{MetricName: "latency"}}},
			"namespaced/dup":  {Metrics: []v1alpha1.Metric{{Name: "rate"}}},
		},
	}}
}

func rateAnalysis(extra ...v1alpha1.AnalysisTemplateRef) *v1alpha1.RolloutAnalysis {
	stable := v1alpha1.Stable
	return &v1alpha1.RolloutAnalysis{
		Templates: append([]v1alpha1.AnalysisTemplateRef{{TemplateName: "rate"}}, extra...),
		Args: []v1alpha1.AnalysisRunArgument{
			{Name: "service", Value: "shop-canary"},
			{Name: "hash", ValueFrom: &v1alpha1.ArgumentValueFrom{PodTemplateHashValue: &stable}},
			{Name: "app", ValueFrom: &v1alpha1.ArgumentValueFrom{FieldRef: &v1alpha1.FieldRef{FieldPath: "metadata.labels['app']"}}},
			{Name: "unused", Value: "ignored"},
		},
		AnalysisRunMetadata: v1alpha1.AnalysisRunMetadata{Labels: map[string]string{"team": "shop"}},
	}
}

func TestNewRunFromTemplates(t *testing.T) {
	o := analysisObserved()
	step := int32(2)
	s := runSlot{kind: RolloutTypeStep, step: &step, analysis: rateAnalysis()}
	if got := s.baseName(o); got != "shop-abc-3-2" {
		t.Fatalf("base name %q", got)
	}
	run, err := newRun(o, s, "shop-abc-3-2")
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{}
	for _, a := range run.Spec.Args {
		args[a.Name] = ptr.Deref(a.Value, "<nil>")
	}
	want := map[string]string{"service": "shop-canary", "hash": "stable1", "app": "shop", "fixed": "x"}
	for k, v := range want {
		if args[k] != v {
			t.Errorf("arg %s = %q, want %q (all %v)", k, args[k], v, args)
		}
	}
	if len(run.Spec.Metrics) != 2 || run.Spec.Metrics[0].Name != "latency" || len(run.Spec.DryRun) != 1 {
		t.Errorf("metrics %v dryRun %v", run.Spec.Metrics, run.Spec.DryRun)
	}
	wantLabels := map[string]string{"rollouts-pod-template-hash": "abc", "rollout-type": "Step", "step-index": "2", "team": "shop"}
	for k, v := range wantLabels {
		if run.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, run.Labels[k], v)
		}
	}
	if run.Annotations[v1alpha1.RevisionAnnotation] != "3" || !metav1.IsControlledBy(run, o.Rollout) {
		t.Errorf("annotations %v owners %v", run.Annotations, run.OwnerReferences)
	}
	for kind, want := range map[string]string{RolloutTypeBackground: "shop-abc-3", RolloutTypePrePromotion: "shop-abc-3-pre", RolloutTypePostPromotion: "shop-abc-3-post"} {
		if got := (runSlot{kind: kind}).baseName(o); got != want {
			t.Errorf("%s name %q, want %q", kind, got, want)
		}
	}
	_, err = newRun(o, runSlot{kind: RolloutTypeBackground, analysis: rateAnalysis(v1alpha1.AnalysisTemplateRef{TemplateName: "dup"})}, "x")
	if err == nil || !strings.Contains(err.Error(), `metric "rate" is defined by more than one`) {
		t.Errorf("duplicate metric: %v", err)
	}
}

func namedRun(name string, phase v1alpha1.AnalysisPhase, terminated bool, created int) *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, created, 0, time.UTC)),
			Labels:      map[string]string{v1alpha1.PodTemplateHashLabel: "abc"},
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: "3"}},
		Spec:   v1alpha1.AnalysisRunSpec{Terminate: terminated},
		Status: v1alpha1.AnalysisRunStatus{Phase: phase},
	}
}

func TestCurrentRunAndAttempts(t *testing.T) {
	step := int32(1)
	s := runSlot{kind: RolloutTypeStep, step: &step}
	for _, tc := range []struct {
		name         string
		runs         []*v1alpha1.AnalysisRun
		wantCurrent  string
		wantAttempts int
	}{
		{"none yet", nil, "", 0},
		{"first attempt running", []*v1alpha1.AnalysisRun{namedRun("shop-abc-3-1", "Running", false, 0)}, "shop-abc-3-1", 1},
		{"first retired: next is .1", []*v1alpha1.AnalysisRun{namedRun("shop-abc-3-1", "Failed", true, 0)}, "", 1},
		{"second attempt found after a restart", []*v1alpha1.AnalysisRun{
			namedRun("shop-abc-3-1", "Failed", true, 0), namedRun("shop-abc-3-1.1", "Running", false, 5)}, "shop-abc-3-1.1", 2},
		{"other steps and revisions ignored", []*v1alpha1.AnalysisRun{
			namedRun("shop-abc-3-10", "Running", false, 0), namedRun("shop-abc-2-1", "Running", false, 0), namedRun("shop-abc-3-1.x", "Running", false, 0)}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, attempts := currentRun(analysisObserved(tc.runs...), s)
			name := ""
			if cur != nil {
				name = cur.Name
			}
			if name != tc.wantCurrent || attempts != tc.wantAttempts {
				t.Fatalf("current %q attempts %d, want %q %d", name, attempts, tc.wantCurrent, tc.wantAttempts)
			}
		})
	}
}

func TestWaitOnRunOutcomes(t *testing.T) {
	step := int32(1)
	for _, tc := range []struct {
		name      string
		run       *v1alpha1.AnalysisRun
		before    *v1alpha1.RolloutAnalysisRunStatus
		wantPhase v1alpha1.AnalysisPhase
		check     func(*testing.T, Plan)
	}{
		{"creates the first run", nil, nil, "", func(t *testing.T, p Plan) {
			if len(p.Analysis.Create) != 1 || p.Analysis.Create[0].Name != "shop-abc-3-1" || p.Status.Canary.CurrentStepAnalysisRunStatus.Status != "Pending" {
				t.Errorf("plan %+v status %+v", p.Analysis, p.Status.Canary.CurrentStepAnalysisRunStatus)
			}
		}},
		{"failed aborts with the run's message", &v1alpha1.AnalysisRun{}, nil, v1alpha1.AnalysisPhaseFailed, func(t *testing.T, p Plan) {
			o := analysisObserved()
			if !p.Status.Abort || abortMessage(o, &p.Status) != `Rollout aborted update to revision 3: Metric "rate" assessed Failed due to failed (1) > failureLimit (0)` {
				t.Errorf("abort %v message %q", p.Status.Abort, abortMessage(o, &p.Status))
			}
		}},
		{"inconclusive pauses", &v1alpha1.AnalysisRun{}, nil, v1alpha1.AnalysisPhaseInconclusive, func(t *testing.T, p Plan) {
			if !p.Status.ControllerPause || pauseCondition(&p.Status, v1alpha1.PauseReasonInconclusiveAnalysis) == nil || p.Status.Abort {
				t.Errorf("status %+v", p.Status)
			}
		}},
		{"inconclusive after a promote is retired", &v1alpha1.AnalysisRun{},
			&v1alpha1.RolloutAnalysisRunStatus{Name: "shop-abc-3-1", Status: v1alpha1.AnalysisPhaseInconclusive}, v1alpha1.AnalysisPhaseInconclusive,
			func(t *testing.T, p Plan) {
				if len(p.Status.PauseConditions) != 0 || len(p.Analysis.Terminate) != 1 {
					t.Errorf("pause %v terminate %v", p.Status.PauseConditions, p.Analysis.Terminate)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Observed
			if tc.run != nil {
				r := namedRun("shop-abc-3-1", tc.wantPhase, false, 0)
				if tc.wantPhase == v1alpha1.AnalysisPhaseFailed {
					r.Status.Message = `Metric "rate" assessed Failed due to failed (1) > failureLimit (0)`
				}
				o = analysisObserved(r)
			} else {
				o = analysisObserved()
			}
			p := newPlan(o.Rollout)
			s := runSlot{kind: RolloutTypeStep, step: &step, analysis: rateAnalysis(), status: &p.Status.Canary.CurrentStepAnalysisRunStatus, before: tc.before}
			if got := waitOnRun(&p, o, s); got != tc.wantPhase {
				t.Fatalf("phase %q, want %q", got, tc.wantPhase)
			}
			tc.check(t, p)
		})
	}
}

func TestPruneRuns(t *testing.T) {
	o := analysisObserved(
		namedRun("a", v1alpha1.AnalysisPhaseSuccessful, true, 1),
		namedRun("b", v1alpha1.AnalysisPhaseSuccessful, true, 2),
		namedRun("c", v1alpha1.AnalysisPhaseFailed, true, 3),
		namedRun("d", v1alpha1.AnalysisPhaseError, true, 4),
		namedRun("e", v1alpha1.AnalysisPhaseSuccessful, false, 5), // waited on
		namedRun("f", v1alpha1.AnalysisPhaseRunning, false, 6),
	)
	o.Rollout.Spec.Analysis = &v1alpha1.AnalysisRunStrategy{SuccessfulRunHistoryLimit: ptr.To[int32](1), UnsuccessfulRunHistoryLimit: ptr.To[int32](1)}
	p := newPlan(o.Rollout)
	pruneRuns(&p, o, map[string]bool{"e": true})
	if got := strings.Join(p.Analysis.Delete, ","); got != "c,a" {
		t.Fatalf("deleted %q, want c,a (newest first; keep the newest Successful b and unsuccessful d; e is waited on, f runs)", got)
	}
}
