package replicas

// Counts is what the planner knows of one ReplicaSet.
type Counts struct {
	// Replicas is the ReplicaSet's spec.replicas now.
	Replicas int32
	// Available is its status.availableReplicas now.
	Available int32
}

// BasicCanaryInput is the state a canary without traffic routing is planned from.
type BasicCanaryInput struct {
	// Replicas is the Rollout's spec.replicas.
	Replicas int32
	// Weight is the desired canary weight in percent, 0..100: 0 on abort, 100 when promoted
	// fully or past the last step. Values outside 0..100 are clamped.
	Weight int32
	// MaxSurge and MaxUnavailable are the resolved counts (see ResolveSurgeUnavailable). If
	// both are 0, MaxUnavailable is taken as 1, as ResolveSurgeUnavailable would have made it,
	// because with neither no move is ever safe.
	MaxSurge, MaxUnavailable int32
	// Canary is the ReplicaSet of the current pod template.
	Canary Counts
	// Stable is the stable ReplicaSet; nil on the first deploy, or when the canary IS the
	// stable one, in which case the canary is simply brought to Replicas.
	Stable *Counts
	// Others are every other ReplicaSet (older revisions, an abandoned canary), oldest
	// first. They are neither stable nor canary, and go to 0.
	Others []Counts
}

// BasicCanaryResult is the spec.replicas to set on each ReplicaSet of a BasicCanaryInput.
type BasicCanaryResult struct {
	// Canary is the canary's new size.
	Canary int32
	// Stable is the stable's new size; 0 and meaningless when the input had no Stable.
	Stable int32
	// Others are the new sizes of the input's Others, index for index (nil if there were none).
	Others []int32
}

// BasicCanary plans one safe move of a canary without traffic routing, where a version's
// share of traffic is its share of the pods. The move heads for BasicCanaryTargets (or
// Replicas canary pods when there is no stable), and never overshoots.
//
// Two budgets bound the move, both computed from the state as it is now, so that the
// changes are safe whichever order they are applied in:
//
//   - Surge: scale-ups may bring the sum of spec.replicas over all ReplicaSets up to
//     Replicas+MaxSurge, and no further.
//   - Availability: scale-downs may take away available pods only while at least
//     Replicas-MaxUnavailable remain. Pods that are not available are no loss: a
//     ReplicaSet whose spec exceeds its available count may shed that surplus freely,
//     because the ReplicaSet controller deletes pods that are not ready first.
//
// Others spend the availability budget first, as Argo scales older revisions away before
// it touches the stable or canary. Scale-ups spend the surge budget stable first, then
// canary: normally only one of the two is below its target (the canary while the weight
// rises, the stable when it falls or on abort), but after spec.replicas grows both may be,
// and Argo gives the stable precedence. What is left of the availability budget then
// shrinks the canary (when the weight fell) before the stable, so the new version is the
// one that gives way.
//
// Applied repeatedly, with pods becoming available in between, this reaches the targets
// exactly: whenever every pod is available and the targets are not yet reached, one of the
// two budgets is positive and there is a ReplicaSet it may move.
func BasicCanary(in BasicCanaryInput) BasicCanaryResult {
	in = in.normalised()
	canaryTarget, stableTarget := in.targets()
	surge := budget(int64(in.Replicas) + int64(in.MaxSurge) - in.specTotal())
	avail := budget(in.durableAvailable() - (int64(in.Replicas) - int64(in.MaxUnavailable)))

	// Each ReplicaSet is either below its target or above it, never both, so at most one of
	// its up/down amounts is non-zero; the order of the calls is the order of preference
	// for each budget.
	others := shrinkAllToZero(in.Others, &avail)
	stable := in.stableOrZero()
	stableUp := growBy(stable.Replicas, stableTarget, &surge)
	canaryUp := growBy(in.Canary.Replicas, canaryTarget, &surge)
	canaryDown := shrinkBy(in.Canary, canaryTarget, &avail)
	stableDown := shrinkBy(stable, stableTarget, &avail)
	return BasicCanaryResult{
		Canary: in.Canary.Replicas + canaryUp - canaryDown,
		Stable: stable.Replicas + stableUp - stableDown,
		Others: others,
	}
}

