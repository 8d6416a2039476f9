package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
)

// startFloor runs the floor proxy (floor_linux.go) to backend ("ip:port") as a process of its
// own, pinned like the proxies under test and with one P as the gateway has, and returns its URL
// once it answers, and its pid.
func startFloor(ctx context.Context, track func(*exec.Cmd), cpus, dir, backend string) (string, int, error) {
	self, err := os.Executable()
	if err != nil {
		return "", 0, err
	}
	addr := net.JoinHostPort("127.0.0.1", freePort())
	logPath := filepath.Join(dir, "floor.log")
	cmd, err := start(ctx, track, cpus, []string{"GOMAXPROCS=1"}, logPath, self, "floor", addr, backend)
	if err != nil {
		return "", 0, err
	}
	url := "http://" + addr + "/"
	if err := waitFor(ctx, url, "stable"); err != nil {
		return "", 0, fmt.Errorf("the floor proxy never answered (log %s): %w", logPath, err)
	}
	return url, cmd.Process.Pid, nil
}
