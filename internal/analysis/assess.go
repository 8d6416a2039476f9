package analysis

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Assess sets every metric's phase and message, then the run's phase, message, summaries and
// completion time. A metric that has not started yet still counts as running.
func Assess(run *v1alpha1.AnalysisRun, metrics []v1alpha1.Metric, now time.Time) error {
	terminating := Terminating(run)
	st := &run.Status
	var (
		summary, dry           v1alpha1.RunSummary
		worst                  v1alpha1.AnalysisPhase
		worstMessage           string
		everythingDone, anyDry = true, false
	)
	for _, m := range metrics {
		isDry, err := DryRun(run, m.Name)
		if err != nil {
			return err
		}
		res := findResult(run, m.Name)
		phase, msg := v1alpha1.AnalysisPhasePending, ""
		if res != nil {
			if phase, msg, err = assessMetric(m, res, terminating); err != nil {
				return err
			}
			res.Phase, res.DryRun = phase, isDry
			if msg != "" {
				res.Message = msg
			}
		} else if terminating {
			phase = v1alpha1.AnalysisPhaseSuccessful
		}
		if isDry {
			anyDry = true
			tally(&dry, phase)
			continue
		}
		tally(&summary, phase)
		if !phase.Completed() {
			everythingDone = false
			continue
		}
		if worse(phase, worst) {
			worst = phase
			worstMessage = ""
			if phase != v1alpha1.AnalysisPhaseSuccessful {
				worstMessage = fmt.Sprintf("Metric %q assessed %s due to %s", m.Name, phase, msg)
			}
		}
	}
	st.RunSummary = summary
	st.DryRunSummary = nil
	if anyDry {
		st.DryRunSummary = &dry
	}
	if !everythingDone && !terminating {
		st.Phase, st.Message = v1alpha1.AnalysisPhaseRunning, ""
		return nil
	}
	if worst == "" {
		worst = v1alpha1.AnalysisPhaseSuccessful
	}
	if worstMessage == "" && run.Spec.Terminate {
		worstMessage = "Run Terminated"
	}
	st.Phase, st.Message = worst, withDryRunSummary(worstMessage, st.DryRunSummary)
	if st.CompletedAt == nil {
		t := metav1.NewTime(now)
		st.CompletedAt = &t
	}
	return nil
}

// assessMetric decides one metric's phase from its counters and limits.
func assessMetric(m v1alpha1.Metric, res *v1alpha1.MetricResult, terminating bool) (v1alpha1.AnalysisPhase, string, error) {
	if res.Phase.Completed() {
		return res.Phase, res.Message, nil
	}
	if len(res.Measurements) == 0 {
		if terminating {
			return v1alpha1.AnalysisPhaseSuccessful, "", nil
		}
		return v1alpha1.AnalysisPhasePending, "", nil
	}
	if last := res.Measurements[len(res.Measurements)-1]; !last.Phase.Completed() {
		return v1alpha1.AnalysisPhaseRunning, "", nil
	}
	if phase, msg, err := limitBreached(m, res); err != nil || phase != "" {
		return phase, msg, err
	}
	n, indefinite, err := m.EffectiveCount()
	if err != nil {
		return "", "", err
	}
	if !indefinite && res.Count >= n {
		return v1alpha1.AnalysisPhaseSuccessful, "", nil
	}
	successLimit, err := m.EffectiveConsecutiveSuccessLimit()
	if err != nil {
		return "", "", err
	}
	if successLimit > 0 && res.ConsecutiveSuccess >= successLimit {
		return v1alpha1.AnalysisPhaseSuccessful, "", nil
	}
	if terminating {
		return v1alpha1.AnalysisPhaseSuccessful, "", nil
	}
	return v1alpha1.AnalysisPhaseRunning, "", nil
}

