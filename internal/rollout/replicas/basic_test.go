package replicas

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func avail(n int32) Counts { return Counts{Replicas: n, Available: n} }

func ptr[T any](v T) *T { return &v }

// One call, one move: each case says what a single BasicCanary call must return.
func TestBasicCanaryOneMove(t *testing.T) {
	tests := []struct {
		name string
		in   BasicCanaryInput
		want BasicCanaryResult
	}{
		{
			name: "first step: surge and unavailable both spent",
			in:   BasicCanaryInput{Replicas: 10, Weight: 10, MaxSurge: 1, MaxUnavailable: 1, Canary: avail(0), Stable: ptr(avail(10))},
			want: BasicCanaryResult{Canary: 1, Stable: 9},
		},
		{
			name: "no unavailability allowed: canary surges, stable waits",
			in:   BasicCanaryInput{Replicas: 10, Weight: 30, MaxSurge: 3, MaxUnavailable: 0, Canary: avail(0), Stable: ptr(avail(10))},
			want: BasicCanaryResult{Canary: 3, Stable: 10},
		},
		{
			name: "no surge allowed: stable shrinks first, canary waits for room",
			in:   BasicCanaryInput{Replicas: 10, Weight: 30, MaxSurge: 0, MaxUnavailable: 5, Canary: avail(0), Stable: ptr(avail(10))},
			want: BasicCanaryResult{Canary: 0, Stable: 7},
		},
		{
			name: "single replica with surge: canary is added beside the stable",
			in:   BasicCanaryInput{Replicas: 1, Weight: 5, MaxSurge: 1, MaxUnavailable: 0, Canary: avail(0), Stable: ptr(avail(1))},
			want: BasicCanaryResult{Canary: 1, Stable: 1},
		},
		{
			name: "single replica without surge, low weight: nothing to do",
			in:   BasicCanaryInput{Replicas: 1, Weight: 20, MaxSurge: 0, MaxUnavailable: 1, Canary: avail(0), Stable: ptr(avail(1))},
			want: BasicCanaryResult{Canary: 0, Stable: 1},
		},
		{
			name: "canary pods not yet available: no more stable pods may go",
			in:   BasicCanaryInput{Replicas: 10, Weight: 50, MaxSurge: 2, MaxUnavailable: 2, Canary: Counts{Replicas: 2, Available: 0}, Stable: ptr(avail(8))},
			want: BasicCanaryResult{Canary: 4, Stable: 8},
		},
		{
			name: "surge budget exhausted: canary waits, stable shrinks as far as availability allows",
			in:   BasicCanaryInput{Replicas: 10, Weight: 50, MaxSurge: 2, MaxUnavailable: 0, Canary: avail(4), Stable: ptr(avail(8))},
			want: BasicCanaryResult{Canary: 4, Stable: 6},
		},
		{
			name: "crash-looping stable pods are removed for free, available ones are not",
			in:   BasicCanaryInput{Replicas: 10, Weight: 50, MaxSurge: 0, MaxUnavailable: 1, Canary: avail(0), Stable: ptr(Counts{Replicas: 10, Available: 6})},
			want: BasicCanaryResult{Canary: 0, Stable: 6},
		},
		{
			name: "available pods above spec are already leaving and do not count",
			in:   BasicCanaryInput{Replicas: 10, Weight: 50, MaxSurge: 0, MaxUnavailable: 1, Canary: avail(2), Stable: ptr(Counts{Replicas: 8, Available: 12})},
			want: BasicCanaryResult{Canary: 2, Stable: 7},
		},
		{
			name: "first deploy: straight to replicas",
			in:   BasicCanaryInput{Replicas: 10, Weight: 20, MaxSurge: 0, MaxUnavailable: 1, Canary: avail(0)},
			want: BasicCanaryResult{Canary: 10},
		},
		{
			name: "canary is the stable: weight is ignored, size follows replicas",
			in:   BasicCanaryInput{Replicas: 4, Weight: 20, MaxSurge: 1, MaxUnavailable: 1, Canary: avail(6)},
			want: BasicCanaryResult{Canary: 4},
		},
		{
			name: "abort: stable grows within surge, canary shrinks within availability",
			in:   BasicCanaryInput{Replicas: 10, Weight: 0, MaxSurge: 1, MaxUnavailable: 1, Canary: avail(5), Stable: ptr(avail(5))},
			want: BasicCanaryResult{Canary: 4, Stable: 6},
		},
		{
			name: "abort with a crash-looping canary: its pods go at once",
			in:   BasicCanaryInput{Replicas: 10, Weight: 0, MaxSurge: 1, MaxUnavailable: 1, Canary: Counts{Replicas: 5, Available: 0}, Stable: ptr(avail(5))},
			want: BasicCanaryResult{Canary: 0, Stable: 6},
		},
		{
			name: "others first: an abandoned canary takes the availability budget, the stable is restored first",
			in: BasicCanaryInput{Replicas: 5, Weight: 20, MaxSurge: 1, MaxUnavailable: 1,
				Canary: avail(0), Stable: ptr(avail(3)), Others: []Counts{avail(2)}},
			want: BasicCanaryResult{Canary: 0, Stable: 4, Others: []int32{1}},
		},
		{
			name: "others go oldest first; their unavailable pods are free",
			in: BasicCanaryInput{Replicas: 10, Weight: 100, MaxSurge: 0, MaxUnavailable: 2,
				Canary: avail(0), Stable: ptr(avail(6)), Others: []Counts{avail(3), {Replicas: 3, Available: 1}}},
			want: BasicCanaryResult{Canary: 0, Stable: 6, Others: []int32{1, 1}},
		},
		{
			name: "stable is not touched while others still hold available pods beyond the budget",
			in: BasicCanaryInput{Replicas: 10, Weight: 100, MaxSurge: 0, MaxUnavailable: 1,
				Canary: avail(0), Stable: ptr(avail(6)), Others: []Counts{avail(4)}},
			want: BasicCanaryResult{Canary: 0, Stable: 6, Others: []int32{3}},
		},
		{
			name: "replicas grew while an old revision holds pods: the stable gets the surge before the canary",
			in: BasicCanaryInput{Replicas: 20, Weight: 50, MaxSurge: 2, MaxUnavailable: 0,
				Canary: avail(5), Stable: ptr(avail(5)), Others: []Counts{avail(8)}},
			want: BasicCanaryResult{Canary: 5, Stable: 9, Others: []int32{8}},
		},
		{
			name: "replicas shrank: both shrink straight to their targets, nothing is lost that may not be",
			in:   BasicCanaryInput{Replicas: 4, Weight: 50, MaxSurge: 1, MaxUnavailable: 1, Canary: avail(5), Stable: ptr(avail(5))},
			want: BasicCanaryResult{Canary: 2, Stable: 2},
		},
		{
			name: "replicas 0: everything goes",
			in: BasicCanaryInput{Replicas: 0, Weight: 50, MaxSurge: 0, MaxUnavailable: 0,
				Canary: avail(2), Stable: ptr(avail(3)), Others: []Counts{avail(1)}},
			want: BasicCanaryResult{Canary: 0, Stable: 0, Others: []int32{0}},
		},
		{
			name: "surge and unavailable both 0 are treated like resolved ones: unavailable 1",
			in:   BasicCanaryInput{Replicas: 3, Weight: 100, Canary: avail(0), Stable: ptr(avail(3))},
			want: BasicCanaryResult{Canary: 0, Stable: 2},
		},
		{
			name: "negative and out-of-range input is clamped",
			in:   BasicCanaryInput{Replicas: 2, Weight: 250, MaxSurge: -1, MaxUnavailable: 1, Canary: Counts{Replicas: -3, Available: -1}, Stable: ptr(avail(2))},
			want: BasicCanaryResult{Canary: 0, Stable: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BasicCanary(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BasicCanary(%s) (-want +got):\n%s", describe(tt.in), diff)
			}
		})
	}
}

