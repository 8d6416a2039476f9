package replicas

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// limitsCase is a maxSurge/maxUnavailable pair as a user writes it.
type limitsCase struct {
	name               string
	surge, unavailable intstr.IntOrString
}

var (
	convergeReplicas = []int32{0, 1, 2, 3, 5, 10, 100}
	convergeWeights  = []int32{0, 1, 20, 33, 50, 99, 100}
	convergeLimits   = []limitsCase{
		{"surge0-unavailable1", intstr.FromInt32(0), intstr.FromInt32(1)},
		{"surge1-unavailable0", intstr.FromInt32(1), intstr.FromInt32(0)},
		{"25%-25%", intstr.FromString("25%"), intstr.FromString("25%")},
		{"surge3-unavailable2", intstr.FromInt32(3), intstr.FromInt32(2)},
		{"0%-0%", intstr.FromString("0%"), intstr.FromString("0%")},
		{"100%-0", intstr.FromString("100%"), intstr.FromInt32(0)},
	}
)

// withLimits is in with maxSurge/maxUnavailable resolved for its replicas.
func withLimits(tb testing.TB, in BasicCanaryInput, l limitsCase) BasicCanaryInput {
	tb.Helper()
	surge, unavailable, err := ResolveSurgeUnavailable(in.Replicas, l.surge, l.unavailable)
	if err != nil {
		tb.Fatal(err)
	}
	in.MaxSurge, in.MaxUnavailable = surge, unavailable
	return in
}

// convergeWithinBound converges in and checks it took at most one round per pod of
// distance, plus one round for pods that were not yet available at the start.
func convergeWithinBound(tb testing.TB, in BasicCanaryInput) BasicCanaryInput {
	tb.Helper()
	_, final := converge(tb, in, distance(in)+2)
	return final
}

// Every weight reached from every earlier weight, for every size and limit: the canary
// moves step by step, and each step must settle exactly on its targets.
func TestBasicCanaryConvergesBetweenWeights(t *testing.T) {
	for _, l := range convergeLimits {
		for _, replicas := range convergeReplicas {
			t.Run(fmt.Sprintf("%s/replicas=%d", l.name, replicas), func(t *testing.T) {
				fresh := withLimits(t, BasicCanaryInput{Replicas: replicas, Canary: avail(0), Stable: ptr(avail(replicas))}, l)
				for _, from := range convergeWeights {
					fresh.Weight = from
					atFrom := convergeWithinBound(t, fresh)
					for _, to := range convergeWeights {
						atFrom.Weight = to
						convergeWithinBound(t, atFrom)
					}
				}
			})
		}
	}
}

// Starts that are not the tidy result of an earlier step: pods not available, an abandoned
// canary and older revisions still running, the first deploy, and spec.replicas changed
// by an autoscaler in the middle of a step.
func TestBasicCanaryConvergesFromAwkwardStarts(t *testing.T) {
	starts := []struct {
		name  string
		state func(replicas int32) BasicCanaryInput
	}{
		{"first deploy", func(r int32) BasicCanaryInput {
			return BasicCanaryInput{Replicas: r, Canary: avail(0)}
		}},
		{"first deploy half created", func(r int32) BasicCanaryInput {
			return BasicCanaryInput{Replicas: r, Canary: Counts{Replicas: r / 2, Available: r / 4}}
		}},
		{"stable crash-looping", func(r int32) BasicCanaryInput {
			return BasicCanaryInput{Replicas: r, Canary: avail(0), Stable: ptr(Counts{Replicas: r, Available: r / 2})}
		}},
		{"canary crash-looping", func(r int32) BasicCanaryInput {
			return BasicCanaryInput{Replicas: r, Canary: Counts{Replicas: r / 2, Available: 0}, Stable: ptr(avail(r - r/2))}
		}},
		{"abandoned canary and an older revision", func(r int32) BasicCanaryInput {
			return BasicCanaryInput{Replicas: r, Canary: avail(0), Stable: ptr(avail(r / 2)),
				Others: []Counts{avail(r - r/2), {Replicas: 2, Available: 1}}}
		}},
		{"only older revisions", func(r int32) BasicCanaryInput {
			return BasicCanaryInput{Replicas: r, Canary: avail(0), Stable: ptr(avail(0)), Others: []Counts{avail(r)}}
		}},
		{"autoscaled up mid-step", func(r int32) BasicCanaryInput {
			return BasicCanaryInput{Replicas: 2 * r, Canary: avail(r / 3), Stable: ptr(avail(r - r/3))}
		}},
		{"autoscaled down mid-step", func(r int32) BasicCanaryInput {
			return BasicCanaryInput{Replicas: r / 3, Canary: avail(r / 2), Stable: ptr(avail(r - r/2))}
		}},
		{"pods above spec still terminating", func(r int32) BasicCanaryInput {
			return BasicCanaryInput{Replicas: r, Canary: Counts{Replicas: r / 2, Available: r}, Stable: ptr(Counts{Replicas: r / 2, Available: r})}
		}},
	}
	for _, start := range starts {
		for _, l := range convergeLimits {
			for _, replicas := range convergeReplicas {
				for _, weight := range convergeWeights {
					in := start.state(replicas)
					in.Weight = weight
					in = withLimits(t, in, l)
					t.Run(fmt.Sprintf("%s/%s/replicas=%d/weight=%d", start.name, l.name, replicas, weight), func(t *testing.T) {
						convergeWithinBound(t, in)
					})
				}
			}
		}
	}
}

// Abort is weight 0 from wherever the canary got to; it must return every pod to the stable
// without dipping below the availability floor, even with the canary half broken.
func TestBasicCanaryAbort(t *testing.T) {
	for _, l := range convergeLimits {
		for _, replicas := range convergeReplicas {
			for _, reached := range convergeWeights {
				in := withLimits(t, BasicCanaryInput{Replicas: replicas, Weight: reached, Canary: avail(0), Stable: ptr(avail(replicas))}, l)
				_, atStep := converge(t, in, distance(in)+2)
				atStep.Weight = 0
				atStep.Canary.Available = atStep.Canary.Replicas / 2
				t.Run(fmt.Sprintf("%s/replicas=%d/from=%d", l.name, replicas, reached), func(t *testing.T) {
					final := convergeWithinBound(t, atStep)
					if final.Canary.Replicas != 0 || final.Stable.Replicas != replicas {
						t.Errorf("aborted at canary %d stable %d", final.Canary.Replicas, final.Stable.Replicas)
					}
				})
			}
		}
	}
}

// With the defaults a large rollout moves in big strides, not pod by pod.
func TestBasicCanaryConvergesQuicklyWithRoomToMove(t *testing.T) {
	tests := []struct {
		replicas, weight, surge, unavailable int32
		maxRounds                            int
	}{
		{100, 100, 25, 25, 4},
		{100, 50, 25, 25, 2},
		{100, 100, 25, 0, 8},
		{100, 100, 0, 25, 8},
		{10, 100, 3, 2, 5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt), func(t *testing.T) {
			in := BasicCanaryInput{Replicas: tt.replicas, Weight: tt.weight, MaxSurge: tt.surge, MaxUnavailable: tt.unavailable,
				Canary: avail(0), Stable: ptr(avail(tt.replicas))}
			rounds, _ := converge(t, in, tt.maxRounds+1)
			if rounds > tt.maxRounds {
				t.Errorf("took %d rounds, want at most %d", rounds, tt.maxRounds)
			}
		})
	}
}
