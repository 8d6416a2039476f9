package replicas

import "testing"

// FuzzBasicCanaryConverges drives BasicCanary from arbitrary small states: every move must
// respect both limits and head for the targets, and repeated moves must settle exactly on
// the targets within one round per pod of distance (plus one for pods not yet available).
// Halfway through, the weight may change (a new step, an abort) and spec.replicas may
// change (an autoscaler), as they can while a rollout is in flight.
func FuzzBasicCanaryConverges(f *testing.F) {
	f.Add(uint8(10), uint8(20), uint8(1), uint8(1), uint8(0), uint8(0), true, uint8(10), uint8(10), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add(uint8(5), uint8(33), uint8(0), uint8(1), uint8(2), uint8(0), true, uint8(3), uint8(1), uint8(1), uint8(2), uint8(1), uint8(0), uint8(50), uint8(7))
	f.Add(uint8(3), uint8(50), uint8(1), uint8(0), uint8(0), uint8(0), false, uint8(0), uint8(0), uint8(2), uint8(3), uint8(3), uint8(1), uint8(100), uint8(1))
	f.Add(uint8(1), uint8(99), uint8(0), uint8(0), uint8(1), uint8(1), true, uint8(1), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add(uint8(0), uint8(100), uint8(2), uint8(0), uint8(4), uint8(9), true, uint8(4), uint8(2), uint8(1), uint8(5), uint8(5), uint8(0), uint8(1), uint8(12))

	f.Fuzz(func(t *testing.T, replicas, weight, surge, unavailable, canaryReplicas, canaryAvailable uint8, hasStable bool,
		stableReplicas, stableAvailable, nOthers, otherReplicas, otherAvailable, otherStep, nextWeight, nextReplicas uint8) {
		in := BasicCanaryInput{
			Replicas:       int32(replicas % 40),
			Weight:         int32(weight % 101),
			MaxSurge:       int32(surge % 8),
			MaxUnavailable: int32(unavailable % 8),
			Canary:         Counts{Replicas: int32(canaryReplicas % 50), Available: int32(canaryAvailable % 60)},
		}
		if hasStable {
			in.Stable = &Counts{Replicas: int32(stableReplicas % 50), Available: int32(stableAvailable % 60)}
		}
		for i := range int32(nOthers % 4) {
			// Vary the others from one fixed seed so that three of them cost no more inputs.
			in.Others = append(in.Others, Counts{
				Replicas:  (int32(otherReplicas) + i*int32(otherStep)) % 30,
				Available: (int32(otherAvailable) + i*int32(otherStep)) % 35,
			})
		}
		_, mid := converge(t, in, distance(in)+2)

		mid.Weight = int32(nextWeight % 101)
		mid.Replicas = int32(nextReplicas % 40)
		converge(t, mid, distance(mid)+2)
	})
}
