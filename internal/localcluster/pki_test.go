package localcluster

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/util/cert"
)

func TestEnsurePKIWritesAChainThatVerifies(t *testing.T) {
	p := PKI{Dir: t.TempDir()}
	fresh, err := ensurePKI(p)
	if err != nil || !fresh {
		t.Fatalf("ensurePKI = %v, %v; want a fresh set", fresh, err)
	}
	roots, err := cert.NewPool(p.CACert())
	if err != nil {
		t.Fatal(err)
	}

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

// TestEnsurePKIWritesOnlyFilesSomeoneReads: every file of the PKI directory is named in a
// component's arguments or is a client certificate that a kubeconfig embeds. The kubelet's
// serving pair once was neither: the local node serves a self-signed certificate of its own.
func TestEnsurePKIWritesOnlyFilesSomeoneReads(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	s := &Sandbox{layout: l, pki: PKI{Dir: l.PKIDir()}, cfg: Config{Aviary: "/bin/aviary", ControlPlaneDir: "/cp", Ports: PortsFrom(DefaultPortBase)}}
	if _, err := ensurePKI(s.pki); err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, c := range allComponents() {
		for _, arg := range c.argv(s) {
			if _, path, ok := strings.Cut(arg, "="); ok {
				read[path] = true
			}
		}
	}
	for _, id := range identities { // writeKubeconfigs
		read[s.pki.CACert()], read[s.pki.ClientCert(id.name)], read[s.pki.ClientKey(id.name)] = true, true, true
	}
	entries, err := os.ReadDir(s.pki.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if path := filepath.Join(s.pki.Dir, e.Name()); !read[path] {
			t.Errorf("ensurePKI writes %s, which no component reads", e.Name())
		}
	}
}
