package rollout

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// writeMemo remembers, per Rollout, the resourceVersion our last status write replaced. The
// manager's cache sees that write a moment later, and a reconcile that starts in between (the
// ReplicaSet events of the same reconcile arrive quickly) would plan from the status before
// the write. Its status write fails the version check, but what it applies before that does
// not: right after a promotion it could take the old version for the stable one and drop that
// version's scale-down deadline, so that scaleDownDelaySeconds started again from zero.
type writeMemo struct {
	mu       sync.Mutex
	replaced map[types.NamespacedName]replacedVersion
}

type replacedVersion struct {
	resourceVersion string
	at              time.Time
}

// staleFor bounds how long a remembered write counts: a cache that has not caught up by then
// is not merely slow, and reconciling from it beats waiting for ever.
const staleFor = 10 * time.Second

// staleRetry is how soon a reconcile that found the cache behind our own write runs again.
const staleRetry = 100 * time.Millisecond

// wrote records that a write replaced resourceVersion replaced of the Rollout key.
func (m *writeMemo) wrote(key types.NamespacedName, replaced string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.replaced == nil {
		m.replaced = map[types.NamespacedName]replacedVersion{}
	}
	m.replaced[key] = replacedVersion{resourceVersion: replaced, at: now}
}

// stale reports whether a Rollout read at resourceVersion is one our last write replaced.
// Once the cache shows any other version the record is dropped.
func (m *writeMemo) stale(key types.NamespacedName, resourceVersion string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.replaced[key]
	if !ok {
		return false
	}
	if rec.resourceVersion == resourceVersion && now.Sub(rec.at) < staleFor {
		return true
	}
	delete(m.replaced, key)
	return false
}
