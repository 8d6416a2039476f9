package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

func serving(cn string) cert.Config {
	return cert.Config{
		CommonName: cn,
		AltNames:   cert.AltNames{DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}},
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func leaf(t *testing.T, p KeyPair) *x509.Certificate {
	t.Helper()
	pair, err := p.TLS()
	if err != nil {
		t.Fatalf("the certificate and key do not match: %v", err)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestIssueSignsWithTheCA: an issued certificate verifies against the CA for its names and
// usage, carries the subject asked for, and is valid now and for about a year.
func TestIssueSignsWithTheCA(t *testing.T) {
	ca, err := NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	roots, err := cert.NewPoolFromBytes(ca.KeyPair().CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ca.Issue(cert.Config{CommonName: "alice", Organization: []string{"system:masters"}, Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	c := leaf(t, p)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify against the CA: %v", err)
	}
	if c.Subject.CommonName != "alice" || len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != "system:masters" {
		t.Errorf("subject %v, want CN=alice O=system:masters", c.Subject)
	}
	now := time.Now()
	if now.Before(c.NotBefore) || c.NotAfter.Before(now.Add(Validity-time.Minute)) {
		t.Errorf("valid %s to %s; want now to at least %s", c.NotBefore, c.NotAfter, now.Add(Validity))
	}

	s, err := ca.Issue(serving("apiserver"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1"} {
		if _, err := leaf(t, s).Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("serving certificate does not verify for %s: %v", name, err)
		}
	}
}

// TestSelfSignedVerifiesAgainstItself: a self-signed certificate is its own issuer.
func TestSelfSignedVerifiesAgainstItself(t *testing.T) {
	p, err := SelfSigned(serving("node"))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := cert.NewPoolFromBytes(p.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf(t, p).Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"}); err != nil {
		t.Errorf("self-signed certificate does not verify against itself: %v", err)
	}
}

// TestWriteSigningKeyWritesAPrivateECDSAKey: the key file is readable only by its owner and
// holds a key that the API server can sign tokens with.
func TestWriteSigningKeyWritesAPrivateECDSAKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sa.key")
	if err := WriteSigningKey(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	key, err := keyutil.PrivateKeyFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := key.(*ecdsa.PrivateKey); !ok {
		t.Errorf("key is %T, want *ecdsa.PrivateKey", key)
	}
}

// TestKeyPairWriteKeepsTheKeyPrivate: Write puts the certificate and key where asked, the key
// readable only by its owner.
func TestKeyPairWriteKeepsTheKeyPrivate(t *testing.T) {
	p, err := SelfSigned(serving("x"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "x.crt"), filepath.Join(dir, "x.key")
	if err := p.Write(certPath, keyPath); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(certPath); string(got) != string(p.CertPEM) {
		t.Error("certificate file differs from the pair")
	}
	if info, err := os.Stat(keyPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v; want mode 0600", info, err)
	}
}
