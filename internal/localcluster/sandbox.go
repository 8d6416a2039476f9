package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// stopGrace is how long a process gets to exit after SIGTERM before SIGKILL.
const stopGrace = 15 * time.Second

// Options are what the CLI passes in.
type Options struct {
	// StateDir is where the sandbox lives; "" means DefaultStateDir().
	StateDir string
	// Out receives progress and reports.
	Out io.Writer
	// HasCommand reports whether the running aviary binary has a subcommand, so that a
	// binary built without the node or gateway says so instead of starting a process that
	// only prints usage.
	HasCommand func(name string) bool
}

// Sandbox is the sandbox in one state directory.
type Sandbox struct {
	layout     Layout
	pki        PKI
	cfg        Config
	out        io.Writer
	hasCommand func(string) bool

	clientOnce sync.Once
	restCfg    *rest.Config
	cs         kubernetes.Interface
	dyn        dynamic.Interface
	clientErr  error
}

// New returns the sandbox of o.StateDir. It starts nothing.
func New(o Options) *Sandbox {
	dir := o.StateDir
	if dir == "" {
		dir = DefaultStateDir()
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	has := o.HasCommand
	if has == nil {
		has = func(string) bool { return true }
	}
	l := Layout{Dir: dir}
	return &Sandbox{layout: l, pki: PKI{Dir: l.PKIDir()}, out: out, hasCommand: has}
}

// Layout is where the sandbox keeps its files.
func (s *Sandbox) Layout() Layout { return s.layout }

// Kubeconfig is the admin kubeconfig, with an error when no sandbox has been set up.
func (s *Sandbox) Kubeconfig() (string, error) {
	path := s.layout.AdminKubeconfig()
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no sandbox in %s: run `aviary local up` first", s.layout.Dir)
	}
	return path, nil
}

func (s *Sandbox) printf(format string, args ...any) { fmt.Fprintf(s.out, format, args...) }

func (s *Sandbox) clients() error {
	s.clientOnce.Do(func() {
		cfg, err := restConfig(s.layout)
		if err != nil {
			s.clientErr = err
			return
		}
		s.restCfg = cfg
		if s.cs, err = kubernetes.NewForConfig(cfg); err != nil {
			s.clientErr = err
			return
		}
		s.dyn, s.clientErr = dynamic.NewForConfig(cfg)
	})
	return s.clientErr
}

func (s *Sandbox) clientset() (kubernetes.Interface, error) {
	if err := s.clients(); err != nil {
		return nil, err
	}
	return s.cs, nil
}

