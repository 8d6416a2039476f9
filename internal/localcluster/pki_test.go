package localcluster

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"slices"
	"testing"
)

func TestEnsurePKIWritesAChainThatVerifies(t *testing.T) {
	p := PKI{Dir: t.TempDir()}
	fresh, err := ensurePKI(p)
	if err != nil || !fresh {
		t.Fatalf("ensurePKI = %v, %v; want a fresh set", fresh, err)
	}
	ca, err := loadCert(p.CACert())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	serving, err := tls.LoadX509KeyPair(p.ServingCert("apiserver"), p.ServingKey("apiserver"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(serving.Certificate[0])
	for _, name := range []string{"127.0.0.1", "localhost", "kubernetes.default.svc", kubernetesSvcIP} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("the API server certificate does not verify for %s: %v", name, err)
		}
	}

	for _, id := range identities {
		pair, err := tls.LoadX509KeyPair(p.ClientCert(id.name), p.ClientKey(id.name))
		if err != nil {
			t.Fatalf("%s: %v", id.name, err)
		}
		c, _ := x509.ParseCertificate(pair.Certificate[0])
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: client certificate does not verify: %v", id.name, err)
		}
		if c.Subject.CommonName != id.user || !slices.Equal(c.Subject.Organization, id.groups) {
			t.Errorf("%s: subject CN=%s O=%v, want CN=%s O=%v", id.name, c.Subject.CommonName, c.Subject.Organization, id.user, id.groups)
		}
	}
}

func TestEnsurePKIKeepsACompleteSetAndReplacesABrokenOne(t *testing.T) {
	p := PKI{Dir: t.TempDir()}
	if _, err := ensurePKI(p); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p.CACert())
	if fresh, err := ensurePKI(p); err != nil || fresh {
		t.Fatalf("second ensurePKI = %v, %v; want the set kept", fresh, err)
	}
	if after, _ := os.ReadFile(p.CACert()); string(after) != string(before) {
		t.Fatal("a complete set was rewritten")
	}
	if err := os.Remove(p.ClientKey("node")); err != nil {
		t.Fatal(err)
	}
	if fresh, err := ensurePKI(p); err != nil || !fresh {
		t.Fatalf("ensurePKI after losing a key = %v, %v; want a fresh set", fresh, err)
	}
	if after, _ := os.ReadFile(p.CACert()); string(after) == string(before) {
		t.Fatal("a broken set kept its old CA: certificates signed by two CAs would mix")
	}
}
