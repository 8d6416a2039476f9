package localnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/aviary-dev/aviary/internal/demoapp"
	"github.com/aviary-dev/aviary/internal/echo"
)

// containerState is what a container reports, read by the pure status code.
type containerState struct {
	Name, Image, ID string
	Running         bool
	StartedAt       time.Time
	Started, Ready  bool
	Restarts        int32
	Waiting         *corev1.ContainerStateWaiting
	Terminated      *corev1.ContainerStateTerminated
	LastTerminated  *corev1.ContainerStateTerminated
}

// containerEnv is what a container runs with: the pod facts it serves as and its resolved
// environment.
type containerEnv struct {
	Pod   *corev1.Pod
	PodIP string
	// PodDeclaresPorts: some container of the pod declares a TCP port (see listen).
	PodDeclaresPorts bool
	Env              map[string]string
	EnvErr           error
	Now              func() time.Time
	Changed          func()                                           // the container's state changed
	Event            func(eventType, reason, format string, a ...any) // an event on the pod
	Probes           *http.Client
}

// container is one container of a pod: HTTP servers on its ports, its probes, its log.
type container struct {
	spec corev1.Container
	env  containerEnv

	mu       sync.Mutex
	run      *containerRun
	restarts int32
	lastTerm *corev1.ContainerStateTerminated
	waiting  *corev1.ContainerStateWaiting
	final    *corev1.ContainerStateTerminated
	log      *containerLog // current run's log
	prevLog  *containerLog // previous run's log, for kubectl logs --previous
	quit     chan struct{} // closed when the pod terminates: no more restarts
	quitOnce sync.Once
}

// containerRun is one run of a container, from start to stop.
type containerRun struct {
	startedAt time.Time
	servers   []*http.Server
	cancel    context.CancelFunc
	started   bool
	ready     bool
	done      sync.WaitGroup
}

func newContainer(spec corev1.Container, env containerEnv) *container {
	return &container{spec: spec, env: env, log: newContainerLog(env.Now), quit: make(chan struct{})}
}

// start begins a run: it listens on every declared TCP port of the pod IP and starts the
// probes. A failure to start leaves the container waiting with the reason.
func (c *container) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final != nil || c.run != nil {
		return
	}
	if c.env.EnvErr != nil {
		c.waiting = &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: c.env.EnvErr.Error()}
		c.log.Printf("cannot start: %v", c.env.EnvErr)
		return
	}
	behaviour := c.behaviour()
	handler := c.handler(behaviour)
	listeners, err := c.listen(behaviour)
	if err != nil {
		c.waiting = &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}
		c.log.Printf("cannot start: %v", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &containerRun{startedAt: c.env.Now(), cancel: cancel}
	for _, l := range listeners {
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, Protocols: cleartextProtocols()}
		run.servers = append(run.servers, srv)
		run.done.Add(1)
		go func() {
			defer run.done.Done()
			_ = srv.Serve(l)
		}()
	}
	c.waiting = nil
	c.run = run
	c.log.Printf("started %s (%s) on %s, serving %s", c.spec.Name, c.spec.Image, c.env.PodIP, describeListeners(listeners, behaviour))
	c.startProbes(ctx, run)
}

// cleartextProtocols serves HTTP/1 and cleartext HTTP/2 (h2c with prior knowledge) on the same
// port, like echo-basic, for gateways that speak h2c to backends.
func cleartextProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// behaviour is the image's behaviour with the environment's overrides: ERROR_RATE (a share
// or a percentage) and LATENCY (a duration or milliseconds) for the demo app.
func (c *container) behaviour() Behaviour {
	b := BehaviourOf(c.spec.Image)
	if v := c.env.Env["ERROR_RATE"]; v != "" {
		if rate, err := demoapp.ParseErrorRate(v); err == nil {
			b.ErrorRate = rate
		} else if pct, perr := strconv.ParseFloat(v, 64); perr == nil && pct > 1 && pct <= 100 {
			b.ErrorRate = pct / 100 // the classic demo's ERROR_RATE is a whole percentage
		}
	}
	if v := c.env.Env["LATENCY"]; v != "" {
		if d, err := demoapp.ParseLatency(v); err == nil {
			b.Latency = d
		}
	}
	return b
}

func (c *container) handler(b Behaviour) http.Handler {
	if b.Kind == KindDemo {
		app := demoapp.New(demoapp.Config{Color: b.Color, ErrorRate: b.ErrorRate, Latency: b.Latency})
		return accessLog(app, c.currentLog)
	}
	id := echo.Identity{
		Pod:       firstNonEmpty(c.env.Env["POD_NAME"], c.env.Pod.Name),
		Namespace: firstNonEmpty(c.env.Env["NAMESPACE"], c.env.Pod.Namespace),
		Image:     c.spec.Image,
		Container: c.spec.Name,
		Service:   c.env.Env["SERVICE_NAME"],
		Ingress:   c.env.Env["INGRESS_NAME"],
	}
	return echo.Handler(id, func(format string, args ...any) { c.currentLog().Printf(format, args...) })
}

func (c *container) currentLog() *containerLog {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log
}

