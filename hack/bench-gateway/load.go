package main

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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

// perCPUSecond is the requests served per second of the proxy's CPU time.
func (r wrkResult) perCPUSecond() float64 { return float64(r.requests) / r.cpuSeconds }

// cpuPerRequest is the proxy's CPU time per request served.
func (r wrkResult) cpuPerRequest() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return time.Duration(r.cpuSeconds / float64(r.requests) * float64(time.Second))
}

// wrk runs wrk against url and measures the CPU the proxy processes pids used meanwhile.
// Extra arguments go after the URL (a script and its arguments).
func wrk(ctx context.Context, c config, url string, pids []int, extra ...string) (wrkResult, error) {
	before := cpuOf(pids)
	args := []string{"-c", c.loadCPU, "wrk", "-t1", "-c" + strconv.Itoa(c.connections), "-d" + strconv.Itoa(int(c.duration.Seconds())) + "s", "--latency", url}
	args = append(args, extra...)
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

//go:embed pace.lua
var paceScript []byte

// paceMeanMs is the mean pause of a paced wrk connection between an answer and its next request.
const paceMeanMs = 7

// writePaceScript puts pace.lua where wrk can read it.
func writePaceScript(dir string) (string, error) {
	script := filepath.Join(dir, "pace.lua")
	return script, os.WriteFile(script, paceScript, 0o600)
}

// pacedWrk runs wrk at about rps requests per second (pace.lua): enough connections that each,
// pausing paceMeanMs on average after an answer, adds up to rps. It is closed loop, but at a
// load well under the maximum the pauses, not the answers, set the pace.
// The CPU the processes pids used meanwhile is measured as in wrk.
func pacedWrk(ctx context.Context, c config, script, url string, pids []int, rps float64) (wrkResult, int, error) {
	// A request takes about 0.7 ms besides the pause, and wrk's timer adds up to 1 ms.
	conns := int(math.Ceil(rps * (paceMeanMs + 0.7) / 1000))
	c.connections = conns
	r, err := wrk(ctx, c, url, pids, "-s", script, "--", strconv.Itoa(paceMeanMs))
	return r, conns, err
}

// parseWrkDuration reads a latency as wrk prints it: "520.00us", "3.29ms", "1.02s", "2.00m".
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return time.Duration(f * float64(u.unit)), err
		}
	}
	return 0, fmt.Errorf("not a wrk latency: %q", s)
}

// peakRSS sums the peak resident memory (VmHWM) of pids.
func peakRSS(pids []int) string { return sumStatus(pids, "VmHWM") }

// anonRSS sums the resident anonymous memory (RssAnon: heap and stacks, not the pages of the
// program's file, which the page cache shares) of pids now.
func anonRSS(pids []int) string { return sumStatus(pids, "RssAnon") }

// sumStatus sums a kB field of /proc/PID/status over pids, in MiB.
func sumStatus(pids []int, field string) string {
	var kib int64
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		kib += statusKiB(string(data), field)
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

// statusKiB reads field ("VmHWM", "RssAnon", …) from the text of a /proc/PID/status; 0 if absent.
func statusKiB(status, field string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
