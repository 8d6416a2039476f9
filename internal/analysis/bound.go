package analysis

import (
	"fmt"
	"unicode/utf8"
)

// MaxStoredValue bounds a measurement's value in the run's status. The conditions see the
// provider's whole result; the status only shows it, and a 10 MiB answer (or every sample of
// a large vector) stored ten times over would push the run past the API server's object size
// limit, after which no status write succeeds.
const MaxStoredValue = 1024

// MaxStoredMessage bounds a message in the run's status (and its Events): provider errors can
// carry an endpoint's answer or a long URL.
const MaxStoredMessage = 1024

// truncate keeps s within limit bytes. A longer s is cut on a UTF-8 boundary and ends with a
// marker giving its full length, so a reader sees that (and how much) was left out. limit
// must leave room for the marker (about 40 bytes).
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	marker := fmt.Sprintf("… (truncated, %d bytes)", len(s))
	keep := max(limit-len(marker), 0)
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + marker
}
