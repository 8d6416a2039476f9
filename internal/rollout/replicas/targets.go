package replicas

import "math/bits"

// BasicCanaryTargets is where a canary without traffic routing is heading: the canary and
// stable sizes whose pod ratio best approximates weight percent of the traffic, for a
// Rollout of replicas pods that may surge by maxSurge.
//
// It follows Argo Rollouts (approximateWeightedCanaryStableReplicaCounts), not
// the naive ceil(replicas*weight/100) split, because the naive split can be far off the
// weight: 1 replica at weight 1 would move the only pod to the canary. The candidates are
// the canary count rounded up and rounded down, with the two sizes summing to replicas, or
// to replicas+1 when maxSurge allows one extra pod; the candidate whose canary share is
// closest to weight wins, and on equal distance the earlier candidate (the one without the
// extra pod, then the larger canary). Rules that shape the candidates:
//
//   - Weight 0 and 100 are exact: (0, replicas) and (replicas, 0).
//   - Any other weight gives each version at least one pod, except a single replica with no
//     surge, which cannot be split and goes to whichever side the weight is nearer.
//   - When the exact share falls halfway between two counts, the larger canary wins.
//
// One deliberate difference: Argo drops the rounded-down candidate on a tie even when the
// rounded-up one is excluded (it would leave the stable no pod), so e.g. 10 replicas at
// weight 95 with maxSurge 0 has no candidate and Argo returns a 0-pod canary. Here the tie
// rule only applies when the rounded-up candidate exists, giving 9 canary and 1 stable.
func BasicCanaryTargets(replicas, weight, maxSurge int32) (canary, stable int32) {
	replicas, weight, maxSurge = max(replicas, 0), clampWeight(weight), max(maxSurge, 0)
	if replicas == 0 {
		return 0, 0
	}
	best := closestSplit(splitCandidates(int64(replicas), int64(weight), maxSurge > 0), int64(weight))
	return int32(best.canary), int32(best.total - best.canary)
}

// split is one way of dividing total pods, canary of which go to the canary.
type split struct{ canary, total int64 }

// splitCandidates lists, in order of preference on ties, the splits BasicCanaryTargets
// chooses from. There is always at least one: when rounding up would leave the stable no
// pod at a weight below 100, either replicas > 1 and rounding down still gives the canary
// a pod, or replicas == 1 and surge is allowed, which offers one pod each.
func splitCandidates(replicas, weight int64, canSurge bool) []split {
	up := (replicas*weight + 99) / 100
	down := replicas * weight / 100
	singlePodOK := weight == 0 || weight == 100 || (replicas == 1 && !canSurge)
	upOK := up < replicas || singlePodOK
	downOK := down > 0 || singlePodOK

	var out []split
	if upOK {
		out = append(out, split{up, replicas})
	}
	// On a halfway tie the larger canary wins, so rounding down is only a candidate when
	// rounding up is not.
	tieGoesUp := upOK && halfway(replicas, weight)
	if downOK && !tieGoesUp {
		out = append(out, split{down, replicas})
	}
	if canSurge {
		// Argo keeps the counts rounded from replicas here and only adds the extra pod to
		// the total, which is what makes e.g. 3 replicas at 50% become 2 canary + 2 stable.
		total := replicas + 1
		out = append(out, split{up, total})
		if downOK && !halfway(total, weight) {
			out = append(out, split{down, total})
		}
	}
	return out
}

// halfway reports whether weight percent of total lies exactly halfway between two counts,
// in which case rounding up and down are equally close and the larger canary is preferred.
func halfway(total, weight int64) bool { return total*weight%100 == 50 }

// closestSplit is the first candidate whose canary share is nearest to weight.
func closestSplit(candidates []split, weight int64) split {
	best := candidates[0]
	for _, c := range candidates[1:] {
		if c.nearerThan(best, weight) {
			best = c
		}
	}
	return best
}

// nearerThan reports whether s's canary percentage is strictly nearer weight than o's.
// The distance |100*canary/total - weight| is compared as exact fractions, by cross
// multiplication in 128 bits, so that ties are real ties and never float rounding noise.
func (s split) nearerThan(o split, weight int64) bool {
	sNum, oNum := s.distanceNumerator(weight), o.distanceNumerator(weight)
	sHi, sLo := bits.Mul64(sNum, uint64(o.total))
	oHi, oLo := bits.Mul64(oNum, uint64(s.total))
	return sHi < oHi || (sHi == oHi && sLo < oLo)
}

// distanceNumerator is |100*canary - weight*total|, the distance from weight scaled by total.
func (s split) distanceNumerator(weight int64) uint64 {
	d := 100*s.canary - weight*s.total
	if d < 0 {
		d = -d
	}
	return uint64(d)
}

// clampWeight keeps a weight within 0..100 percent.
func clampWeight(w int32) int32 { return min(max(w, 0), 100) }
