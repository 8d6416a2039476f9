package localcluster

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"

	"k8s.io/client-go/util/cert"

	"github.com/aviary-dev/aviary/internal/pki"
)

// serviceCIDR is --service-cluster-ip-range; its first address is the `kubernetes` Service,
// which the API server's certificate must name.
const (
	serviceCIDR      = "10.0.0.0/24"
	kubernetesSvcIP  = "10.0.0.1"
	serviceAccountSA = "sa.key"
	// apiServerCertName names the one serving certificate the sandbox writes. The local
	// node's kubelet API serves a self-signed certificate of its own (localnode), which the
	// API server does not verify.
	apiServerCertName = "apiserver"
)

// identity is one client certificate: who a process is to the API server.
type identity struct {
	name   string // file and kubeconfig name
	user   string // certificate CN = Kubernetes user
	groups []string
}

// identities are the client certificates of the sandbox. The control-plane components and the
// node use the users Kubernetes' bootstrap RBAC and Node authorizer know; the admin, the
// Aviary controller and gateway and Prometheus are in system:masters, which is fine for a
// single-user sandbox (config/rbac is what an in-cluster install uses).
var identities = []identity{
	{name: "admin", user: "aviary:admin", groups: []string{"system:masters"}},
	{name: "kube-controller-manager", user: "system:kube-controller-manager"},
	{name: "kube-scheduler", user: "system:kube-scheduler"},
	{name: "node", user: "system:node:" + NodeName, groups: []string{"system:nodes"}},
	{name: "controller", user: "aviary:controller", groups: []string{"system:masters"}},
	{name: "gateway", user: "aviary:gateway", groups: []string{"system:masters"}},
	{name: "endpoints", user: "aviary:local-endpoints", groups: []string{"system:masters"}},
	{name: "prometheus", user: "aviary:prometheus", groups: []string{"system:masters"}},
	// The API server's identity when it calls the node's kubelet API (logs, exec).
	{name: "apiserver-kubelet-client", user: "kube-apiserver-kubelet-client", groups: []string{"system:masters"}},
}

// PKI names the certificate files under Layout.PKIDir.
type PKI struct{ Dir string }

func (p PKI) CACert() string              { return filepath.Join(p.Dir, "ca.crt") }
func (p PKI) CAKey() string               { return filepath.Join(p.Dir, "ca.key") }
func (p PKI) ServingCert(n string) string { return filepath.Join(p.Dir, n+"-serving.crt") }
func (p PKI) ServingKey(n string) string  { return filepath.Join(p.Dir, n+"-serving.key") }
func (p PKI) ClientCert(id string) string { return filepath.Join(p.Dir, id+".crt") }
func (p PKI) ClientKey(id string) string  { return filepath.Join(p.Dir, id+".key") }
func (p PKI) ServiceAccountKey() string   { return filepath.Join(p.Dir, serviceAccountSA) }
func (p PKI) complete() bool              { return allExist(p.files()) }
func allExist(paths []string) bool {
	for _, f := range paths {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

func (p PKI) files() []string {
	files := []string{p.CACert(), p.CAKey(), p.ServiceAccountKey()}
	files = append(files, p.ServingCert(apiServerCertName), p.ServingKey(apiServerCertName))
	for _, id := range identities {
		files = append(files, p.ClientCert(id.name), p.ClientKey(id.name))
	}
	return files
}

// ensurePKI keeps a complete set of certificates and writes a fresh one otherwise; it
// reports whether it wrote new ones (every process must then restart).
func ensurePKI(p PKI) (bool, error) {
	if p.complete() {
		if _, err := cert.CertsFromFile(p.CACert()); err == nil {
			return false, nil
		}
	}
	if err := os.RemoveAll(p.Dir); err != nil {
		return false, err
	}
	if err := os.MkdirAll(p.Dir, 0o700); err != nil {
		return false, err
	}
	return true, writePKI(p)
}

// writePKI writes a new CA, the API server's serving certificate, a client certificate for
// each identity, and the service-account signing key.
func writePKI(p PKI) error {
	ca, err := pki.NewCA("aviary-local-ca")
	if err != nil {
		return err
	}
	if err := ca.KeyPair().Write(p.CACert(), p.CAKey()); err != nil {
		return err
	}
	if err := issueAndWrite(ca, apiServerServing(), p.ServingCert(apiServerCertName), p.ServingKey(apiServerCertName)); err != nil {
		return err
	}
	for _, id := range identities {
		cfg := cert.Config{CommonName: id.user, Organization: id.groups, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if err := issueAndWrite(ca, cfg, p.ClientCert(id.name), p.ClientKey(id.name)); err != nil {
			return err
		}
	}
	return pki.WriteSigningKey(p.ServiceAccountKey())
}

// apiServerServing is the API server's serving certificate: it answers on loopback, and as the
// `kubernetes` Service, which is how pods reach it.
func apiServerServing() cert.Config {
	return cert.Config{
		CommonName: apiServerCertName,
		AltNames: cert.AltNames{
			IPs:      []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(kubernetesSvcIP)},
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func issueAndWrite(ca *pki.CA, cfg cert.Config, certPath, keyPath string) error {
	pair, err := ca.Issue(cfg)
	if err != nil {
		return err
	}
	return pair.Write(certPath, keyPath)
}
