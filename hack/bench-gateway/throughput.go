package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// throughputRound is one wrk run each directly, through nginx and through the gateway, and,
// when the CPU of a process can be capped here, one each through the capped proxies.
type throughputRound struct {
	direct, nginx, gateway     wrkResult
	cappedNginx, cappedGateway wrkResult
	cappedOK                   bool
}

func (r throughputRound) rpsRatio() float64 { return r.gateway.rps / r.nginx.rps }

// cpuRatio compares requests per CPU-second of the proxy: the per-core figure even in a round
// where a proxy did not get all of its core (the VM's other tenants, wrk falling behind).
func (r throughputRound) cpuRatio() float64 { return r.gateway.perCPUSecond() / r.nginx.perCPUSecond() }

func (r throughputRound) cappedRatio() float64 { return r.cappedGateway.rps / r.cappedNginx.rps }

// measureThroughput alternates the paths round by round, so that the drift of a shared
// machine touches nginx and the gateway alike; the report gives each round and the medians.
func measureThroughput(ctx context.Context, c config, urls proxyURLs, pids proxyPIDs) ([]throughputRound, string, error) {
	rounds := make([]throughputRound, c.throughputRounds)
	capNote := ""
	for i := range rounds {
		r := &rounds[i]
		var err error
		if r.direct, err = wrk(ctx, c, urls.direct, nil); err != nil {
			return nil, "", err
		}
		if r.nginx, err = wrk(ctx, c, urls.nginx, pids.nginx); err != nil {
			return nil, "", err
		}
		if r.gateway, err = wrk(ctx, c, urls.gateway, pids.gateway); err != nil {
			return nil, "", err
		}
		if c.capPercent <= 0 {
			capNote = "CPU cap off (-cap-percent 0)"
			continue
		}
		if r.cappedNginx, err = cappedWrk(ctx, c, urls.nginx, pids.nginx); err == nil {
			r.cappedGateway, err = cappedWrk(ctx, c, urls.gateway, pids.gateway)
		}
		switch {
		case errors.Is(err, errStillCapped):
			return nil, "", err
		case err != nil:
			capNote = err.Error() // no capped figures for this round; the note says why
		default:
			r.cappedOK = true
		}
	}
	return rounds, capNote, nil
}

// cappedWrk runs wrk with the proxy held to c.capPercent of a core, which makes the proxy
// the bottleneck: its requests/s divided by the cap is what one of its cores can serve.
func cappedWrk(ctx context.Context, c config, url string, pids []int) (wrkResult, error) {
	undo, err := capCPU(pids, c.capPercent)
	if err != nil {
		return wrkResult{}, err
	}
	r, err := wrk(ctx, c, url, pids)
	if uerr := undo(); uerr != nil {
		// Still capped, the next uncapped runs would be wrong: stop the benchmark.
		return r, fmt.Errorf("%w: %w", errStillCapped, uerr)
	}
	return r, err
}

var errStillCapped = errors.New("a proxy could not be uncapped")

func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	v := slices.Clone(values)
	slices.Sort(v)
	return v[len(v)/2]
}

func renderThroughput(b *strings.Builder, c config, rounds []throughputRound, capNote string) {
	fmt.Fprintf(b, "Throughput, %d rounds (each: direct, nginx, gateway, then nginx and gateway capped to %d%% of a core):\n\n",
		len(rounds), c.capPercent)
	fmt.Fprintf(b, "| round | direct req/s | nginx req/s (req per CPU-s) | gateway req/s (req per CPU-s) | ÷ nginx req/s | ÷ nginx per CPU-s | capped: nginx / gateway req/s | ÷ nginx capped |\n|---|---|---|---|---|---|---|---|\n")
	var rps, cpu, capped []float64
	for i, r := range rounds {
		capCells := "— | —"
		if r.cappedOK {
			capCells = fmt.Sprintf("%.0f / %.0f | %.2f×", r.cappedNginx.rps, r.cappedGateway.rps, r.cappedRatio())
			capped = append(capped, r.cappedRatio())
		}
		fmt.Fprintf(b, "| %d | %.0f | %.0f (%.0f) | %.0f (%.0f) | %.2f× | %.2f× | %s |\n", i+1, r.direct.rps,
			r.nginx.rps, r.nginx.perCPUSecond(), r.gateway.rps, r.gateway.perCPUSecond(),
			r.rpsRatio(), r.cpuRatio(), capCells)
		rps, cpu = append(rps, r.rpsRatio()), append(cpu, r.cpuRatio())
	}
	fmt.Fprintf(b, "\n**Gateway ÷ nginx, median of the rounds: %.2f× requests/s on one pinned core, %.2f× requests per CPU-second",
		median(rps), median(cpu))
	if len(capped) > 0 {
		fmt.Fprintf(b, ", %.2f× requests/s with both capped to %d%% of a core (each the bottleneck)", median(capped), c.capPercent)
	}
	fmt.Fprintf(b, "** (goal ≥ 0.8×).")
	if capNote != "" {
		fmt.Fprintf(b, " Capped runs: %s.", capNote)
	}
	b.WriteString("\n\n")
}
