package plan

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// stepIndex is status.currentStepIndex, 0 when unset.
func stepIndex(st *v1alpha1.RolloutStatus) int32 {
	if st.CurrentStepIndex == nil {
		return 0
	}
	return *st.CurrentStepIndex
}

// WeightAt is the canary weight in force at step index: that of the last setWeight at or
// before it, 0 before any, and 100 once every step is done.
func WeightAt(steps []v1alpha1.CanaryStep, index int32) int32 {
	if int(index) >= len(steps) {
		return 100
	}
	for i := index; i >= 0; i-- {
		if w := steps[i].SetWeight; w != nil {
			return *w
		}
	}
	return 0
}

// CanaryScaleAt is the setCanaryScale in force at step index, nil when none or when every
// step is done.
func CanaryScaleAt(steps []v1alpha1.CanaryStep, index int32) *v1alpha1.SetCanaryScale {
	if int(index) >= len(steps) {
		return nil
	}
	for i := index; i >= 0; i-- {
		if s := steps[i].SetCanaryScale; s != nil {
			return s
		}
	}
	return nil
}

// PauseDuration is a pause step's duration; ok is false for an indefinite pause.
// The API server already checked the format, so a value that still fails to parse is
// treated as indefinite: waiting for a human is the safe reading of a duration we can't read.
// So is a negative duration, and one longer than a time.Duration holds (about 292 years),
// whether digits of seconds ("10000000000") or a Go duration ("3000000h"): multiplied out it
// would wrap round to a negative or short pause and end at once, and a wait that long means
// "until promoted" anyway.
func PauseDuration(p *v1alpha1.RolloutPause) (d time.Duration, ok bool) {
	if p == nil || p.Duration == nil {
		return 0, false
	}
	secs := int64(p.Duration.IntVal)
	if p.Duration.Type == intstr.String {
		n, err := strconv.ParseInt(p.Duration.StrVal, 10, 64)
		if err != nil {
			d, err := time.ParseDuration(p.Duration.StrVal)
			return d, err == nil && d >= 0
		}
		secs = n
	}
	if secs < 0 || secs > int64(math.MaxInt64/time.Second) {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// DescribeStep renders a step the way events and the CLI show it, e.g. "setWeight: 20".
func DescribeStep(s v1alpha1.CanaryStep) string {
	switch {
	case s.SetWeight != nil:
		return fmt.Sprintf("setWeight: %d", *s.SetWeight)
	case s.Pause != nil:
		if s.Pause.Duration == nil {
			return "pause"
		}
		return "pause: " + s.Pause.Duration.String()
	case s.SetCanaryScale != nil:
		return "setCanaryScale"
	case s.SetHeaderRoute != nil:
		return "setHeaderRoute: " + s.SetHeaderRoute.Name
	case s.SetMirrorRoute != nil:
		return "setMirrorRoute: " + s.SetMirrorRoute.Name
	case s.Analysis != nil:
		return "analysis"
	case s.Experiment != nil:
		return "experiment"
	case s.Plugin != nil:
		return "plugin: " + s.Plugin.Name
	}
	return "unknown step"
}

// StepsHash identifies a list of steps, so that a change of steps restarts them.
func StepsHash(steps []v1alpha1.CanaryStep) string {
	b, err := json.Marshal(steps)
	if err != nil {
		// Steps are plain data; marshalling cannot fail. Hash the error text rather than panic.
		b = []byte(err.Error())
	}
	h := fnv.New32a()
	_, _ = h.Write(b)
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// NotRunKind names the kind of a step Aviary does not run yet ("experiment" or "plugin"), for
// which a rollout waits until promoted; "" for every other step.
func NotRunKind(s v1alpha1.CanaryStep) string {
	switch {
	case s.Experiment != nil:
		return "experiment"
	case s.Plugin != nil:
		return "plugin"
	}
	return ""
}
