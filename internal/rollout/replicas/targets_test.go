package replicas

import (
	"fmt"
	"testing"
)

// The expectations below are Argo Rollouts' observable results for its basic-canary split
// (documented in docs/features/canary.md and its own test table), plus the cases where
// this package deliberately differs, marked as such.
func TestBasicCanaryTargets(t *testing.T) {
	tests := []struct {
		replicas, weight, surge int32
		wantCanary, wantStable  int32
	}{
		// Nothing to split.
		{0, 0, 0, 0, 0},
		{0, 50, 1, 0, 0},
		{0, 100, 1, 0, 0},

		// A single pod without surge goes to the side the weight is nearer, halfway to the canary.
		{1, 0, 0, 0, 1},
		{1, 1, 0, 0, 1},
		{1, 49, 0, 0, 1},
		{1, 50, 0, 1, 0},
		{1, 99, 0, 1, 0},
		{1, 100, 0, 1, 0},
		// With surge a single pod gets company: one each.
		{1, 0, 1, 0, 1},
		{1, 1, 1, 1, 1},
		{1, 50, 1, 1, 1},
		{1, 99, 1, 1, 1},
		{1, 100, 1, 1, 0},

		{2, 1, 0, 1, 1},
		{2, 99, 0, 1, 1},
		{2, 1, 1, 1, 2},
		{2, 99, 1, 2, 1},

		{3, 10, 0, 1, 2},
		{3, 33, 0, 1, 2},
		{3, 50, 0, 2, 1}, // halfway: the larger canary
		{3, 10, 1, 1, 3},
		{3, 33, 1, 1, 2},
		{3, 50, 1, 2, 2}, // the surge pod makes an exact 50%

		{5, 20, 2, 1, 4},
		{5, 33, 2, 2, 4},
		{5, 50, 0, 3, 2},
		{5, 50, 2, 3, 3},
		{5, 99, 2, 5, 1},

		{10, 0, 1, 0, 10},
		{10, 1, 0, 1, 9},
		{10, 14, 0, 1, 9},
		{10, 15, 0, 2, 8},
		{10, 15, 3, 2, 9}, // canary.md: "15% of 10" is 2 canary and 9 stable
		{10, 1, 1, 1, 10},
		{10, 18, 1, 2, 9},
		{10, 20, 1, 2, 8},
		{10, 23, 1, 2, 8},
		{10, 24, 1, 3, 8},
		{10, 33, 3, 3, 7},
		{10, 99, 0, 9, 1},
		{10, 99, 1, 10, 1},
		{10, 100, 1, 10, 0},

		// Differs from Argo: Argo finds no candidate here and returns a 0-pod canary.
		{10, 95, 0, 9, 1},
		{2, 75, 0, 1, 1},

		{100, 1, 25, 1, 99},
		{100, 33, 25, 33, 67},
		{100, 99, 25, 99, 1},

		// Out-of-range input is clamped rather than trusted.
		{10, -5, 1, 0, 10},
		{10, 150, 1, 10, 0},
		{-4, 50, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("replicas=%d/weight=%d/surge=%d", tt.replicas, tt.weight, tt.surge), func(t *testing.T) {
			canary, stable := BasicCanaryTargets(tt.replicas, tt.weight, tt.surge)
			if canary != tt.wantCanary || stable != tt.wantStable {
				t.Errorf("got canary %d stable %d, want %d and %d", canary, stable, tt.wantCanary, tt.wantStable)
			}
		})
	}
}

// The split's shape must hold for every input, not only the table's.
func TestBasicCanaryTargetsProperties(t *testing.T) {
	for replicas := int32(0); replicas <= 120; replicas++ {
		for weight := int32(0); weight <= 100; weight++ {
			for _, surge := range []int32{0, 1, 30} {
				canary, stable := BasicCanaryTargets(replicas, weight, surge)
				where := fmt.Sprintf("replicas=%d weight=%d surge=%d: canary %d stable %d", replicas, weight, surge, canary, stable)
				total := canary + stable
				sumOK := total == replicas || (surge > 0 && total == replicas+1)
				switch {
				case canary < 0 || stable < 0:
					t.Fatalf("%s: negative", where)
				case replicas > 0 && !sumOK:
					t.Fatalf("%s: sum must be replicas, or replicas+1 when surging", where)
				case replicas == 0 && total != 0:
					t.Fatalf("%s: nothing to split", where)
				case weight == 0 && canary != 0, weight == 100 && stable != 0:
					t.Fatalf("%s: weights 0 and 100 are exact", where)
				case weight > 0 && weight < 100 && total > 1 && (canary == 0 || stable == 0):
					t.Fatalf("%s: a partial weight gives each version a pod", where)
				}
			}
		}
	}
}

// The split never moves pods away from the canary as the weight rises.
func TestBasicCanaryTargetsMonotonic(t *testing.T) {
	for replicas := int32(1); replicas <= 120; replicas++ {
		for _, surge := range []int32{0, 1} {
			prev := int32(0)
			for weight := int32(0); weight <= 100; weight++ {
				canary, _ := BasicCanaryTargets(replicas, weight, surge)
				if canary < prev {
					t.Fatalf("replicas=%d surge=%d: canary fell from %d to %d at weight %d", replicas, surge, prev, canary, weight)
				}
				prev = canary
			}
		}
	}
}
