package analysis

import (
	"fmt"
	"regexp"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/expr"
	"github.com/aviary-dev/aviary/internal/analysis/provider"
)

// This file is the pure core of the AnalysisRun reconciler: given a run, its resolved
// metrics and a clock reading it says which measurements are due, records what providers
// observed, and assesses metrics and the run exactly as Argo Rollouts does.

// DefaultMeasurementRetention is how many measurements a metric keeps without
// measurementRetention.
const DefaultMeasurementRetention = 10

// ErrorRetryInterval is how soon a measurement that errored is retried when the metric's
// interval is longer (or unset).
const ErrorRetryInterval = 10 * time.Second

// Action is what a metric needs from its provider now.
type Action int

const (
	// Measure takes a new measurement.
	Measure Action = iota + 1
	// Resume checks on a running measurement.
	Resume
	// Terminate stops a running measurement.
	Terminate
)

// Due is one metric's pending action.
type Due struct {
	Metric v1alpha1.Metric
	Action Action
}

// Plan lists the actions due at now and how long until the next one (0 when none is planned).
func Plan(run *v1alpha1.AnalysisRun, metrics []v1alpha1.Metric, now time.Time) ([]Due, time.Duration, error) {
	var (
		due  []Due
		next time.Duration
	)
	wake := func(d time.Duration) {
		if d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	terminating := Terminating(run)
	for _, m := range metrics {
		res := findResult(run, m.Name)
		if res != nil && res.Phase.Completed() {
			continue
		}
		last := lastMeasurement(res)
		if last != nil && !last.Phase.Completed() {
			switch {
			case terminating:
				due = append(due, Due{m, Terminate})
			case last.ResumeAt != nil && last.ResumeAt.After(now):
				wake(last.ResumeAt.Sub(now))
			default:
				due = append(due, Due{m, Resume})
				wake(resumePoll)
			}
			continue
		}
		if terminating {
			continue
		}
		at, ok, err := nextMeasurementAt(run, m, res, last)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			continue
		}
		if !at.After(now) {
			due = append(due, Due{m, Measure})
			continue
		}
		wake(at.Sub(now))
	}
	return due, next, nil
}

// resumePoll is how often an asynchronous measurement (a Job) is checked besides the watch
// events that usually wake the reconciler sooner.
const resumePoll = 5 * time.Second

// nextMeasurementAt is when the metric's next measurement is due; ok is false when it takes
// no more (its count is reached).
func nextMeasurementAt(run *v1alpha1.AnalysisRun, m v1alpha1.Metric, res *v1alpha1.MetricResult, last *v1alpha1.Measurement) (time.Time, bool, error) {
	count, indefinite, err := m.EffectiveCount()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("metric %q: %w", m.Name, err)
	}
	if res != nil && !indefinite && res.Count >= count {
		return time.Time{}, false, nil
	}
	if last == nil {
		delay, err := parseDuration("initialDelay", m.InitialDelay)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("metric %q: %w", m.Name, err)
		}
		start := time.Time{}
		if run.Status.StartedAt != nil {
			start = run.Status.StartedAt.Time
		}
		return start.Add(delay), true, nil
	}
	interval, err := parseDuration("interval", m.Interval)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("metric %q: %w", m.Name, err)
	}
	if last.Phase == v1alpha1.AnalysisPhaseError && (interval == 0 || interval > ErrorRetryInterval) {
		interval = ErrorRetryInterval
	}
	finished := last.StartedAt.Time
	if last.FinishedAt != nil {
		finished = last.FinishedAt.Time
	}
	return finished.Add(interval), true, nil
}

func parseDuration(field string, s v1alpha1.DurationString) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(string(s))
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a duration such as \"30s\" or \"5m\"", field, s)
	}
	return d, nil
}

