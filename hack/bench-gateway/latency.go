package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// halfLoad is the latency at half the gateway's maximum: rounds of paced wrk runs (pacedWrk),
// through the gateway and directly in turn, so both see the same machine. The figure is the
// median over the rounds of the p99 difference: on a 2-core VM one round's difference swings
// by a millisecond either way. nginx and the floor proxy (floor_linux.go) run the same rounds,
// as references for what a proxy hop adds on this machine: a common one, and the least one.
type halfLoad struct {
	target   float64
	conns    int
	duration time.Duration // of each run
	rounds   []latencyRound
}

type latencyRound struct {
	gateway, nginx, floor, direct wrkResult
	addedP50, addedP99            time.Duration // by the gateway
	nginxP50, nginxP99            time.Duration // added by nginx
	floorP50, floorP99            time.Duration // added by the floor proxy
}

// proxyURLs are the ways to the same backend the benchmark compares.
type proxyURLs struct{ gateway, nginx, floor, direct string }

// proxyPIDs are the processes of each proxy, whose CPU per request the rounds measure.
type proxyPIDs struct{ gateway, nginx, floor []int }

func measureHalfLoad(ctx context.Context, c config, dir string, urls proxyURLs, pids proxyPIDs, rps float64) (halfLoad, error) {
	h := halfLoad{target: rps, duration: c.latencyDuration}
	run := c
	run.duration = c.latencyDuration
	script, err := writePaceScript(dir)
	if err != nil {
		return h, err
	}
	for range c.latencyRounds {
		var r latencyRound
		paths := []struct {
			result   *wrkResult
			url      string
			pids     []int
			p50, p99 *time.Duration // what the path adds to the direct one; nil for direct itself
		}{
			{&r.gateway, urls.gateway, pids.gateway, &r.addedP50, &r.addedP99},
			{&r.nginx, urls.nginx, pids.nginx, &r.nginxP50, &r.nginxP99},
			{&r.floor, urls.floor, pids.floor, &r.floorP50, &r.floorP99},
			{&r.direct, urls.direct, nil, nil, nil},
		}
		for _, p := range paths {
			if *p.result, h.conns, err = pacedWrk(ctx, run, script, p.url, p.pids, rps); err != nil {
				return h, err
			}
		}
		for _, p := range paths {
			if p.p50 == nil {
				continue
			}
			if *p.p50, *p.p99, err = added(*p.result, r.direct); err != nil {
				return h, err
			}
		}
		h.rounds = append(h.rounds, r)
	}
	return h, nil
}

// added is what a proxy adds to the direct p50 and p99.
func added(through, direct wrkResult) (p50, p99 time.Duration, err error) {
	if p50, err = difference(through.p50, direct.p50); err != nil {
		return 0, 0, err
	}
	p99, err = difference(through.p99, direct.p99)
	return p50, p99, err
}

func difference(through, direct string) (time.Duration, error) {
	a, err := parseWrkDuration(through)
	if err != nil {
		return 0, err
	}
	b, err := parseWrkDuration(direct)
	if err != nil {
		return 0, err
	}
	return a - b, nil
}

func (h halfLoad) median(of func(latencyRound) time.Duration) time.Duration {
	values := make([]time.Duration, 0, len(h.rounds))
	for _, r := range h.rounds {
		values = append(values, of(r))
	}
	slices.Sort(values)
	if len(values) == 0 {
		return 0
	}
	return values[len(values)/2]
}

func (h halfLoad) render(b *strings.Builder) {
	fmt.Fprintf(b, "At half the gateway's maximum (target %.0f requests/s: wrk -c%d, each connection pausing a random 0–%d ms "+
		"after an answer; %d rounds of %s each through the gateway, through nginx, through the floor proxy, then direct):\n\n",
		h.target, h.conns, 2*paceMeanMs, len(h.rounds), h.duration)
	fmt.Fprintf(b, "| round | gateway req/s, p50 / p99 | nginx req/s, p50 / p99 | floor req/s, p50 / p99 | direct req/s, p50 / p99 "+
		"| added by the gateway p50 / p99 | added by nginx p50 / p99 | added by the floor p50 / p99 "+
		"| CPU per request: gateway / nginx / floor |\n|---|---|---|---|---|---|---|---|---|\n")
	for i, r := range h.rounds {
		fmt.Fprintf(b, "| %d | %s | %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s / %s |\n", i+1,
			r.gateway.cell(), r.nginx.cell(), r.floor.cell(), r.direct.cell(),
			r.addedP50, r.addedP99, r.nginxP50, r.nginxP99, r.floorP50, r.floorP99,
			micros(r.gateway.cpuPerRequest()), micros(r.nginx.cpuPerRequest()), micros(r.floor.cpuPerRequest()))
	}
	fmt.Fprintf(b, "\n**Added latency, median of the rounds: gateway p50 %s, p99 %s** (goal: p99 < 1 ms); nginx p50 %s, p99 %s; "+
		"the floor proxy p50 %s, p99 %s. CPU per request at this load (user and system, from /proc), median of the rounds: "+
		"gateway %s, nginx %s, the floor proxy %s.\n\n",
		h.median(func(r latencyRound) time.Duration { return r.addedP50 }),
		h.median(func(r latencyRound) time.Duration { return r.addedP99 }),
		h.median(func(r latencyRound) time.Duration { return r.nginxP50 }),
		h.median(func(r latencyRound) time.Duration { return r.nginxP99 }),
		h.median(func(r latencyRound) time.Duration { return r.floorP50 }),
		h.median(func(r latencyRound) time.Duration { return r.floorP99 }),
		micros(h.median(func(r latencyRound) time.Duration { return r.gateway.cpuPerRequest() })),
		micros(h.median(func(r latencyRound) time.Duration { return r.nginx.cpuPerRequest() })),
		micros(h.median(func(r latencyRound) time.Duration { return r.floor.cpuPerRequest() })))
}

// cell is a run as the latency table shows it: requests per second, p50 / p99.
func (r wrkResult) cell() string { return fmt.Sprintf("%.0f, %s / %s", r.rps, r.p50, r.p99) }

// micros prints d in microseconds to a tenth: CPU per request is tens of them.
func micros(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}
