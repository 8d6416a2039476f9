package localcluster

import (
	"encoding/json"

	"fmt"
	"os"
	"strconv"
)

// PortBaseEnv moves every port of the sandbox: each one is the base plus a fixed offset.
// Two sandboxes on one machine (a user's and the e2e test's) need two bases.
const PortBaseEnv = "AVIARY_LOCAL_PORT_BASE"

// DefaultPortBase puts the ports at 16000 + the component's usual port modulo 1000 where
// that is unambiguous (etcd 16379, kube-apiserver 16443, kubelet 16250, ...).
const DefaultPortBase = 16000

// Ports are the loopback ports of the sandbox's processes.
type Ports struct {
	EtcdClient        int `json:"etcdClient"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"apiServer"`
	ControllerManager int `json:"controllerManager"`
	Scheduler         int `json:"scheduler"`
	Kubelet           int `json:"kubelet"`
	ControllerMetrics int `json:"controllerMetrics"`
	ControllerHealth  int `json:"controllerHealth"`
	GatewayMetrics    int `json:"gatewayMetrics"`
	GatewayHealth     int `json:"gatewayHealth"`
	Prometheus        int `json:"prometheus"`
}

// PortsFrom lays the ports out from base.
func PortsFrom(base int) Ports {
	return Ports{
		EtcdClient:        base + 379,
		EtcdPeer:          base + 380,
		APIServer:         base + 443,
		ControllerManager: base + 257,
		Scheduler:         base + 259,
		Kubelet:           base + 250,
		ControllerMetrics: base + 80,
		ControllerHealth:  base + 81,
		GatewayMetrics:    base + 82,
		GatewayHealth:     base + 83,
		Prometheus:        base + 90,
	}
}

// PortBaseFromEnv reads $AVIARY_LOCAL_PORT_BASE, defaulting to DefaultPortBase.
func PortBaseFromEnv() (int, error) {
	v := os.Getenv(PortBaseEnv)
	if v == "" {
		return DefaultPortBase, nil
	}
	base, err := strconv.Atoi(v)
	if err != nil || base < 1024 || base > 65535-1000 {
		return 0, fmt.Errorf("%s=%q: want a number from 1024 to %d (every port is the base plus up to 1000)",
			PortBaseEnv, v, 65535-1000)
	}
	return base, nil
}

// PodIPRangeFor is the node's pod IP range of a port base.
func PodIPRangeFor(base int) string { return "127." + strconv.Itoa(base/1000) + ".0.0/16" }

// Config is what `up` started the sandbox with, recorded in the state directory so that
// status, down and a second up use the same values.
type Config struct {
	Ports Ports `json:"ports"`
	// PodIPRange is where the node takes pod IPs from: 127.<base/1000>.0.0/16, so that two
	// sandboxes with different port bases never hand out the same pod IP.
	PodIPRange string `json:"podIPRange"`
	// ControlPlaneDir holds etcd, kube-apiserver, kube-controller-manager and kube-scheduler.
	ControlPlaneDir string `json:"controlPlaneDir"`
	// Aviary is the aviary binary that runs the node, controller and gateway.
	Aviary string `json:"aviary"`
	// Prometheus is the prometheus binary, or "" when it is not installed.
	Prometheus string `json:"prometheus,omitempty"`
}

// NodeName is the name of the sandbox's one node.
const NodeName = "aviary-local"

func readConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s is damaged (%w): run `aviary local down` to start afresh", path, err)
	}
	return c, nil
}

func writeConfig(path string, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
