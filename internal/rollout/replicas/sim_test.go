package replicas

import (
	"fmt"
	"slices"
	"testing"
)

// This file holds the test harness for BasicCanary: an independent statement of the safety
// invariants, and a simulation that applies moves until nothing changes.

// effectiveLimits is MaxSurge and MaxUnavailable after the fencepost rule.
func effectiveLimits(in BasicCanaryInput) (surge, unavailable int64) {
	surge, unavailable = int64(in.MaxSurge), int64(in.MaxUnavailable)
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// expectedTargets restates where each ReplicaSet must end up.
func expectedTargets(in BasicCanaryInput) (canary, stable int32) {
	if in.Stable == nil {
		return in.Replicas, 0
	}
	return BasicCanaryTargets(in.Replicas, in.Weight, in.MaxSurge)
}

// move is one ReplicaSet's part in a planned move.
type move struct {
	name           string
	from           Counts
	to, target     int32
	exists         bool // false for the absent stable of a first deploy
	mustStayAtZero bool
}

func movesOf(in BasicCanaryInput, res BasicCanaryResult) []move {
	canaryTarget, stableTarget := expectedTargets(in)
	ms := []move{{name: "canary", from: in.Canary, to: res.Canary, target: canaryTarget, exists: true}}
	if in.Stable != nil {
		ms = append(ms, move{name: "stable", from: *in.Stable, to: res.Stable, target: stableTarget, exists: true})
	} else {
		ms = append(ms, move{name: "stable", to: res.Stable, mustStayAtZero: true})
	}
	for i, o := range in.Others {
		to := int32(-1)
		if i < len(res.Others) {
			to = res.Others[i]
		}
		ms = append(ms, move{name: fmt.Sprintf("others[%d]", i), from: o, to: to, exists: true})
	}
	return ms
}

// checkMove fails tb unless res is a safe move from in towards the targets:
//   - every ReplicaSet moves towards its target (others towards 0) without overshooting;
//   - if anything is scaled up, the spec total with every scale-up applied and no
//     scale-down yet stays within Replicas+MaxSurge;
//   - the available pods lost by all scale-downs together, counting only pods that are
//     available and within spec (the ReplicaSet controller deletes the rest first), do not
//     take the durable available total below Replicas-MaxUnavailable (or lower it at all
//     when it already is below).
//
// Both limits are checked for the worst order of applying the changes (all scale-ups
// first, or all scale-downs first), so every order is safe.
func checkMove(tb testing.TB, in BasicCanaryInput, res BasicCanaryResult) {
	tb.Helper()
	if len(res.Others) != len(in.Others) {
		tb.Fatalf("%s: got %d others, want %d", describe(in), len(res.Others), len(in.Others))
	}
	surge, unavailable := effectiveLimits(in)
	var specTotal, ups, durable, lost int64
	for _, m := range movesOf(in, res) {
		if m.mustStayAtZero {
			if m.to != 0 {
				tb.Fatalf("%s: stable is %d without a stable ReplicaSet", describe(in), m.to)
			}
			continue
		}
		lo, hi := min(m.from.Replicas, m.target), max(m.from.Replicas, m.target)
		if m.to < lo || m.to > hi {
			tb.Fatalf("%s: %s went %d -> %d, not towards %d", describe(in), m.name, m.from.Replicas, m.to, m.target)
		}
		keep := min(m.from.Replicas, m.from.Available)
		specTotal += int64(m.from.Replicas)
		durable += int64(keep)
		if m.to > m.from.Replicas {
			ups += int64(m.to - m.from.Replicas)
		}
		if m.to < keep {
			lost += int64(keep - m.to)
		}
	}
	if ups > 0 && specTotal+ups > int64(in.Replicas)+surge {
		tb.Fatalf("%s -> %s: spec total %d+%d exceeds replicas %d + surge %d", describe(in), describeResult(res), specTotal, ups, in.Replicas, surge)
	}
	if slack := max(durable-(int64(in.Replicas)-unavailable), 0); lost > slack {
		tb.Fatalf("%s -> %s: loses %d available pods, only %d may go (available %d, min %d)",
			describe(in), describeResult(res), lost, slack, durable, int64(in.Replicas)-unavailable)
	}
}

// apply is the state after res was applied and every pod became available.
func apply(in BasicCanaryInput, res BasicCanaryResult) BasicCanaryInput {
	in.Canary = Counts{Replicas: res.Canary, Available: res.Canary}
	if in.Stable != nil {
		in.Stable = &Counts{Replicas: res.Stable, Available: res.Stable}
	}
	others := make([]Counts, len(in.Others))
	for i := range in.Others {
		others[i] = Counts{Replicas: res.Others[i], Available: res.Others[i]}
	}
	in.Others = others
	return in
}

// settled reports whether res changes nothing and every pod of in is available, so that
// calling BasicCanary again could not give anything new.
func settled(in BasicCanaryInput, res BasicCanaryResult) bool {
	for _, m := range movesOf(in, res) {
		if m.exists && (m.to != m.from.Replicas || m.from.Available != m.from.Replicas) {
			return false
		}
	}
	return true
}

// distance is how many pod additions and removals separate in from its targets: an upper
// bound on the rounds convergence needs, since every round moves at least one pod.
func distance(in BasicCanaryInput) int {
	d := 0
	for _, m := range movesOf(in, BasicCanaryResult{Others: make([]int32, len(in.Others))}) {
		if m.exists {
			d += int(max(m.from.Replicas-m.target, m.target-m.from.Replicas))
		}
	}
	return d
}

// converge applies BasicCanary until it settles, checking every move, and returns the
// number of calls that changed something and the final state. It fails tb if that takes
// more than maxRounds calls or ends anywhere but the targets.
func converge(tb testing.TB, in BasicCanaryInput, maxRounds int) (int, BasicCanaryInput) {
	tb.Helper()
	start := in
	changed := 0
	for calls := 0; ; calls++ {
		if calls > maxRounds {
			tb.Fatalf("%s: no convergence after %d calls, at %s", describe(start), maxRounds, describe(in))
		}
		res := BasicCanary(in)
		checkMove(tb, in, res)
		if settled(in, res) {
			break
		}
		if !slices.Equal(res.Others, replicasOf(in.Others)) || res.Canary != in.Canary.Replicas || (in.Stable != nil && res.Stable != in.Stable.Replicas) {
			changed++
		}
		in = apply(in, res)
	}
	canaryTarget, stableTarget := expectedTargets(in)
	atTargets := in.Canary.Replicas == canaryTarget && (in.Stable == nil || in.Stable.Replicas == stableTarget)
	for _, o := range in.Others {
		atTargets = atTargets && o.Replicas == 0
	}
	if !atTargets {
		tb.Fatalf("%s: settled at %s, not at canary %d stable %d", describe(start), describe(in), canaryTarget, stableTarget)
	}
	return changed, in
}

func replicasOf(rss []Counts) []int32 {
	if len(rss) == 0 {
		return nil
	}
	out := make([]int32, len(rss))
	for i, rs := range rss {
		out[i] = rs.Replicas
	}
	return out
}

func describe(in BasicCanaryInput) string {
	stable := "nil"
	if in.Stable != nil {
		stable = fmt.Sprint(*in.Stable)
	}
	return fmt.Sprintf("{replicas %d weight %d surge %d unavailable %d canary %v stable %s others %v}",
		in.Replicas, in.Weight, in.MaxSurge, in.MaxUnavailable, in.Canary, stable, in.Others)
}

func describeResult(res BasicCanaryResult) string {
	return fmt.Sprintf("{canary %d stable %d others %v}", res.Canary, res.Stable, res.Others)
}