// Record stores what a provider observed for one metric at now: it starts a new measurement
// (Measure) or completes the last one (Resume, Terminate), keeps the counters and trims the
// measurements to retention. The conditions see obs.Result whole; the stored value and
// message are truncated to MaxStoredValue and MaxStoredMessage.
func Record(run *v1alpha1.AnalysisRun, m v1alpha1.Metric, action Action, obs provider.Observation, now time.Time, retention int, dryRun bool) {
	res := ensureResult(run, m.Name, dryRun)
	t := metav1.NewTime(now)
	meas := v1alpha1.Measurement{StartedAt: &t}
	if action != Measure {
		if last := lastMeasurement(res); last != nil {
			meas = *last
			res.Measurements = res.Measurements[:len(res.Measurements)-1]
		}
	}
	if obs.Metadata != nil {
		meas.Metadata = obs.Metadata
	}
	meas.Value, meas.Message = truncate(obs.Value, MaxStoredValue), obs.Message
	switch {
	case obs.Err != nil:
		meas.Phase, meas.Message = v1alpha1.AnalysisPhaseError, obs.Err.Error()
	case obs.Phase != "":
		meas.Phase = obs.Phase
	default:
		phase, err := expr.Assess(obs.Result, m.SuccessCondition, m.FailureCondition)
		meas.Phase = phase
		if err != nil {
			meas.Message = err.Error()
		}
	}
	meas.Message = truncate(meas.Message, MaxStoredMessage)
	if meas.Phase.Completed() {
		meas.FinishedAt = &t
		count(res, meas.Phase)
	}
	res.Measurements = append(res.Measurements, meas)
	if retention > 0 && len(res.Measurements) > retention {
		res.Measurements = append([]v1alpha1.Measurement(nil), res.Measurements[len(res.Measurements)-retention:]...)
	}
}

// count keeps a metric's counters: errors are not counted as measurements, and any
// measurement without error resets the consecutive error count.
func count(res *v1alpha1.MetricResult, phase v1alpha1.AnalysisPhase) {
	switch phase {
	case v1alpha1.AnalysisPhaseError:
		res.Error++
		res.ConsecutiveError++
		res.ConsecutiveSuccess = 0
		return
	case v1alpha1.AnalysisPhaseSuccessful:
		res.Successful++
		res.ConsecutiveSuccess++
	case v1alpha1.AnalysisPhaseFailed:
		res.Failed++
		res.ConsecutiveSuccess = 0
	case v1alpha1.AnalysisPhaseInconclusive:
		res.Inconclusive++
		res.ConsecutiveSuccess = 0
	}
	res.Count++
	res.ConsecutiveError = 0
}

// Retention is the number of measurements kept for a metric: the first measurementRetention
// entry whose regular expression matches its name, else DefaultMeasurementRetention.
func Retention(run *v1alpha1.AnalysisRun, metric string) (int, error) {
	for _, r := range run.Spec.MeasurementRetention {
		re, err := anchored(r.MetricName)
		if err != nil {
			return 0, fmt.Errorf("measurementRetention metricName %q is not a valid regular expression: %w", r.MetricName, err)
		}
		if re.MatchString(metric) {
			return int(r.Limit), nil
		}
	}
	return DefaultMeasurementRetention, nil
}

// DryRun reports whether a metric is in dry-run mode (spec.dryRun, names as regular
// expressions; ".*" for all).
func DryRun(run *v1alpha1.AnalysisRun, metric string) (bool, error) {
	for _, d := range run.Spec.DryRun {
		re, err := anchored(d.MetricName)
		if err != nil {
			return false, fmt.Errorf("dryRun metricName %q is not a valid regular expression: %w", d.MetricName, err)
		}
		if re.MatchString(metric) {
			return true, nil
		}
	}
	return false, nil
}

func anchored(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + pattern + ")$")
}

// Terminating: the run was told to stop, or a metric that counts already Failed, Errored or
// was Inconclusive, which decides the run; the other metrics then stop measuring.
func Terminating(run *v1alpha1.AnalysisRun) bool {
	if run.Spec.Terminate {
		return true
	}
	for _, r := range run.Status.MetricResults {
		if r.DryRun {
			continue
		}
		switch r.Phase {
		case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
			return true
		}
	}
	return false
}

func findResult(run *v1alpha1.AnalysisRun, name string) *v1alpha1.MetricResult {
	for i := range run.Status.MetricResults {
		if run.Status.MetricResults[i].Name == name {
			return &run.Status.MetricResults[i]
		}
	}
	return nil
}

func ensureResult(run *v1alpha1.AnalysisRun, name string, dryRun bool) *v1alpha1.MetricResult {
	if r := findResult(run, name); r != nil {
		return r
	}
	run.Status.MetricResults = append(run.Status.MetricResults, v1alpha1.MetricResult{
		Name: name, Phase: v1alpha1.AnalysisPhaseRunning, DryRun: dryRun,
	})
	return &run.Status.MetricResults[len(run.Status.MetricResults)-1]
}

func lastMeasurement(res *v1alpha1.MetricResult) *v1alpha1.Measurement {
	if res == nil || len(res.Measurements) == 0 {
		return nil
	}
	return &res.Measurements[len(res.Measurements)-1]
}
