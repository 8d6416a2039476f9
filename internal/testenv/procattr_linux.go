package testenv

import "syscall"

// childProcAttr makes the kernel kill kube-controller-manager when the test process dies
// without calling Env.Stop (a panic, or `go test -timeout` killing it), so it cannot outlive
// the API server it talks to.
//
// Pdeathsig fires when the OS thread that started the child exits, not the process; Go only
// ends threads locked with LockOSThread, which Start does not do.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
