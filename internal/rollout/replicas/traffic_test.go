package replicas

import "testing"

func TestTrafficRoutedCanary(t *testing.T) {
	tests := []struct {
		name                   string
		in                     TrafficRoutedInput
		wantCanary, wantStable int32
	}{
		{"weight share rounded up, stable stays full",
			TrafficRoutedInput{Replicas: 10, Weight: 10}, 1, 10},
		{"rounding up: 33% of 10",
			TrafficRoutedInput{Replicas: 10, Weight: 33}, 4, 10},
		{"a tiny weight still gets a pod",
			TrafficRoutedInput{Replicas: 10, Weight: 1}, 1, 10},
		{"weight 0",
			TrafficRoutedInput{Replicas: 10, Weight: 0}, 0, 10},
		{"weight 100",
			TrafficRoutedInput{Replicas: 10, Weight: 100}, 10, 10},
		{"replicas 0",
			TrafficRoutedInput{Replicas: 0, Weight: 50}, 0, 0},
		{"out of range input is clamped",
			TrafficRoutedInput{Replicas: -1, Weight: 500}, 0, 0},

		{"setCanaryScale replicas overrides the weight",
			TrafficRoutedInput{Replicas: 10, Weight: 10, Scale: &CanaryScale{Replicas: ptr[int32](3)}}, 3, 10},
		{"setCanaryScale replicas may exceed spec.replicas",
			TrafficRoutedInput{Replicas: 2, Weight: 0, Scale: &CanaryScale{Replicas: ptr[int32](5)}}, 5, 2},
		{"setCanaryScale replicas 0 with traffic 0",
			TrafficRoutedInput{Replicas: 10, Weight: 0, Scale: &CanaryScale{Replicas: ptr[int32](0)}}, 0, 10},
		{"setCanaryScale weight is a share of spec.replicas, rounded up",
			TrafficRoutedInput{Replicas: 10, Weight: 0, Scale: &CanaryScale{Weight: ptr[int32](25)}}, 3, 10},
		{"setCanaryScale replicas wins over weight",
			TrafficRoutedInput{Replicas: 10, Weight: 0, Scale: &CanaryScale{Replicas: ptr[int32](1), Weight: ptr[int32](50)}}, 1, 10},
		{"matchTrafficWeight sizes by traffic again",
			TrafficRoutedInput{Replicas: 10, Weight: 40, Scale: &CanaryScale{MatchTrafficWeight: true, Replicas: ptr[int32](1)}}, 4, 10},

		{"minPodsPerReplicaSet raises a small canary",
			TrafficRoutedInput{Replicas: 10, Weight: 5, MinPodsPerReplicaSet: ptr[int32](2)}, 2, 10},
		{"minPodsPerReplicaSet leaves a larger canary alone",
			TrafficRoutedInput{Replicas: 10, Weight: 50, MinPodsPerReplicaSet: ptr[int32](2)}, 5, 10},
		{"minPodsPerReplicaSet keeps a 0 canary at 0",
			TrafficRoutedInput{Replicas: 10, Weight: 0, MinPodsPerReplicaSet: ptr[int32](2)}, 0, 10},
		{"minPodsPerReplicaSet applies to a setCanaryScale weight",
			TrafficRoutedInput{Replicas: 10, Weight: 0, Scale: &CanaryScale{Weight: ptr[int32](10)}, MinPodsPerReplicaSet: ptr[int32](3)}, 3, 10},
		{"as in Argo, an explicit setCanaryScale replicas is not raised without dynamic stable scale",
			TrafficRoutedInput{Replicas: 10, Weight: 10, Scale: &CanaryScale{Replicas: ptr[int32](1)}, MinPodsPerReplicaSet: ptr[int32](2)}, 1, 10},
		{"minPodsPerReplicaSet does not touch a full stable",
			TrafficRoutedInput{Replicas: 1, Weight: 50, MinPodsPerReplicaSet: ptr[int32](2)}, 2, 1},

		{"dynamic stable scale: stable shrinks once traffic has left it",
			TrafficRoutedInput{Replicas: 10, Weight: 10, DynamicStableScale: true, Actual: &TrafficWeights{Canary: 10, Stable: 90}}, 1, 9},
		{"dynamic stable scale: canary is sized for the new weight, stable for the traffic it still has",
			TrafficRoutedInput{Replicas: 10, Weight: 20, DynamicStableScale: true, Actual: &TrafficWeights{Canary: 10, Stable: 90}}, 2, 9},
		{"dynamic stable scale: stable grows before traffic returns to it",
			TrafficRoutedInput{Replicas: 10, Weight: 20, DynamicStableScale: true, Actual: &TrafficWeights{Canary: 50, Stable: 50}}, 2, 8},
		{"dynamic stable scale: traffic held by other destinations does not count for the stable",
			TrafficRoutedInput{Replicas: 10, Weight: 30, DynamicStableScale: true, Actual: &TrafficWeights{Canary: 30, Stable: 50}}, 3, 7},
		{"dynamic stable scale: unknown actual weights mean the stable still has everything",
			TrafficRoutedInput{Replicas: 10, Weight: 60, DynamicStableScale: true}, 6, 10},
		{"dynamic stable scale: rounding up on both sides",
			TrafficRoutedInput{Replicas: 10, Weight: 33, DynamicStableScale: true, Actual: &TrafficWeights{Canary: 33, Stable: 67}}, 4, 7},
		{"dynamic stable scale at 100: stable scales to 0",
			TrafficRoutedInput{Replicas: 10, Weight: 100, DynamicStableScale: true, Actual: &TrafficWeights{Canary: 100, Stable: 0}}, 10, 0},
		{"dynamic stable scale with minPods: both floors apply",
			TrafficRoutedInput{Replicas: 10, Weight: 95, DynamicStableScale: true, MinPodsPerReplicaSet: ptr[int32](3), Actual: &TrafficWeights{Canary: 95, Stable: 5}}, 10, 3},
		{"dynamic stable scale with minPods: an empty stable stays empty",
			TrafficRoutedInput{Replicas: 10, Weight: 100, DynamicStableScale: true, MinPodsPerReplicaSet: ptr[int32](3), Actual: &TrafficWeights{Canary: 100, Stable: 0}}, 10, 0},
		{"dynamic stable scale: the stable follows traffic even under an explicit canary scale",
			TrafficRoutedInput{Replicas: 10, Weight: 40, Scale: &CanaryScale{Replicas: ptr[int32](2)}, DynamicStableScale: true, Actual: &TrafficWeights{Canary: 40, Stable: 60}}, 2, 6},
		{"dynamic stable scale: an explicit canary scale is raised to minPods",
			TrafficRoutedInput{Replicas: 10, Weight: 40, Scale: &CanaryScale{Replicas: ptr[int32](1)}, MinPodsPerReplicaSet: ptr[int32](2), DynamicStableScale: true, Actual: &TrafficWeights{Canary: 40, Stable: 60}}, 2, 6},

		{"abort: canary keeps its pods, stable is full",
			TrafficRoutedInput{Replicas: 10, Weight: 0, Aborted: true, CurrentCanary: 4}, 4, 10},
		{"abort ignores the weight and any setCanaryScale",
			TrafficRoutedInput{Replicas: 10, Weight: 60, Aborted: true, CurrentCanary: 6, Scale: &CanaryScale{Replicas: ptr[int32](1)}}, 6, 10},
		{"abort with dynamic stable scale: stable back to full at once",
			TrafficRoutedInput{Replicas: 10, Weight: 0, Aborted: true, CurrentCanary: 5, DynamicStableScale: true, Actual: &TrafficWeights{Canary: 50, Stable: 50}}, 5, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canary, stable := TrafficRoutedCanary(tt.in)
			if canary != tt.wantCanary || stable != tt.wantStable {
				t.Errorf("got canary %d stable %d, want %d and %d", canary, stable, tt.wantCanary, tt.wantStable)
			}
		})
	}
}

// Under dynamic stable scaling, whatever the weights, each version keeps enough pods for the
// traffic it receives now, and the stable never exceeds spec.replicas.
func TestTrafficRoutedCanaryCoversActualTraffic(t *testing.T) {
	for _, replicas := range []int32{1, 3, 10, 100} {
		for desired := int32(0); desired <= 100; desired += 5 {
			for actual := int32(0); actual <= 100; actual += 5 {
				in := TrafficRoutedInput{Replicas: replicas, Weight: desired, DynamicStableScale: true,
					Actual: &TrafficWeights{Canary: actual, Stable: 100 - actual}}
				_, stable := TrafficRoutedCanary(in)
				needed := percentOf(replicas, 100-actual, roundUp)
				if stable < needed || stable > replicas {
					t.Fatalf("replicas %d desired %d actual %d: stable %d, needs %d..%d", replicas, desired, actual, stable, needed, replicas)
				}
			}
		}
	}
}
