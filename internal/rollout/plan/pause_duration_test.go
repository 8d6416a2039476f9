package plan

import (
	"math"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// TestPauseDuration: a timed pause is exactly its duration, and one too long for a
// time.Duration is indefinite rather than wrapped round to a negative or short pause.
func TestPauseDuration(t *testing.T) {
	seconds := func(s string) *v1alpha1.RolloutPause {
		v := intstr.FromString(s)
		return &v1alpha1.RolloutPause{Duration: &v}
	}
	integer := func(n int32) *v1alpha1.RolloutPause {
		v := intstr.FromInt32(n)
		return &v1alpha1.RolloutPause{Duration: &v}
	}
	longest := math.MaxInt64 / time.Second * time.Second
	cases := []struct {
		name  string
		pause *v1alpha1.RolloutPause
		want  time.Duration
		timed bool
	}{
		{"no duration", &v1alpha1.RolloutPause{}, 0, false},
		{"integer seconds", integer(30), 30 * time.Second, true},
		{"int32 max seconds", integer(math.MaxInt32), math.MaxInt32 * time.Second, true},
		{"negative integer", integer(-60), 0, false},
		{"digits", seconds("30"), 30 * time.Second, true},
		{"1h", seconds("1h"), time.Hour, true},
		{"go duration", seconds("1h30m15s"), time.Hour + 30*time.Minute + 15*time.Second, true},
		{"longest whole seconds a Duration holds", seconds("9223372036"), longest, true},
		{"one second more", seconds("9223372037"), 0, false},
		{"10000000000 seconds", seconds("10000000000"), 0, false},
		{"digits beyond int64", seconds("99999999999999999999999"), 0, false},
		{"go duration beyond int64", seconds("3000000h"), 0, false},
		{"unreadable", seconds("5x"), 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, timed := PauseDuration(c.pause)
			if d != c.want || timed != c.timed {
				t.Errorf("PauseDuration = %v, %v; want %v, %v", d, timed, c.want, c.timed)
			}
		})
	}
}