// limitBreached reports a metric that failed, became inconclusive or errored too often. The
// later checks win, as in Argo Rollouts: consecutive errors over failures over inconclusives.
func limitBreached(m v1alpha1.Metric, res *v1alpha1.MetricResult) (v1alpha1.AnalysisPhase, string, error) {
	var (
		phase v1alpha1.AnalysisPhase
		msg   string
	)
	failureLimit, err := m.EffectiveFailureLimit()
	if err != nil {
		return "", "", err
	}
	if failureLimit >= 0 && res.Failed > failureLimit {
		phase, msg = v1alpha1.AnalysisPhaseFailed, fmt.Sprintf("failed (%d) > failureLimit (%d)", res.Failed, failureLimit)
	}
	inconclusiveLimit, err := m.EffectiveInconclusiveLimit()
	if err != nil {
		return "", "", err
	}
	if phase == "" && inconclusiveLimit >= 0 && res.Inconclusive > inconclusiveLimit {
		phase, msg = v1alpha1.AnalysisPhaseInconclusive, fmt.Sprintf("inconclusive (%d) > inconclusiveLimit (%d)", res.Inconclusive, inconclusiveLimit)
	}
	errorLimit, err := m.EffectiveConsecutiveErrorLimit()
	if err != nil {
		return "", "", err
	}
	if errorLimit >= 0 && res.ConsecutiveError > errorLimit {
		phase, msg = v1alpha1.AnalysisPhaseError, fmt.Sprintf("consecutiveErrors (%d) > consecutiveErrorLimit (%d)", res.ConsecutiveError, errorLimit)
	}
	return phase, msg, nil
}

// rank orders completed phases from best to worst.
func rank(p v1alpha1.AnalysisPhase) int {
	switch p {
	case v1alpha1.AnalysisPhaseSuccessful:
		return 1
	case v1alpha1.AnalysisPhaseInconclusive:
		return 2
	case v1alpha1.AnalysisPhaseError:
		return 3
	case v1alpha1.AnalysisPhaseFailed:
		return 4
	}
	return 0
}

func worse(candidate, current v1alpha1.AnalysisPhase) bool { return rank(candidate) > rank(current) }

func tally(s *v1alpha1.RunSummary, phase v1alpha1.AnalysisPhase) {
	s.Count++
	switch phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		s.Successful++
	case v1alpha1.AnalysisPhaseFailed:
		s.Failed++
	case v1alpha1.AnalysisPhaseInconclusive:
		s.Inconclusive++
	case v1alpha1.AnalysisPhaseError:
		s.Error++
	}
}

// withDryRunSummary appends the dry-run metrics' outcome to the run's message.
func withDryRunSummary(msg string, dry *v1alpha1.RunSummary) string {
	if dry == nil {
		return msg
	}
	s := fmt.Sprintf("Dry-Run Summary: Total=%d, Successful=%d, Failed=%d, Inconclusive=%d, Error=%d",
		dry.Count, dry.Successful, dry.Failed, dry.Inconclusive, dry.Error)
	if msg == "" {
		return s
	}
	return msg + " " + s
}

// TTLExpiry is when a completed run should be deleted under its ttlStrategy; ok is false when
// it has none (or has not completed).
func TTLExpiry(run *v1alpha1.AnalysisRun) (time.Time, bool) {
	ttl, st := run.Spec.TTLStrategy, run.Status
	if ttl == nil || st.CompletedAt == nil || !st.Phase.Completed() {
		return time.Time{}, false
	}
	secs := ttl.SecondsAfterCompletion
	switch st.Phase {
	case v1alpha1.AnalysisPhaseSuccessful:
		if ttl.SecondsAfterSuccess != nil {
			secs = ttl.SecondsAfterSuccess
		}
	case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError:
		if ttl.SecondsAfterFailure != nil {
			secs = ttl.SecondsAfterFailure
		}
	}
	if secs == nil {
		return time.Time{}, false
	}
	return st.CompletedAt.Add(time.Duration(*secs) * time.Second), true
}