// listen opens the container's TCP ports on the pod IP. Declaring ports is optional in
// Kubernetes, so without any the demo app listens on 8080 like the classic demo, and the echo
// server where the Gateway API conformance suite's echo-basic image does: $HTTP_PORT, else 3000.
// The echo server takes that default only when no container of the pod declares a port: a
// sidecar beside a container with declared ports stands for a process that serves nothing, and
// containers share the pod's address, so it must not take their ports.
func (c *container) listen(b Behaviour) ([]net.Listener, error) {
	ports := tcpPorts(c.spec.Ports)
	if len(ports) == 0 && (b.Kind == KindDemo || !c.env.PodDeclaresPorts) {
		ports = []int32{defaultPort(b, c.env.Env)}
	}
	var ls []net.Listener
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(c.env.PodIP, strconv.Itoa(int(p))))
		if err != nil {
			for _, open := range ls {
				_ = open.Close()
			}
			return nil, fmt.Errorf("listening on port %d: %w", p, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// podDeclaresPorts reports whether any container of the pod declares a TCP port.
func podDeclaresPorts(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		if len(tcpPorts(c.Ports)) > 0 {
			return true
		}
	}
	return false
}

// defaultPort is where a container that declares no port serves.
func defaultPort(b Behaviour, env map[string]string) int32 {
	if b.Kind == KindDemo {
		return DemoPort
	}
	if p, err := strconv.ParseInt(env["HTTP_PORT"], 10, 32); err == nil && p > 0 && p < 65536 {
		return int32(p)
	}
	return EchoPort
}

func tcpPorts(ports []corev1.ContainerPort) []int32 {
	var out []int32
	seen := map[int32]bool{}
	for _, p := range ports {
		if (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) && !seen[p.ContainerPort] {
			seen[p.ContainerPort] = true
			out = append(out, p.ContainerPort)
		}
	}
	return out
}

func describeListeners(ls []net.Listener, b Behaviour) string {
	what := "the echo server"
	if b.Kind == KindDemo {
		what = fmt.Sprintf("the demo app (color %s, error rate %g, latency %s)", b.Color, b.ErrorRate, b.Latency)
	}
	if len(ls) == 0 {
		return what + " on no port (the container declares none)"
	}
	addrs := ""
	for i, l := range ls {
		if i > 0 {
			addrs += ", "
		}
		addrs += l.Addr().String()
	}
	return what + " on " + addrs
}

// stop ends the current run: graceful waits for in-flight requests until ctx is done; it
// returns whether the run ended within that time.
func (c *container) stop(ctx context.Context, why string) bool {
	c.mu.Lock()
	run := c.run
	c.run = nil
	log := c.log
	c.mu.Unlock()
	if run == nil {
		return true
	}
	run.cancel()
	clean := true
	for _, srv := range run.servers {
		if err := srv.Shutdown(ctx); err != nil {
			clean = false
			_ = srv.Close()
		}
	}
	run.done.Wait()
	log.Printf("stopped %s: %s", c.spec.Name, why)
	return clean
}

// kill ends the current run at once and records it as the last termination, for a restart.
func (c *container) kill(reason, message string) {
	c.mu.Lock()
	run := c.run
	c.mu.Unlock()
	if run == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace: like SIGKILL after a failed liveness probe
	c.stop(ctx, message)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastTerm = &corev1.ContainerStateTerminated{
		ExitCode: 137, Reason: reason, Message: message,
		StartedAt: metaTime(run.startedAt), FinishedAt: metaTime(c.env.Now()),
		ContainerID: c.idLocked(),
	}
	c.log.Close()
	c.prevLog, c.log = c.log, newContainerLog(c.env.Now)
	c.restarts++
}

// terminate stops the container for good (pod deletion), within ctx's grace period.
func (c *container) terminate(ctx context.Context) {
	c.quitOnce.Do(func() { close(c.quit) })
	c.mu.Lock()
	run := c.run
	c.mu.Unlock()
	clean := c.stop(ctx, "pod deleted")
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", FinishedAt: metaTime(c.env.Now()), ContainerID: c.idLocked()}
	if !clean {
		t.ExitCode, t.Reason, t.Message = 137, "Error", "killed after the grace period with requests in flight"
	}
	if run != nil {
		t.StartedAt = metaTime(run.startedAt)
	}
	c.final = t
	c.waiting = nil
	c.log.Close()
}

// state is a snapshot for the status code.
func (c *container) state() containerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := containerState{
		Name: c.spec.Name, Image: c.spec.Image, ID: c.idLocked(),
		Restarts: c.restarts, LastTerminated: c.lastTerm, Waiting: c.waiting, Terminated: c.final,
	}
	if c.run != nil {
		s.Running, s.StartedAt = true, c.run.startedAt
		s.Started, s.Ready = c.run.started, c.run.ready
	} else if c.final == nil && c.waiting == nil {
		s.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	return s
}

func (c *container) idLocked() string {
	return fmt.Sprintf("aviary://%s/%s/%d", c.env.Pod.UID, c.spec.Name, c.restarts)
}

// logFor returns the current or the previous run's log.
func (c *container) logFor(previous bool) (*containerLog, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if previous {
		if c.prevLog == nil {
			return nil, errors.New("previous terminated container " + c.spec.Name + " not found")
		}
		return c.prevLog, nil
	}
	return c.log, nil
}

// accessLog writes one line per request to the container's log.
func accessLog(h http.Handler, log func() *containerLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		log().Printf("%s %q %d %dB %s from %s", r.Method, r.RequestURI, sw.code, sw.bytes, time.Since(start).Round(time.Microsecond), r.RemoteAddr)
	})
}

type codeWriter struct {
	http.ResponseWriter
	code, bytes int
	wrote       bool
}

func (w *codeWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *codeWriter) Write(b []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *codeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
