package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// startNginx runs nginx as a plain reverse proxy (one worker, keep-alive upstream) to backend
// and returns the pids of its processes.
func startNginx(ctx context.Context, track func(*exec.Cmd), cpus, dir, port, backend string) ([]int, error) {
	return runNginx(ctx, track, cpus, filepath.Join(dir, "nginx-proxy"), fmt.Sprintf(`
  upstream backend { server %[2]s; keepalive 256; }
  server {
    listen 127.0.0.1:%[1]s;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`, port, backend))
}

// startBackends runs the demo pods, one per name (stable, canary) on its address: one nginx
// worker answering every request with a fixed 256-byte page and its name in X-Backend, so the
// weight-change probe can tell versions apart. A backend costs the load core far less per
// request than the proxies do their core, so in the throughput runs each proxy is the limit.
func startBackends(ctx context.Context, track func(*exec.Cmd), cpus, dir string, addrs map[string]string) error {
	page := strings.Repeat("x", 256)
	var servers strings.Builder
	for name, addr := range addrs {
		fmt.Fprintf(&servers, `
  server {
    listen %s;
    keepalive_requests 1000000000;
    location / {
      default_type text/plain;
      add_header X-Backend %s;
      return 200 "%s";
    }
  }`, addr, name, page)
	}
	_, err := runNginx(ctx, track, cpus, filepath.Join(dir, "nginx-backends"), servers.String())
	return err
}

// runNginx runs one nginx worker pinned to cpus with servers as its http block, in its own
// directory, and returns the pids of master and worker.
func runNginx(ctx context.Context, track func(*exec.Cmd), cpus, dir, servers string) ([]int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[2]s
}
`, dir, servers)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd, err := start(ctx, track, cpus, nil, filepath.Join(dir, "nginx.log"), "nginx", "-c", path, "-p", dir)
	if err != nil {
		return nil, err
	}
	// The worker is a child of the master; wait for it to appear.
	for range 100 {
		if kids := children(cmd.Process.Pid); len(kids) > 0 {
			return append([]int{cmd.Process.Pid}, kids...), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("nginx started no worker; see %s", filepath.Join(dir, "nginx-error.log"))
}

// children lists the pids whose parent is pid.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}
