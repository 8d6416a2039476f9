package localcluster

import (
	"path/filepath"
	"strconv"
	"time"
)

// component is one process of the sandbox.
type component struct {
	name string
	// selfCommand is the aviary subcommand the component runs ("" for other binaries); the
	// running aviary binary must have it.
	selfCommand string
	// optional components are skipped, with a note, when their binary is not installed.
	optional bool
	argv     func(s *Sandbox) []string
	ready    func(s *Sandbox) readiness
	ports    func(p Ports) []int
	// readyFile, when set, is a file the process writes once it is ready; it is removed
	// before the process starts, so that one left by an earlier run does not count.
	readyFile func(l Layout) string
	// address is what status shows.
	address      func(p Ports) string
	readyTimeout time.Duration
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
func httpURL(port int) string  { return "http://" + loopback(port) }
func httpsURL(port int) string { return "https://" + loopback(port) }

// controlPlane comes up first, then the CRDs are installed, then workloads.
func controlPlane() []component {
	return []component{etcd(), apiServer(), controllerManager(), scheduler()}
}

func workloads() []component {
	return []component{endpoints(), node(), aviaryController(), gateway(), podTargets(), prometheus()}
}

func allComponents() []component { return append(controlPlane(), workloads()...) }

func etcd() component {
	return component{
		name: "etcd",
		argv: func(s *Sandbox) []string {
			p := s.cfg.Ports
			return []string{
				filepath.Join(s.cfg.ControlPlaneDir, "etcd"),
				"--name=aviary-local",
				"--data-dir=" + s.layout.EtcdDataDir(),
				"--listen-client-urls=" + httpURL(p.EtcdClient),
				"--advertise-client-urls=" + httpURL(p.EtcdClient),
				"--listen-peer-urls=" + httpURL(p.EtcdPeer),
				"--initial-advertise-peer-urls=" + httpURL(p.EtcdPeer),
				"--initial-cluster=aviary-local=" + httpURL(p.EtcdPeer),
				// A throw-away sandbox on a shared 2-core machine: durability is not worth an
				// fsync per write.
				"--unsafe-no-fsync",
				"--log-level=warn",
			}
		},
		ready:        func(s *Sandbox) readiness { return etcdHealthy(s.cfg.Ports.EtcdClient) },
		ports:        func(p Ports) []int { return []int{p.EtcdClient, p.EtcdPeer} },
		address:      func(p Ports) string { return httpURL(p.EtcdClient) },
		readyTimeout: 60 * time.Second,
	}
}

func apiServer() component {
	return component{
		name: "kube-apiserver",
		argv: func(s *Sandbox) []string {
			p, pki := s.cfg.Ports, s.pki
			return []string{
				filepath.Join(s.cfg.ControlPlaneDir, "kube-apiserver"),
				"--etcd-servers=" + httpURL(p.EtcdClient),
				"--bind-address=127.0.0.1",
				"--advertise-address=127.0.0.1",
				// The endpoint reconciler refuses a loopback address for the `kubernetes`
				// Service; the sandbox's pods run in the node's process and need no Service to
				// reach the API server.
				"--endpoint-reconciler-type=none",
				"--secure-port=" + strconv.Itoa(p.APIServer),
				"--tls-cert-file=" + pki.ServingCert(apiServerCertName),
				"--tls-private-key-file=" + pki.ServingKey(apiServerCertName),
				"--client-ca-file=" + pki.CACert(),
				"--service-cluster-ip-range=" + serviceCIDR,
				"--authorization-mode=Node,RBAC",
				"--service-account-key-file=" + pki.ServiceAccountKey(),
				"--service-account-signing-key-file=" + pki.ServiceAccountKey(),
				"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
				// The API server calls the node's kubelet API for logs; it does not verify the
				// node's serving certificate (no --kubelet-certificate-authority), like a
				// default cluster.
				"--kubelet-client-certificate=" + pki.ClientCert("apiserver-kubelet-client"),
				"--kubelet-client-key=" + pki.ClientKey("apiserver-kubelet-client"),
				"--kubelet-preferred-address-types=InternalIP,Hostname",
				"--allow-privileged=true",
				"--profiling=false",
			}
		},
		ready:        apiServerReady,
		ports:        func(p Ports) []int { return []int{p.APIServer} },
		address:      func(p Ports) string { return httpsURL(p.APIServer) },
		readyTimeout: 120 * time.Second,
	}
}

func controllerManager() component {
	return component{
		name: "kube-controller-manager",
		argv: func(s *Sandbox) []string {
			kc := s.layout.Kubeconfig("kube-controller-manager")
			return []string{
				filepath.Join(s.cfg.ControlPlaneDir, "kube-controller-manager"),
				"--kubeconfig=" + kc,
				"--authentication-kubeconfig=" + kc,
				"--authorization-kubeconfig=" + kc,
				// Every default controller but those that write pod IPs into Endpoints and
				// EndpointSlices: the API server refuses the loopback IPs of the sandbox's
				// pods there, and the endpoints process writes FQDN slices instead.
				// serviceaccount-token signs with the key the API server verifies with.
				"--controllers=*,-endpoints-controller,-endpointslice-controller,-endpointslice-mirroring-controller",
				"--service-account-private-key-file=" + s.pki.ServiceAccountKey(),
				"--use-service-account-credentials=true",
				"--root-ca-file=" + s.pki.CACert(),
				"--cluster-signing-cert-file=" + s.pki.CACert(),
				"--cluster-signing-key-file=" + s.pki.CAKey(),
				"--leader-elect=false",
				"--bind-address=127.0.0.1",
				"--secure-port=" + strconv.Itoa(s.cfg.Ports.ControllerManager),
				"--cert-dir=" + s.layout.ComponentDir("kube-controller-manager"),
				"--profiling=false",
			}
		},
		ready:        controllerManagerReady,
		ports:        func(p Ports) []int { return []int{p.ControllerManager} },
		address:      func(p Ports) string { return httpsURL(p.ControllerManager) },
		readyTimeout: 90 * time.Second,
	}
}

func scheduler() component {
	return component{
		name: "kube-scheduler",
		argv: func(s *Sandbox) []string {
			kc := s.layout.Kubeconfig("kube-scheduler")
			return []string{
				filepath.Join(s.cfg.ControlPlaneDir, "kube-scheduler"),
				"--kubeconfig=" + kc,
				"--authentication-kubeconfig=" + kc,
				"--authorization-kubeconfig=" + kc,
				"--leader-elect=false",
				"--bind-address=127.0.0.1",
				"--secure-port=" + strconv.Itoa(s.cfg.Ports.Scheduler),
				"--cert-dir=" + s.layout.ComponentDir("kube-scheduler"),
				"--profiling=false",
			}
		},
		ready:        func(s *Sandbox) readiness { return httpsHealthz(s.cfg.Ports.Scheduler) },
		ports:        func(p Ports) []int { return []int{p.Scheduler} },
		address:      func(p Ports) string { return httpsURL(p.Scheduler) },
		readyTimeout: 60 * time.Second,
	}
}

func node() component {
	return component{
		name:        "node",
		selfCommand: "node",
		argv: func(s *Sandbox) []string {
			return []string{
				s.cfg.Aviary, "node",
				"--kubeconfig=" + s.layout.Kubeconfig("node"),
				"--node-name=" + NodeName,
				"--port=" + strconv.Itoa(s.cfg.Ports.Kubelet),
				"--pod-ip-range=" + s.cfg.PodIPRange,
			}
		},
		ready:        nodeReady,
		ports:        func(p Ports) []int { return []int{p.Kubelet} },
		address:      func(p Ports) string { return "node/" + NodeName + ", kubelet API " + httpsURL(p.Kubelet) },
		readyTimeout: 60 * time.Second,
	}
}

func aviaryController() component {
	return component{
		name:        "controller",
		selfCommand: "controller",
		argv: func(s *Sandbox) []string {
			p := s.cfg.Ports
			return []string{
				s.cfg.Aviary, "controller",
				"--kubeconfig=" + s.layout.Kubeconfig("controller"),
				"--leader-elect=false",
				// The sandbox is one machine: its ports stay on loopback, as the docs promise.
				"--bind-address=127.0.0.1",
				"--metricsport=" + strconv.Itoa(p.ControllerMetrics),
				"--healthzPort=" + strconv.Itoa(p.ControllerHealth),
			}
		},
		ready:        func(s *Sandbox) readiness { return httpOK(httpURL(s.cfg.Ports.ControllerHealth) + "/readyz") },
		ports:        func(p Ports) []int { return []int{p.ControllerMetrics, p.ControllerHealth} },
		address:      func(p Ports) string { return httpURL(p.ControllerMetrics) + "/metrics" },
		readyTimeout: 60 * time.Second,
	}
}

func gateway() component {
	return component{
		name:        "gateway",
		selfCommand: "gateway",
		argv: func(s *Sandbox) []string {
			return []string{
				s.cfg.Aviary, "gateway",
				"--kubeconfig=" + s.layout.Kubeconfig("gateway"),
				"--controller-name=" + GatewayControllerName,
				"--metrics-bind-address=" + loopback(s.cfg.Ports.GatewayMetrics),
				"--health-probe-bind-address=" + loopback(s.cfg.Ports.GatewayHealth),
			}
		},
		ready:        func(s *Sandbox) readiness { return httpOK(httpURL(s.cfg.Ports.GatewayHealth) + "/readyz") },
		ports:        func(p Ports) []int { return []int{p.GatewayMetrics, p.GatewayHealth} },
		address:      func(p Ports) string { return httpURL(p.GatewayMetrics) + "/metrics" },
		readyTimeout: 30 * time.Second,
	}
}

// endpoints writes the EndpointSlices of the sandbox's loopback pods (see desiredSlices).
func endpoints() component {
	return component{
		name:        "endpoints",
		selfCommand: "local",
		argv: func(s *Sandbox) []string {
			return []string{
				s.cfg.Aviary, "local", "endpoints",
				"--kubeconfig=" + s.layout.Kubeconfig("endpoints"),
				"--synced-file=" + endpointsSyncedFile(s.layout),
			}
		},
		readyFile:    endpointsSyncedFile,
		ready:        func(s *Sandbox) readiness { return fileExists(endpointsSyncedFile(s.layout)) },
		ports:        func(Ports) []int { return nil },
		address:      func(Ports) string { return "writes EndpointSlices (FQDN) of loopback pods" },
		readyTimeout: 30 * time.Second,
	}
}

func endpointsSyncedFile(l Layout) string { return filepath.Join(l.RunDir(), "endpoints.synced") }

// podTargets feeds Prometheus the pods to scrape; it runs only where Prometheus does.
func podTargets() component {
	return component{
		name:        "pod-targets",
		selfCommand: "local",
		optional:    true,
		argv: func(s *Sandbox) []string {
			if s.cfg.Prometheus == "" {
				return nil
			}
			return []string{
				s.cfg.Aviary, "local", "pod-targets",
				"--kubeconfig=" + s.layout.Kubeconfig("prometheus"),
				"--output=" + podTargetsFile(s.layout),
			}
		},
		readyFile:    podTargetsFile,
		ready:        func(s *Sandbox) readiness { return fileExists(podTargetsFile(s.layout)) },
		ports:        func(Ports) []int { return nil },
		address:      func(Ports) string { return "writes Prometheus' pod targets" },
		readyTimeout: 30 * time.Second,
	}
}

func prometheus() component {
	return component{
		name:     "prometheus",
		optional: true,
		argv: func(s *Sandbox) []string {
			if s.cfg.Prometheus == "" {
				return nil
			}
			dir := s.layout.ComponentDir("prometheus")
			return []string{
				s.cfg.Prometheus,
				"--config.file=" + filepath.Join(dir, "prometheus.yml"),
				"--storage.tsdb.path=" + filepath.Join(dir, "data"),
				"--storage.tsdb.retention.time=1d",
				"--web.listen-address=" + loopback(s.cfg.Ports.Prometheus),
				"--web.enable-lifecycle",
			}
		},
		ready:        func(s *Sandbox) readiness { return httpOK(httpURL(s.cfg.Ports.Prometheus) + "/-/ready") },
		ports:        func(p Ports) []int { return []int{p.Prometheus} },
		address:      func(p Ports) string { return httpURL(p.Prometheus) },
		readyTimeout: 60 * time.Second,
	}
}

// GatewayControllerName is the controllerName of GatewayClasses `aviary gateway` serves.
const GatewayControllerName = "aviary.dev/gateway-controller"
