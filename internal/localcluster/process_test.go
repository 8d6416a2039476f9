package localcluster

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestStartDetachedRecordsAndStopsTheProcess(t *testing.T) {
	dir := t.TempDir()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary") // every Linux has one; this is not a hidden failure
	}
	pidFile := filepath.Join(dir, "run", "sleeper.pid")
	p, err := startDetached([]string{sleep, "300"}, nil, filepath.Join(dir, "logs", "sleeper.log"), pidFile)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := readPidFile(pidFile)
	if !ok || rec.Pid != p.rec.Pid {
		t.Fatalf("pid file %+v, %v; want pid %d", rec, ok, p.rec.Pid)
	}
	if !running(rec) {
		t.Fatal("a started process does not count as running")
	}
	// A recycled pid running something else is not ours.
	if running(pidRecord{Pid: rec.Pid, Args: []string{sleep, "301"}}) {
		t.Error("a process with another command line counts as ours")
	}
	if err := stopProcess(rec, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the process did not exit")
	}
	if running(rec) {
		t.Error("a stopped process still counts as running")
	}
}

func TestPortsFromBaseAreDistinct(t *testing.T) {
	p := PortsFrom(DefaultPortBase)
	all := []int{p.EtcdClient, p.EtcdPeer, p.APIServer, p.ControllerManager, p.Scheduler, p.Kubelet,
		p.ControllerMetrics, p.ControllerHealth, p.GatewayMetrics, p.GatewayHealth, p.Prometheus}
	seen := map[int]bool{}
	for _, port := range all {
		if seen[port] {
			t.Errorf("port %d used twice", port)
		}
		seen[port] = true
	}
	if p.APIServer != 16443 || PodIPRangeFor(DefaultPortBase) != "127.16.0.0/16" {
		t.Errorf("defaults moved: apiserver %d, pods %s (docs/local-sandbox.md names them)", p.APIServer, PodIPRangeFor(DefaultPortBase))
	}
}

func TestPortBaseFromEnvRefusesBadValues(t *testing.T) {
	for _, v := range []string{"abc", "80", "65000"} {
		t.Setenv(PortBaseEnv, v)
		if _, err := PortBaseFromEnv(); err == nil {
			t.Errorf("%s=%s accepted", PortBaseEnv, v)
		}
	}
	t.Setenv(PortBaseEnv, "26000")
	if b, err := PortBaseFromEnv(); err != nil || b != 26000 {
		t.Errorf("PortBaseFromEnv = %d, %v", b, err)
	}
}