// lock takes the state directory's lock for the life of the command, so that two ups (or an
// up and a down) never race. The kernel drops it when the process ends, however it ends.
func (s *Sandbox) lock() (func(), error) {
	if err := os.MkdirAll(s.layout.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the state directory: %w", err)
	}
	f, err := os.OpenFile(s.layout.LockFile(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("another `aviary local` command is working on %s; wait for it to finish", s.layout.Dir)
	}
	return func() { _ = f.Close() }, nil
}

// resolveConfig decides the ports and binaries for this up.
func (s *Sandbox) resolveConfig(ctx context.Context) (Config, error) {
	base, err := PortBaseFromEnv()
	if err != nil {
		return Config{}, err
	}
	cp, err := findControlPlane(ctx, s.out)
	if err != nil {
		return Config{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return Config{}, fmt.Errorf("finding the aviary binary: %w", err)
	}
	prom, _ := exec.LookPath("prometheus")
	return Config{Ports: PortsFrom(base), PodIPRange: PodIPRangeFor(base), ControlPlaneDir: cp, Aviary: exe, Prometheus: prom}, nil
}

// Up starts whatever is not running, restarting what crashed or was started with other
// settings, and returns once every component is ready.
func (s *Sandbox) Up(ctx context.Context) error {
	start := time.Now()
	if _, err := PortBaseFromEnv(); err != nil {
		return err // before anything is written
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()

	_, noConfig := readConfig(s.layout.ConfigFile())
	if s.cfg, err = s.resolveConfig(ctx); err != nil {
		return err
	}
	if noConfig == nil {
		s.printf("Sandbox in %s\n", s.layout.Dir)
	} else {
		s.printf("Setting up a sandbox in %s\n", s.layout.Dir)
	}
	fresh, err := ensurePKI(s.pki)
	if err != nil {
		return fmt.Errorf("writing certificates: %w", err)
	}
	if fresh {
		// Whatever still runs trusts the old CA.
		s.stopAll()
	}
	s.stopStrays()
	if err := writeKubeconfigs(s.layout, s.pki, s.cfg.Ports); err != nil {
		return fmt.Errorf("writing kubeconfigs: %w", err)
	}
	if err := writeConfig(s.layout.ConfigFile(), s.cfg); err != nil {
		return err
	}
	for _, c := range controlPlane() {
		if err := s.ensure(ctx, c); err != nil {
			return err
		}
	}
	if err := s.installCRDs(ctx); err != nil {
		return err
	}
	if err := writePrometheusConfig(s.layout, s.cfg.Ports); err != nil {
		return err
	}
	var errs []error
	for _, c := range workloads() {
		if err := s.ensure(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.printf("\nThe sandbox is ready (%s).\n  export KUBECONFIG=%s\n", time.Since(start).Round(100*time.Millisecond), s.layout.AdminKubeconfig())
	s.printf("Next: `%[1]s local demo` deploys the demo; `%[1]s local status` shows every process; `%[1]s local down` removes it all.\n", commandName())
	return nil
}

// ensure leaves a ready component alone and (re)starts any other.
func (s *Sandbox) ensure(ctx context.Context, c component) error {
	argv := c.argv(s)
	pidFile := s.layout.PidFile(c.name)
	rec, recorded := readPidFile(pidFile)
	if argv == nil {
		if recorded {
			_ = stopProcess(rec, stopGrace)
			_ = os.Remove(pidFile)
		}
		s.printf("%-24s not installed: the sandbox runs without it (hack/sandbox-prereqs.sh installs it)\n", c.name)
		return nil
	}
	if c.selfCommand != "" && !s.hasCommand(c.selfCommand) {
		return fmt.Errorf("%s: this aviary binary (%s) has no `%s` command; build one that has it (`make sandbox` builds bin/aviary from the checkout)",
			c.name, s.cfg.Aviary, c.selfCommand)
	}
	if recorded && running(rec) {
		switch {
		case !slices.Equal(rec.Args, argv):
			s.printf("%-24s restarting: its settings changed\n", c.name)
		case binaryReplaced(rec.Pid):
			s.printf("%-24s restarting: its binary was rebuilt\n", c.name)
		default:
			err := waitReady(ctx, c.ready(s), nil, c.readyTimeout)
			if err == nil {
				s.printf("%-24s running (pid %d)  %s\n", c.name, rec.Pid, c.address(s.cfg.Ports))
				return nil
			}
			s.printf("%-24s restarting: running but %v\n", c.name, err)
		}
		if err := stopProcess(rec, stopGrace); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	} else if recorded {
		s.printf("%-24s was not running (crashed or killed): starting it again\n", c.name)
	}
	_ = os.Remove(pidFile)
	return s.start(ctx, c, argv)
}

func (s *Sandbox) start(ctx context.Context, c component, argv []string) error {
	for _, port := range c.ports(s.cfg.Ports) {
		if listening(port) {
			return fmt.Errorf("%s: port %d on 127.0.0.1 is already in use by another program: stop it, or move the sandbox with %s=<base> (now %d)",
				c.name, port, PortBaseEnv, s.cfg.Ports.APIServer-443)
		}
	}
	if c.readyFile != nil {
		_ = os.Remove(c.readyFile(s.layout))
	}
	t0 := time.Now()
	p, err := startDetached(argv, nil, s.layout.LogFile(c.name), s.layout.PidFile(c.name))
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	if err := waitReady(ctx, c.ready(s), p.exited, c.readyTimeout); err != nil {
		_ = stopProcess(p.rec, stopGrace)
		_ = os.Remove(s.layout.PidFile(c.name))
		return fmt.Errorf("%s %w; its log %s ends with:\n%s", c.name, err, s.layout.LogFile(c.name), logTail(s.layout.LogFile(c.name), 20))
	}
	s.printf("%-24s started (pid %d) in %s  %s\n", c.name, p.rec.Pid, time.Since(t0).Round(100*time.Millisecond), c.address(s.cfg.Ports))
	return nil
}

// listening reports whether something accepts connections on 127.0.0.1:port.
func listening(port int) bool {
	conn, err := net.DialTimeout("tcp", loopback(port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// binaryReplaced: the kernel marks the executable of a running process "(deleted)" once its
// file has been replaced, as `go build -o` does when the binary is rebuilt.
func binaryReplaced(pid int) bool {
	dir := procDir(pid)
	if dir == "" {
		return false
	}
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	return err == nil && strings.HasSuffix(exe, " (deleted)")
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// stopAll stops every process with a pid file, last started first.
func (s *Sandbox) stopAll() []string {
	comps := allComponents()
	var stopped []string
	for i := len(comps) - 1; i >= 0; i-- {
		c := comps[i]
		rec, ok := readPidFile(s.layout.PidFile(c.name))
		if !ok {
			continue
		}
		if running(rec) {
			if err := stopProcess(rec, stopGrace); err != nil {
				s.printf("%-24s %v\n", c.name, err)
			} else {
				stopped = append(stopped, fmt.Sprintf("%s (pid %d)", c.name, rec.Pid))
			}
		}
		_ = os.Remove(s.layout.PidFile(c.name))
	}
	return stopped
}

// stopStrays stops processes that run one of the sandbox's binaries on this state directory
// but have no pid file.
func (s *Sandbox) stopStrays() []string {
	known := map[int]bool{}
	for _, c := range allComponents() {
		if rec, ok := readPidFile(s.layout.PidFile(c.name)); ok && running(rec) {
			known[rec.Pid] = true
		}
	}
	var stopped []string
	for _, rec := range strays(s.layout.Dir, s.binaries()) {
		if known[rec.Pid] {
			continue
		}
		if err := stopProcess(rec, stopGrace); err == nil {
			stopped = append(stopped, fmt.Sprintf("%s (pid %d, no pid file)", rec.Args[0], rec.Pid))
		}
	}
	return stopped
}

// binaries are every binary the sandbox may have started.
func (s *Sandbox) binaries() []string {
	var bins []string
	if exe, err := os.Executable(); err == nil {
		bins = append(bins, exe)
	}
	if s.cfg.Aviary != "" {
		bins = append(bins, s.cfg.Aviary)
	}
	if s.cfg.Prometheus != "" {
		bins = append(bins, s.cfg.Prometheus)
	}
	if s.cfg.ControlPlaneDir != "" {
		for _, b := range controlPlaneBinaries {
			bins = append(bins, s.cfg.ControlPlaneDir+"/"+b)
		}
	}
	return bins
}

// Down stops every process the sandbox started and removes its state.
func (s *Sandbox) Down(context.Context) error {
	if _, err := os.Stat(s.layout.Dir); errors.Is(err, os.ErrNotExist) {
		s.printf("No sandbox in %s: nothing to do.\n", s.layout.Dir)
		return nil
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if cfg, err := readConfig(s.layout.ConfigFile()); err == nil {
		s.cfg = cfg
	}
	stopped := s.stopAll()
	stopped = append(stopped, s.stopStrays()...)
	for _, name := range stopped {
		s.printf("stopped %s\n", name)
	}
	var errs []error
	for _, path := range s.layout.owned() {
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
		}
	}
	// Only an empty directory goes: AVIARY_STATE_DIR may point at one with other files.
	_ = os.Remove(s.layout.Dir)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing the sandbox's files: %w", err)
	}
	s.printf("Removed the sandbox in %s.\n", s.layout.Dir)
	return nil
}
