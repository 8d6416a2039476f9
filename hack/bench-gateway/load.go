package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type wrkResult struct {
	rps        float64
	requests   int64
	p50, p99   string
	cpuSeconds float64 // CPU used by the proxy processes during the run
}

var (
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reRequests = regexp.MustCompile(`([0-9]+) requests in`)
	reP50      = regexp.MustCompile(`\s50%\s+(\S+)`)
	reP99      = regexp.MustCompile(`\s99%\s+(\S+)`)
	reErrors   = regexp.MustCompile(`Non-2xx or 3xx responses: ([0-9]+)|Socket errors: .*`)
)

// wrk runs wrk against url and measures the CPU the proxy processes pids used meanwhile.
func wrk(ctx context.Context, c config, url string, pids []int) (wrkResult, error) {
	before := cpuOf(pids)
	args := []string{"-c", c.loadCPU, "wrk", "-t1", "-c" + strconv.Itoa(c.connections), "-d" + strconv.Itoa(int(c.duration.Seconds())) + "s", "--latency", url}
	out, err := exec.CommandContext(ctx, "taskset", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	after := cpuOf(pids)
	s := string(out)
	fmt.Fprintf(os.Stderr, "--- wrk %s\n%s\n", url, s)
	r := wrkResult{cpuSeconds: after - before}
	if m := reRPS.FindStringSubmatch(s); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reRequests.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reP50.FindStringSubmatch(s); m != nil {
		r.p50 = m[1]
	}
	if m := reP99.FindStringSubmatch(s); m != nil {
		r.p99 = m[1]
	}
	if m := reErrors.FindString(s); m != "" {
		return r, fmt.Errorf("wrk %s saw errors: %s", url, m)
	}
	if r.rps == 0 {
		return r, fmt.Errorf("could not read wrk's output:\n%s", s)
	}
	return r, nil
}

// cpuOf sums user+system CPU seconds of pids (0 when there are none).
func cpuOf(pids []int) float64 {
	total := 0.0
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		// After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
		ut, _ := strconv.ParseFloat(fields[11], 64)
		st, _ := strconv.ParseFloat(fields[12], 64)
		total += (ut + st) / 100 // USER_HZ
	}
	return total
}

type rateResult struct {
	p50, p99 time.Duration
	errors   int
}

// fixedRate sends rps requests per second for d (open loop: a request is due at its time
// whether or not earlier ones came back) and reports latency percentiles.
func fixedRate(ctx context.Context, url string, rps float64, d time.Duration) (rateResult, error) {
	if rps < 1 {
		return rateResult{}, fmt.Errorf("rate %.1f too low", rps)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 5 * time.Second}
	interval := time.Duration(float64(time.Second) / rps)
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	start := time.Now()
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			resp, err := client.Get(url)
			ok := err == nil
			if ok {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				ok = resp.StatusCode == http.StatusOK
			}
			lat := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				errs++
				return
			}
			lats = append(lats, lat)
		}()
	}
	wg.Wait()
	if len(lats) == 0 {
		return rateResult{errors: errs}, fmt.Errorf("no successful request to %s", url)
	}
	slices.Sort(lats)
	return rateResult{p50: lats[len(lats)/2].Round(time.Microsecond), p99: lats[len(lats)*99/100].Round(time.Microsecond), errors: errs}, nil
}

// pinnedRate runs fixedRate in a child process pinned to the load CPU, like wrk, so the load
// generator does not compete with the proxy under test for its core.
func pinnedRate(ctx context.Context, c config, url string, rps float64) (rateResult, error) {
	self, err := os.Executable()
	if err != nil {
		return rateResult{}, err
	}
	out, err := exec.CommandContext(ctx, "taskset", "-c", c.loadCPU, self,
		"-rate-url", url, "-rate", strconv.FormatFloat(rps, 'f', 0, 64), "-duration", c.duration.String()).Output()
	if err != nil {
		return rateResult{}, fmt.Errorf("rate run against %s: %w", url, err)
	}
	var p50, p99 int64
	var errs int
	if _, err := fmt.Sscanf(string(out), "%d %d %d", &p50, &p99, &errs); err != nil {
		return rateResult{}, fmt.Errorf("rate run printed %q: %w", out, err)
	}
	return rateResult{p50: time.Duration(p50), p99: time.Duration(p99), errors: errs}, nil
}

// runRate is the child side of pinnedRate: it prints "p50ns p99ns errors".
func runRate(url string, rps float64, d time.Duration) {
	r, err := fixedRate(context.Background(), url, rps, d)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d %d %d\n", int64(r.p50), int64(r.p99), r.errors)
}
