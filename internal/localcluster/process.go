package localcluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// pidRecord is a pid file: the process and the command line it was started with, so that a
// recycled pid is never mistaken for (and never signalled as) the sandbox's process.
type pidRecord struct {
	Pid  int      `json:"pid"`
	Args []string `json:"args"` // argv, argv[0] being the binary's path
}

// process is a child started by this run of the command.
type process struct {
	rec     pidRecord
	exited  chan struct{} // closed once the child has exited
	waitErr error
}

// startDetached starts a long-running child in its own session (so closing the terminal or
// ending `aviary local up` leaves it running) with stdin from /dev/null, stdout and stderr
// appended to logPath, and writes its pid file.
func startDetached(argv []string, env []string, logPath, pidPath string) (*process, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(pidPath), 0o700); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }() // the child has its own copy
	fmt.Fprintf(logFile, "### %s %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	p := &process{rec: pidRecord{Pid: cmd.Process.Pid, Args: argv}, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := writePidFile(pidPath, p.rec); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	if err := waitExecVisible(p, 5*time.Second); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	return p, nil
}

// waitExecVisible waits until /proc shows the child's new command line, or the child has
// exited. cmd.Start returns once the exec has closed the close-on-exec pipe, which the kernel
// does before it sets up the new program's arguments: for a moment /proc shows an empty
// command line, and a status check in that moment would take our own child for a stranger.
func waitExecVisible(p *process, d time.Duration) error {
	deadline := time.Now().Add(d)
	for !running(p.rec) {
		select {
		case <-p.exited:
			return nil // the caller's readiness wait reports the exit and the log
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("started %s as pid %d, but after %s /proc/%d/cmdline still reads %q",
				p.rec.Args[0], p.rec.Pid, d, p.rec.Pid, procCmdline(p.rec.Pid))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// procCmdline is the NUL-separated command line /proc shows for pid, or the read error.
func procCmdline(pid int) string { return cmdlineIn(procDir(pid)) }

// cmdlineIn is procCmdline for the process of a /proc directory ("" for none).
func cmdlineIn(dir string) string {
	if dir == "" {
		return "(no such process)"
	}
	b, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func writePidFile(path string, rec pidRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readPidFile returns the record, or ok=false when there is no usable pid file.
func readPidFile(path string) (pidRecord, bool) {
	var rec pidRecord
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &rec) != nil || rec.Pid <= 0 {
		return rec, false
	}
	return rec, true
}

// running reports whether the recorded process still runs with its recorded command line.
// A zombie (exited, not yet reaped by its new parent) counts as not running.
func running(rec pidRecord) bool {
	dir := procDir(rec.Pid) // once: outside our PID namespace's /proc it is a search
	return aliveIn(dir) && cmdlineIn(dir) == strings.Join(rec.Args, "\x00")+"\x00"
}

// Alive reports whether pid exists and has not exited. A zombie (exited, not yet reaped by its
// new parent) counts as exited. A process in the middle of exiting has already lost its
// command line but still holds its sockets and files, so it still counts as alive. pid is our
// PID namespace's, also when /proc shows another's (the end-to-end tests rely on that too).
func Alive(pid int) bool { return aliveIn(procDir(pid)) }

// aliveIn is alive for the process of a /proc directory ("" for none).
func aliveIn(dir string) bool {
	if dir == "" {
		return false
	}
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself hold ") ".
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

// stopProcess sends SIGTERM, waits up to grace, then SIGKILL, and waits for it to go. It only
// signals a process that still has the recorded command line.
func stopProcess(rec pidRecord, grace time.Duration) error {
	if !running(rec) {
		return nil
	}
	if err := syscall.Kill(rec.Pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping pid %d: %w", rec.Pid, err)
	}
	if waitGone(rec, grace) {
		return nil
	}
	if err := syscall.Kill(rec.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing pid %d: %w", rec.Pid, err)
	}
	if waitGone(rec, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("pid %d (%s) is still running after SIGKILL", rec.Pid, rec.Args[0])
}

// waitGone waits up to d for a signalled process to exit. It watches the pid alone: the
// command line disappears as soon as the process starts exiting, long before its listening
// sockets are closed.
func waitGone(rec pidRecord, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for Alive(rec.Pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// strays finds processes left behind without a pid file (a crash between start and writing
// it, a removed run directory): those running one of binaries with the state directory in
// their command line.
func strays(stateDir string, binaries []string) []pidRecord {
	ns := currentProcNamespace()
	self := os.Getpid()
	var found []pidRecord
	for _, dir := range procEntries("/proc") {
		pid := ourPidIn(ns, dir)
		if pid == 0 || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		if !contains(binaries, args[0]) || !mentions(args[1:], stateDir) {
			continue
		}
		found = append(found, pidRecord{Pid: pid, Args: args})
	}
	return found
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x != "" && x == s {
			return true
		}
	}
	return false
}

// mentions reports whether an argument names a path inside dir.
func mentions(args []string, dir string) bool {
	dir = filepath.Clean(dir) + string(filepath.Separator)
	for _, a := range args {
		if strings.Contains(a, dir) {
			return true
		}
	}
	return false
}
