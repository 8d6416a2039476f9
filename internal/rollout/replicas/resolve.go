package replicas

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// rounding says which way a percentage of the replica count is rounded to whole pods.
type rounding bool

const (
	roundDown rounding = false
	roundUp   rounding = true
)

// ResolveSurgeUnavailable turns maxSurge and maxUnavailable (a pod count, or a percentage
// written "N%") into pod counts for a Rollout of the given size, as Deployments do.
//
// A surge percentage rounds up and an unavailable percentage rounds down, so that a small
// Rollout errs towards creating pods rather than losing them. If both come out 0 the
// update could never move, so unavailable becomes 1. Unavailable is then capped at
// replicas (which makes it 0 for a Rollout scaled to zero), as Argo Rollouts does; surge is
// not capped. The error names the field whose value is malformed or negative.
func ResolveSurgeUnavailable(replicas int32, maxSurge, maxUnavailable intstr.IntOrString) (surge, unavailable int32, err error) {
	replicas = max(replicas, 0)
	if surge, err = podsFor("maxSurge", maxSurge, replicas, roundUp); err != nil {
		return 0, 0, err
	}
	if unavailable, err = podsFor("maxUnavailable", maxUnavailable, replicas, roundDown); err != nil {
		return 0, 0, err
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, min(unavailable, replicas), nil
}

// podsFor resolves one int-or-percentage field to a pod count for replicas.
func podsFor(field string, v intstr.IntOrString, replicas int32, r rounding) (int32, error) {
	switch v.Type {
	case intstr.Int:
		if v.IntVal < 0 {
			return 0, fmt.Errorf("%s: must not be negative, got %d", field, v.IntVal)
		}
		return v.IntVal, nil
	case intstr.String:
		pct, err := parsePercent(v.StrVal)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", field, err)
		}
		return percentOf(replicas, pct, r), nil
	default:
		return 0, fmt.Errorf("%s: unknown int-or-string type %d", field, v.Type)
	}
}

// parsePercent parses "N%" with N a non-negative integer. A bare number in a string is
// rejected, as Kubernetes does, because it is ambiguous between a count and a percentage.
func parsePercent(s string) (int32, error) {
	digits, ok := strings.CutSuffix(s, "%")
	if !ok {
		return 0, fmt.Errorf("%q is not a percentage like \"25%%\"", s)
	}
	n, err := strconv.ParseInt(digits, 10, 32)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative whole percentage", s)
	}
	return int32(n), nil
}

// percentOf is pct percent of n (both non-negative), rounded as asked. It works in 64 bits
// so that neither large replica counts nor percentages above 100 (legal for maxSurge)
// overflow, and saturates at the int32 range.
func percentOf(n, pct int32, r rounding) int32 {
	product := int64(n) * int64(pct)
	if r == roundUp {
		product += 99
	}
	return int32(min(product/100, math.MaxInt32))
}
