// Command bench-gateway measures `aviary gateway` against the same backend reached directly and
// through nginx as a plain reverse proxy, with wrk, in one run; then the latency the gateway
// adds at half its maximum load, and how long a weight change takes to apply under load and
// whether any request fails meanwhile. It starts its own etcd and kube-apiserver (envtest,
// KUBEBUILDER_ASSETS) and runs the gateway as a separate process with a kubeconfig, as the
// sandbox does. Run it through `make bench-gateway` (hack/bench-gateway/run.sh).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	aviary      string
	duration    time.Duration
	connections int
	proxyCPU    string
	loadCPU     string
	out         string

	latencyRounds   int
	latencyDuration time.Duration

	throughputRounds int
	capPercent       int
	hold             bool
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "floor" {
		// The floor proxy (floor_linux.go), run by the benchmark as a process of its own.
		if err := runFloor(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "bench-gateway floor:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	flag.StringVar(&c.aviary, "aviary", "bin/aviary", "aviary binary")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "length of each wrk run")
	flag.IntVar(&c.connections, "connections", 50, "wrk connections")
	flag.StringVar(&c.proxyCPU, "proxy-cpu", "0", "CPU list the proxy under test (gateway or nginx) is pinned to")
	flag.StringVar(&c.loadCPU, "load-cpu", "1", "CPU list wrk and the backend are pinned to")
	flag.IntVar(&c.latencyRounds, "latency-rounds", 9, "rounds of the half-load latency runs (gateway, nginx, direct)")
	flag.DurationVar(&c.latencyDuration, "latency-duration", 5*time.Second, "length of each half-load latency run")
	flag.IntVar(&c.throughputRounds, "throughput-rounds", 5, "rounds of the throughput runs (direct, nginx, gateway, then both capped)")
	flag.IntVar(&c.capPercent, "cap-percent", 40, "share of a core the proxies are capped to in the capped runs (cgroup CPU quota; 0: no capped runs)")
	flag.StringVar(&c.out, "out", "", "write the markdown report here as well as to stdout")
	flag.BoolVar(&c.hold, "hold", false, "measure nothing: start everything, print the three URLs and the gateway's PID, "+
		"and keep them up until interrupted (for profiling and A/B runs by hand)")
	flag.Parse()
	report, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-gateway:", err)
		os.Exit(1)
	}
	fmt.Print(report)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func run(c config) (string, error) {
	limit := 15 * time.Minute
	if c.hold {
		limit = time.Hour
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	tmp, err := os.MkdirTemp("", "bench-gateway-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	var procs procList
	defer procs.stopAll()

	stableAddr, canaryAddr := "127.0.0.1:"+freePort(), "127.0.0.1:"+freePort()
	if err := startBackends(ctx, procs.add, c.loadCPU, tmp, map[string]string{"stable": stableAddr, "canary": canaryAddr}); err != nil {
		return "", err
	}
	cl, err := newCluster(ctx, tmp)
	if err != nil {
		return "", err
	}
	defer cl.stop()
	gwPort := freePort()
	gwAddr, err := cl.setup(ctx, stableAddr, canaryAddr, gwPort)
	if err != nil {
		return "", err
	}
	gw, err := start(ctx, procs.add, c.proxyCPU, []string{"GOMAXPROCS=1"}, filepath.Join(tmp, "gateway.log"), c.aviary, "gateway",
		"--kubeconfig", cl.kubeconfig, "--controller-name", benchController, "--address-pool", "127.0.102.0/24",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "-v") // -v: its table swaps, timed
	if err != nil {
		return "", err
	}
	gwURL := "http://" + net.JoinHostPort(gwAddr, gwPort) + "/"
	if err := waitFor(ctx, gwURL, "stable"); err != nil {
		return "", fmt.Errorf("gateway never served the route (log %s): %w", filepath.Join(tmp, "gateway.log"), err)
	}
	nginxPort := freePort()
	ng, err := startNginx(ctx, procs.add, c.proxyCPU, tmp, nginxPort, stableAddr)
	if err != nil {
		return "", err
	}
	nginxURL := "http://127.0.0.1:" + nginxPort + "/"
	if err := waitFor(ctx, nginxURL, "stable"); err != nil {
		return "", fmt.Errorf("nginx never answered: %w", err)
	}

	floorURL, floorPID, err := startFloor(ctx, procs.add, c.proxyCPU, tmp, stableAddr)
	if err != nil {
		return "", err
	}
	urls := proxyURLs{gateway: gwURL, nginx: nginxURL, floor: floorURL, direct: "http://" + stableAddr + "/"}
	pids := proxyPIDs{gateway: []int{gw.Process.Pid}, nginx: ng, floor: []int{floorPID}}
	if c.hold {
		return "", holdUntilInterrupted(ctx, gw.Process.Pid, urls)
	}
	rounds, capNote, err := measureThroughput(ctx, c, urls, pids)
	if err != nil {
		return "", err
	}
	gwRPS := make([]float64, 0, len(rounds))
	for _, r := range rounds {
		gwRPS = append(gwRPS, r.gateway.rps)
	}
	half := median(gwRPS) / 2
	load, err := measureHalfLoad(ctx, c, tmp, urls, pids, half)
	if err != nil {
		return "", err
	}
	change, err := cl.weightChange(ctx, gwURL, half/2, filepath.Join(tmp, "gateway.log"))
	if err != nil {
		return "", err
	}
	report := render(c, rounds, capNote, load, change)
	report += fmt.Sprintf("\nGateway peak resident memory over the run: %s, of which anonymous (heap and stacks) at the end %s; "+
		"the rest is mostly pages of the aviary binary, which the page cache shares (nginx worker and master: %s, anonymous %s).\n",
		peakRSS(pids.gateway), anonRSS(pids.gateway), peakRSS(pids.nginx), anonRSS(pids.nginx))
	return report, nil
}

// holdUntilInterrupted keeps the setup up for measurements by hand, for an hour at most.
func holdUntilInterrupted(ctx context.Context, gatewayPID int, urls proxyURLs) error {
	fmt.Printf("direct  %s\nnginx   %s\nfloor   %s\ngateway %s (pid %d)\nholding; interrupt to stop\n",
		urls.direct, urls.nginx, urls.floor, urls.gateway, gatewayPID)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}

func render(c config, rounds []throughputRound, capNote string, half halfLoad, change changeResult) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Measured %s on %s (%d CPUs, %s), Go %s. Proxy under test pinned to CPU %s with one worker "+
		"(GOMAXPROCS=1 / worker_processes 1); wrk (-t1 -c%d, %s) and the backend (one nginx worker answering 256 bytes) "+
		"pinned to CPU %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, runtime.NumCPU(), cpuModel(), runtime.Version(), c.proxyCPU, c.connections, c.duration, c.loadCPU)
	renderThroughput(&b, c, rounds, capNote)
	half.render(&b)
	fmt.Fprintf(&b, "Weight change (HTTPRoute stable 100 → canary 100, update through the API server, under %.0f requests/s of load): "+
		"**applied %s** after the update was sent (goal < 50 ms; the API server answered the update after %s); %s; "+
		"%d requests during the change, **%d failed**.\n",
		half.target/2, change.applied.Round(100*time.Microsecond), change.accepted.Round(100*time.Microsecond), change.swapNote(),
		change.requests, change.failed)
	return b.String()
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// waitFor polls url until it answers 200 from the named backend.
func waitFor(ctx context.Context, url, backend string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Backend") == backend {
				return nil
			}
			last = fmt.Errorf("status %d from %q", resp.StatusCode, resp.Header.Get("X-Backend"))
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: %w", url, last)
}

type procList []*exec.Cmd

func (p *procList) add(c *exec.Cmd) { *p = append(*p, c) }

func (p *procList) stopAll() {
	for _, c := range *p {
		if c.Process != nil {
			_ = c.Process.Signal(os.Interrupt)
		}
	}
	for _, c := range *p {
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
		}
	}
}

// start runs a command pinned to cpus, logging to logPath.
func start(ctx context.Context, track func(*exec.Cmd), cpus string, env []string, logPath, name string, args ...string) (*exec.Cmd, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	all := append([]string{"-c", cpus, name}, args...)
	cmd := exec.CommandContext(ctx, "taskset", all...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	track(cmd)
	return cmd, nil
}