// Scenarios as a rollout lives them, round by round, with pods becoming available between
// rounds. Each row is the state after one call.
func TestBasicCanarySequences(t *testing.T) {
	type state struct{ canary, stable int32 }
	tests := []struct {
		name string
		in   BasicCanaryInput
		want []state
	}{
		{
			name: "setWeight 20 of 10 with surge 1 and unavailable 1",
			in:   BasicCanaryInput{Replicas: 10, Weight: 20, MaxSurge: 1, MaxUnavailable: 1, Canary: avail(0), Stable: ptr(avail(10))},
			want: []state{{1, 9}, {2, 8}},
		},
		{
			name: "setWeight 50 of 10, surge 0 unavailable 1: stable gives way before each canary pod",
			in:   BasicCanaryInput{Replicas: 10, Weight: 50, MaxSurge: 0, MaxUnavailable: 1, Canary: avail(0), Stable: ptr(avail(10))},
			want: []state{{0, 9}, {1, 9}, {1, 8}, {2, 8}, {2, 7}, {3, 7}, {3, 6}, {4, 6}, {4, 5}, {5, 5}},
		},
		{
			name: "setWeight 50 of 10, surge 1 unavailable 0: each canary pod is added before a stable one goes",
			in:   BasicCanaryInput{Replicas: 10, Weight: 50, MaxSurge: 1, MaxUnavailable: 0, Canary: avail(0), Stable: ptr(avail(10))},
			want: []state{{1, 10}, {1, 9}, {2, 9}, {2, 8}, {3, 8}, {3, 7}, {4, 7}, {4, 6}, {5, 6}, {5, 5}},
		},
		{
			name: "promote to 100 of 100 with the 25%/25% defaults",
			in:   BasicCanaryInput{Replicas: 100, Weight: 100, MaxSurge: 25, MaxUnavailable: 25, Canary: avail(20), Stable: ptr(avail(80))},
			want: []state{{45, 55}, {70, 30}, {95, 5}, {100, 0}},
		},
		{
			name: "abort from 50% of 10: back to stable, one pod each way per round",
			in:   BasicCanaryInput{Replicas: 10, Weight: 0, MaxSurge: 1, MaxUnavailable: 1, Canary: avail(5), Stable: ptr(avail(5))},
			want: []state{{4, 6}, {3, 7}, {2, 8}, {1, 9}, {0, 10}},
		},
		{
			name: "weight lowered 60 -> 20 of 5 with surge 2 unavailable 1",
			in:   BasicCanaryInput{Replicas: 5, Weight: 20, MaxSurge: 2, MaxUnavailable: 1, Canary: avail(3), Stable: ptr(avail(2))},
			want: []state{{2, 4}, {1, 4}},
		},
		{
			name: "HPA doubles replicas mid-rollout at 50%",
			in:   BasicCanaryInput{Replicas: 20, Weight: 50, MaxSurge: 5, MaxUnavailable: 5, Canary: avail(5), Stable: ptr(avail(5))},
			want: []state{{10, 10}},
		},
		{
			name: "HPA shrinks replicas mid-rollout at 30%, unavailable 0",
			in:   BasicCanaryInput{Replicas: 4, Weight: 30, MaxSurge: 1, MaxUnavailable: 0, Canary: avail(3), Stable: ptr(avail(7))},
			want: []state{{1, 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			var got []state
			for range len(tt.want) + 1 {
				res := BasicCanary(in)
				checkMove(t, in, res)
				if settled(in, res) {
					break
				}
				got = append(got, state{res.Canary, res.Stable})
				in = apply(in, res)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(state{})); diff != "" {
				t.Errorf("rounds (-want +got):\n%s", diff)
			}
		})
	}
}
