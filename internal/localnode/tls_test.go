package localnode

import (
	"crypto/x509"
	"testing"
)

// TestSelfSignedCertNamesTheNode: the kubelet API's certificate serves as the node's name,
// localhost and the host address.
func TestSelfSignedCertNamesTheNode(t *testing.T) {
	pair, err := selfSignedCert("aviary-local")
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c)
	for _, name := range []string{"aviary-local", "localhost", HostIP} {
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("the kubelet certificate does not verify for %s: %v", name, err)
		}
	}
	if c.Subject.CommonName != "aviary-local" {
		t.Errorf("CN %q, want the node's name", c.Subject.CommonName)
	}
}
