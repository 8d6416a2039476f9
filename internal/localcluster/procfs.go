package localcluster

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// A sandbox may run us in a PID namespace of our own while leaving its parent's /proc mounted
// (CI machines do). There /proc/<pid> is some other process, so every look at a process goes
// through procDir, which translates our pids with the NSpid line of /proc/<n>/status.

type procNamespace struct {
	foreign bool // /proc shows an ancestor PID namespace
	level   int  // index of our namespace's pid in an NSpid line
}

var currentProcNamespace = sync.OnceValue(func() procNamespace {
	return detectProcNamespace("/proc", os.Getpid())
})

// detectProcNamespace compares what procRoot calls this process with its real pid.
func detectProcNamespace(procRoot string, selfPid int) procNamespace {
	ids := nsPids(filepath.Join(procRoot, "self"))
	if len(ids) == 0 || ids[len(ids)-1] != selfPid {
		return procNamespace{} // no NSpid (old kernel) or a view we cannot place: take it as ours
	}
	self, err := os.Readlink(filepath.Join(procRoot, "self"))
	if err == nil && self == strconv.Itoa(selfPid) {
		return procNamespace{}
	}
	return procNamespace{foreign: true, level: len(ids) - 1}
}

// procDir is the /proc directory of pid, a pid of our namespace; "" when no process has it.
func procDir(pid int) string {
	return procDirIn("/proc", currentProcNamespace(), pid)
}

func procDirIn(procRoot string, ns procNamespace, pid int) string {
	if !ns.foreign {
		return filepath.Join(procRoot, strconv.Itoa(pid))
	}
	for _, dir := range procEntries(procRoot) {
		if ourPidIn(ns, dir) == pid {
			return dir
		}
	}
	return ""
}

// procEntries lists the per-process directories of procRoot.
func procEntries(procRoot string) []string {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			dirs = append(dirs, filepath.Join(procRoot, e.Name()))
		}
	}
	return dirs
}

// ourPidIn is the pid our namespace gives the process of a /proc directory; 0 when it lives
// outside our namespace.
func ourPidIn(ns procNamespace, dir string) int {
	if !ns.foreign {
		pid, _ := strconv.Atoi(filepath.Base(dir))
		return pid
	}
	ids := nsPids(dir)
	if len(ids) <= ns.level {
		return 0
	}
	return ids[ns.level]
}

// nsPids reads the NSpid line of dir/status: the process's pid in each PID namespace, from the
// one /proc belongs to down to its own.
func nsPids(dir string) []int {
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return nil
	}
	return parseNSpid(status)
}

func parseNSpid(status []byte) []int {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "NSpid:")
		if !ok {
			continue
		}
		var ids []int
		for _, f := range strings.Fields(rest) {
			id, err := strconv.Atoi(f)
			if err != nil {
				return nil
			}
			ids = append(ids, id)
		}
		return ids
	}
	return nil
}
