package localcluster

import (
	"os"
	"path/filepath"
	"strconv"
)

// podTargetsFile is where the pod-targets process writes the pods to scrape.
func podTargetsFile(l Layout) string { return filepath.Join(l.ComponentDir("prometheus"), "pods.json") }

// writePrometheusConfig scrapes the pods that ask for it with the prometheus.io/scrape,
// prometheus.io/port and prometheus.io/path annotations, and the Aviary controller's metrics.
func writePrometheusConfig(l Layout, p Ports) error {
	dir := l.ComponentDir("prometheus")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return err
	}
	config := `# Written by aviary local up; rewritten on every up.
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: aviary-controller
    static_configs:
      - targets: ["127.0.0.1:` + strconv.Itoa(p.ControllerMetrics) + `"]
  - job_name: aviary-gateway
    static_configs:
      - targets: ["127.0.0.1:` + strconv.Itoa(p.GatewayMetrics) + `"]
  - job_name: kubernetes-pods
    # Written by the pod-targets process (aviary local pod-targets): Debian's prometheus has
    # no kubernetes_sd_configs.
    file_sd_configs:
      - files: ["` + podTargetsFile(l) + `"]
        refresh_interval: 5s
`
	return os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600)
}
