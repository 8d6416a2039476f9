// Package balance chooses a backend of a weighted rule: at random in proportion to the weights,
// or, when the request carries a user key, deterministically per user.
//
// The per-user choice is weighted rendezvous hashing: every backend b gets the score
// -ln(u(key, b)) / weight(b), where u is a hash of the user key and the backend's stable name
// mapped uniformly into (0, 1], and the lowest score wins. Each score is an exponential random
// variable with rate weight(b), so backend b wins for the share weight(b)/Σweights of users; and
// because a backend's score depends only on the key, its own name and its own weight, raising a
// backend's weight (or lowering another's) can only move users onto it, never off it.
package balance

import (
	"math"
	"math/rand/v2"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// Weighted picks a backend at random in proportion to the weights; nil if all weights are 0.
func Weighted(backends []*route.Backend, total uint64) *route.Backend {
	if total == 0 {
		return nil
	}
	if len(backends) == 1 {
		return backends[0]
	}
	n := rand.Uint64N(total) //nolint:gosec // a weighted choice of backend, not a secret
	for _, b := range backends {
		w := uint64(b.Weight)
		if n < w {
			return b
		}
		n -= w
	}
	return nil
}

// ForUser picks the backend of user key among backends by weighted rendezvous hashing; nil if
// all weights are 0. The choice is a pure function of key, the backends' names and weights.
func ForUser(key string, backends []*route.Backend) *route.Backend {
	var best *route.Backend
	bestScore := math.Inf(1)
	for _, b := range backends {
		if b.Weight == 0 {
			continue
		}
		s := Score(key, b.Name, b.Weight)
		if s < bestScore || best == nil {
			best, bestScore = b, s
		}
	}
	return best
}

// Score is backend name's score for user key at weight: -ln(u)/weight with u in (0, 1].
func Score(key, name string, weight uint32) float64 {
	h := hash64(key, name)
	// 53 random bits into (0, 1]: never 0, so the logarithm is finite.
	u := (float64(h>>11) + 1) / (1 << 53)
	return -math.Log(u) / float64(weight)
}

// hash64 is FNV-1a over key, a separator and name, finished with a 64-bit mixer so that nearby
// keys ("user1", "user2") give independent scores. It is deliberately not seeded per process:
// the mapping must be the same on every replica and after every restart.
func hash64(key, name string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime
	}
	h ^= 0xff
	h *= prime
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= prime
	}
	// splitmix64 finaliser.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
