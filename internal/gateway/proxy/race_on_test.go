//go:build race

package proxy

// raceEnabled: the race detector's instrumentation makes allocations of its own.
const raceEnabled = true
