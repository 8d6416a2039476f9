package localnode

import (
	"crypto/tls"
	"crypto/x509"
	"net"

	"k8s.io/client-go/util/cert"

	"github.com/aviary-dev/aviary/internal/pki"
)

// selfSignedCert makes the kubelet API's serving certificate. kube-apiserver started without
// --kubelet-certificate-authority does not verify kubelet certificates, so a fresh self-signed
// one per start is enough and nothing has to be stored.
func selfSignedCert(nodeName string) (tls.Certificate, error) {
	pair, err := pki.SelfSigned(cert.Config{
		CommonName:   nodeName,
		Organization: []string{"aviary local node"},
		AltNames:     cert.AltNames{DNSNames: []string{nodeName, "localhost"}, IPs: []net.IP{net.ParseIP(HostIP)}},
		Usages:       []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return tls.Certificate{}, err
	}
	return pair.TLS()
}
