package analysis

import (
	"fmt"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/expr"
)

// Validate checks what the API server cannot: resolved counts and limits, durations, condition
// expressions and the dry-run and retention patterns. A run failing it never starts measuring.
func Validate(run *v1alpha1.AnalysisRun, metrics []v1alpha1.Metric) error {
	for _, m := range metrics {
		if err := validateMetric(m); err != nil {
			return fmt.Errorf("metric %q: %w", m.Name, err)
		}
		if _, err := DryRun(run, m.Name); err != nil {
			return err
		}
		if _, err := Retention(run, m.Name); err != nil {
			return err
		}
	}
	return nil
}

func validateMetric(m v1alpha1.Metric) error {
	if err := expr.Check(m.SuccessCondition); err != nil {
		return fmt.Errorf("successCondition %q: %w", m.SuccessCondition, err)
	}
	if err := expr.Check(m.FailureCondition); err != nil {
		return fmt.Errorf("failureCondition %q: %w", m.FailureCondition, err)
	}
	if _, _, err := m.EffectiveCount(); err != nil {
		return err
	}
	for _, f := range []func() (int32, error){m.EffectiveFailureLimit, m.EffectiveInconclusiveLimit, m.EffectiveConsecutiveErrorLimit, m.EffectiveConsecutiveSuccessLimit} {
		if _, err := f(); err != nil {
			return err
		}
	}
	if _, err := parseDuration("interval", m.Interval); err != nil {
		return err
	}
	_, err := parseDuration("initialDelay", m.InitialDelay)
	return err
}