// normalised clamps what could only be nonsense (negative counts, weights beyond 0..100)
// and applies the fencepost rule, so that the planner never deadlocks on bad input.
func (in BasicCanaryInput) normalised() BasicCanaryInput {
	in.Replicas = max(in.Replicas, 0)
	in.Weight = clampWeight(in.Weight)
	in.MaxSurge, in.MaxUnavailable = max(in.MaxSurge, 0), max(in.MaxUnavailable, 0)
	if in.MaxSurge == 0 && in.MaxUnavailable == 0 {
		in.MaxUnavailable = 1
	}
	in.Canary = in.Canary.normalised()
	if in.Stable != nil {
		s := in.Stable.normalised()
		in.Stable = &s
	}
	if len(in.Others) > 0 {
		others := make([]Counts, len(in.Others))
		for i, o := range in.Others {
			others[i] = o.normalised()
		}
		in.Others = others
	}
	return in
}

// normalised replaces negative counts by 0.
func (c Counts) normalised() Counts {
	return Counts{Replicas: max(c.Replicas, 0), Available: max(c.Available, 0)}
}

// targets is where the canary and stable are heading. Without a stable the canary is the
// only version, so it takes every pod: the first deploy ignores the steps.
func (in BasicCanaryInput) targets() (canary, stable int32) {
	if in.Stable == nil {
		return in.Replicas, 0
	}
	return BasicCanaryTargets(in.Replicas, in.Weight, in.MaxSurge)
}

// stableOrZero is the stable's counts, or an empty ReplicaSet that needs no moves.
func (in BasicCanaryInput) stableOrZero() Counts {
	if in.Stable == nil {
		return Counts{}
	}
	return *in.Stable
}

// all is every ReplicaSet of the input.
func (in BasicCanaryInput) all() []Counts {
	return append([]Counts{in.Canary, in.stableOrZero()}, in.Others...)
}

// specTotal is the sum of spec.replicas over every ReplicaSet, in 64 bits so that many
// large ReplicaSets cannot overflow it.
func (in BasicCanaryInput) specTotal() int64 {
	var n int64
	for _, c := range in.all() {
		n += int64(c.Replicas)
	}
	return n
}

// durableAvailable is how many available pods every ReplicaSet will keep. Available pods
// above a ReplicaSet's spec are already being deleted, so they do not count.
func (in BasicCanaryInput) durableAvailable() int64 {
	var n int64
	for _, c := range in.all() {
		n += int64(c.durableAvailable())
	}
	return n
}

// durableAvailable is how many of this ReplicaSet's available pods it will keep.
func (c Counts) durableAvailable() int32 { return min(c.Replicas, c.Available) }

// budget is how many pods a move may still add (surge) or take away (availability).
// It is 64-bit because it starts as a difference of sums; negative means exhausted.
type budget int64

// spend takes up to want pods from the budget and returns how many it got.
func (b *budget) spend(want int32) int32 {
	got := min(int64(want), max(int64(*b), 0))
	*b -= budget(got)
	return int32(got)
}

// growBy is how many pods to add to a ReplicaSet of current pods to bring it towards a
// higher target, as far as the surge budget allows; 0 if it is not below its target.
func growBy(current, target int32, surge *budget) int32 {
	if current >= target {
		return 0
	}
	return surge.spend(target - current)
}

// shrinkBy is how many pods to take from a ReplicaSet to bring it towards a lower target;
// 0 if it is not above its target. Its pods that are not available go first and cost
// nothing; the rest are paid for out of the availability budget.
func shrinkBy(rs Counts, target int32, avail *budget) int32 {
	if rs.Replicas <= target {
		return 0
	}
	excess := rs.Replicas - target
	free := min(excess, rs.Replicas-rs.durableAvailable())
	return free + avail.spend(excess-free)
}

// shrinkAllToZero is the new size of each ReplicaSet in rss, shrunk towards 0 out of one
// availability budget in the order given (the caller passes the oldest first, as Argo
// scales the oldest revisions away first).
func shrinkAllToZero(rss []Counts, avail *budget) []int32 {
	if len(rss) == 0 {
		return nil
	}
	out := make([]int32, len(rss))
	for i, rs := range rss {
		out[i] = rs.Replicas - shrinkBy(rs, 0, avail)
	}
	return out
}
