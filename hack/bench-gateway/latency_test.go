package main

import (
	"testing"
	"time"
)

func TestParseWrkDuration(t *testing.T) {
	cases := map[string]time.Duration{
		"520.00us": 520 * time.Microsecond,
		"3.29ms":   3290 * time.Microsecond,
		"1.50s":    1500 * time.Millisecond,
		"2.00m":    2 * time.Minute,
	}
	for in, want := range cases {
		got, err := parseWrkDuration(in)
		if err != nil || (got-want).Abs() > time.Microsecond {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "3.2x"} {
		if _, err := parseWrkDuration(bad); err == nil {
			t.Errorf("parseWrkDuration(%q) accepted", bad)
		}
	}
}

func TestHalfLoadMedianOfRounds(t *testing.T) {
	h := halfLoad{rounds: []latencyRound{{addedP99: 5 * time.Millisecond}, {addedP99: time.Millisecond}, {addedP99: 2 * time.Millisecond}}}
	if got := h.median(func(r latencyRound) time.Duration { return r.addedP99 }); got != 2*time.Millisecond {
		t.Errorf("median = %v, want 2ms", got)
	}
}

func TestCPUPerRequest(t *testing.T) {
	r := wrkResult{requests: 80_000, cpuSeconds: 3.2}
	if got := r.cpuPerRequest(); got != 40*time.Microsecond {
		t.Errorf("cpuPerRequest = %v, want 40µs", got)
	}
	if got := micros(r.cpuPerRequest()); got != "40.0 µs" {
		t.Errorf("micros = %q, want \"40.0 µs\"", got)
	}
	if got := (wrkResult{}).cpuPerRequest(); got != 0 {
		t.Errorf("cpuPerRequest of no requests = %v, want 0", got)
	}
}

func TestStatusKiB(t *testing.T) {
	status := "Name:\taviary\nVmHWM:\t   95412 kB\nVmRSS:\t   81372 kB\nRssAnon:\t   20388 kB\nRssFile:\t   55024 kB\n"
	for field, want := range map[string]int64{"VmHWM": 95412, "RssAnon": 20388, "RssFile": 55024, "Missing": 0} {
		if got := statusKiB(status, field); got != want {
			t.Errorf("statusKiB(%s) = %d, want %d", field, got, want)
		}
	}
}
