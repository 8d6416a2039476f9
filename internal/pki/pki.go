// Package pki makes the certificates and keys of the clusters Aviary starts itself: the local
// sandbox's CA and the certificates it signs, the local node's self-signed kubelet certificate,
// and the service-account signing keys of the sandbox and the test API server. It builds on
// client-go's util/cert and util/keyutil; the one thing they lack, signing a leaf certificate
// with a CA, is Issue.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// Validity is how long an issued certificate is valid.
const Validity = 365 * 24 * time.Hour

// clockSkew backdates every certificate so that processes whose clocks differ a little accept it.
const clockSkew = time.Hour

// KeyPair is a PEM-encoded certificate and its private key.
type KeyPair struct {
	CertPEM []byte
	KeyPEM  []byte
}

// Write writes the certificate and the key, the key readable only by its owner.
func (p KeyPair) Write(certPath, keyPath string) error {
	if err := cert.WriteCert(certPath, p.CertPEM); err != nil {
		return fmt.Errorf("writing certificate %s: %w", certPath, err)
	}
	if err := keyutil.WriteKey(keyPath, p.KeyPEM); err != nil {
		return fmt.Errorf("writing key %s: %w", keyPath, err)
	}
	return nil
}

// TLS is the pair as a certificate a tls.Config can serve.
func (p KeyPair) TLS() (tls.Certificate, error) { return tls.X509KeyPair(p.CertPEM, p.KeyPEM) }

// CA is a certificate authority whose key is in memory, to issue certificates with.
type CA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pair KeyPair
}

// NewCA makes a self-signed CA named commonName with a fresh ECDSA P-256 key.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c, err := cert.NewSelfSignedCACert(cert.Config{CommonName: commonName, NotBefore: time.Now().Add(-clockSkew)}, key)
	if err != nil {
		return nil, fmt.Errorf("making CA %s: %w", commonName, err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, err
	}
	certPEM, err := cert.EncodeCertificates(c)
	if err != nil {
		return nil, err
	}
	return &CA{cert: c, key: key, pair: KeyPair{CertPEM: certPEM, KeyPEM: keyPEM}}, nil
}

// KeyPair is the CA's own certificate and key, for the files that components read.
func (ca *CA) KeyPair() KeyPair { return ca.pair }

// Issue makes a certificate for cfg's subject, names and usages with a fresh key, signed by ca.
func (ca *CA) Issue(cfg cert.Config) (KeyPair, error) {
	return issue(cfg, ca)
}

// SelfSigned makes a certificate for cfg's subject, names and usages signed by its own fresh
// key: for a server whose clients do not verify it.
func SelfSigned(cfg cert.Config) (KeyPair, error) {
	return issue(cfg, nil)
}

// issue makes a fresh key and a certificate for it from cfg, signed by ca, or by the new key
// itself when ca is nil.
func issue(cfg cert.Config, ca *CA) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	tmpl, err := template(cfg)
	if err != nil {
		return KeyPair{}, err
	}
	parent, parentKey := tmpl, crypto.Signer(key)
	if ca != nil {
		parent, parentKey = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return KeyPair{}, fmt.Errorf("signing a certificate for %s: %w", cfg.CommonName, err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return KeyPair{}, err
	}
	certPEM, err := cert.EncodeCertificates(&x509.Certificate{Raw: der})
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// template is the leaf certificate cfg describes, valid from a little before now for Validity.
func template(cfg cert.Config) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	notBefore := cfg.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-clockSkew)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cfg.CommonName, Organization: cfg.Organization},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(clockSkew + Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  cfg.Usages,
		DNSNames:     cfg.AltNames.DNSNames,
		IPAddresses:  cfg.AltNames.IPs,
	}, nil
}

// WriteSigningKey writes a fresh ECDSA P-256 private key in PEM form to path, readable only by
// its owner: the service-account token key that kube-apiserver verifies with
// (--service-account-key-file reads the public half from the same file) and signs with.
func WriteSigningKey(path string) error {
	key, err := keyutil.MakeEllipticPrivateKeyPEM()
	if err != nil {
		return err
	}
	if err := keyutil.WriteKey(path, key); err != nil {
		return fmt.Errorf("writing signing key %s: %w", path, err)
	}
	return nil
}
