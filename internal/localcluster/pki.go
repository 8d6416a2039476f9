package localcluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// serviceCIDR is --service-cluster-ip-range; its first address is the `kubernetes` Service,
// which the API server's certificate must name.
const (
	serviceCIDR      = "10.0.0.0/24"
	kubernetesSvcIP  = "10.0.0.1"
	certValidity     = 365 * 24 * time.Hour
	serviceAccountSA = "sa.key"
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
func (p PKI) servingNames() []string      { return []string{"apiserver", "kubelet"} }
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
	for _, n := range p.servingNames() {
		files = append(files, p.ServingCert(n), p.ServingKey(n))
	}
	for _, id := range identities {
		files = append(files, p.ClientCert(id.name), p.ClientKey(id.name))
	}
	return files
}

// ensurePKI keeps a complete set of certificates and writes a fresh one otherwise; it
// reports whether it wrote new ones (every process must then restart).
func ensurePKI(p PKI) (bool, error) {
	if p.complete() {
		if _, err := loadCert(p.CACert()); err == nil {
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

func writePKI(p PKI) error {
	caKey, err := newKey()
	if err != nil {
		return err
	}
	caTmpl := template("aviary-local-ca", nil)
	caTmpl.IsCA = true
	caTmpl.BasicConstraintsValid = true
	caTmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	if err := writePair(p.CACert(), p.CAKey(), caDER, caKey); err != nil {
		return err
	}
	for _, n := range p.servingNames() {
		tmpl := template(n, nil)
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
		if n == "apiserver" {
			// Pods reach the API server as kubernetes.default.svc.
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(kubernetesSvcIP))
			tmpl.DNSNames = append(tmpl.DNSNames, "kubernetes", "kubernetes.default",
				"kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
		}
		if err := signAndWrite(tmpl, ca, caKey, p.ServingCert(n), p.ServingKey(n)); err != nil {
			return err
		}
	}
	for _, id := range identities {
		tmpl := template(id.user, id.groups)
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		if err := signAndWrite(tmpl, ca, caKey, p.ClientCert(id.name), p.ClientKey(id.name)); err != nil {
			return err
		}
	}
	saKey, err := newKey()
	if err != nil {
		return err
	}
	return writeKey(p.ServiceAccountKey(), saKey)
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func template(cn string, orgs []string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour), // tolerate a little clock skew between processes
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
}

func signAndWrite(tmpl, ca *x509.Certificate, caKey crypto.Signer, certPath, keyPath string) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("signing %s: %w", tmpl.Subject.CommonName, err)
	}
	return writePair(certPath, keyPath, der, key)
}

func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	return writeKey(keyPath, key)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func loadCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New(path + ": no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
