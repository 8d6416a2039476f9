package compile

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	certutil "k8s.io/client-go/util/cert"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// httpsWorld is a Gateway with one HTTPS listener whose certificateRefs name secret.
func httpsWorld(t *testing.T, secret corev1.Secret) *Input {
	t.Helper()
	return &Input{
		ControllerName: "aviary.dev/gateway-controller",
		AddressPool:    netip.MustParsePrefix("127.0.100.0/24"),
		Now:            time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		GatewayClasses: []gwv1.GatewayClass{{
			ObjectMeta: metav1.ObjectMeta{Name: "aviary"},
			Spec:       gwv1.GatewayClassSpec{ControllerName: "aviary.dev/gateway-controller"},
		}},
		Gateways: []gwv1.Gateway{{
			ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"},
			Spec: gwv1.GatewaySpec{
				GatewayClassName: "aviary",
				Addresses:        []gwv1.GatewaySpecAddress{{Value: "127.0.0.9"}},
				Listeners: []gwv1.Listener{{
					Name: "https", Port: 443, Protocol: gwv1.HTTPSProtocolType,
					TLS: &gwv1.ListenerTLSConfig{CertificateRefs: []gwv1.SecretObjectReference{{Name: gwv1.ObjectName(secret.Name)}}},
				}},
			},
		}},
		Secrets: []corev1.Secret{secret},
	}
}

func keyPairSecret(t *testing.T, name string, typ corev1.SecretType) corev1.Secret {
	t.Helper()
	crt, key, err := certutil.GenerateSelfSignedCertKey("app.example.com", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Type:       typ,
		Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
	}
}

func listenerResolvedRefs(t *testing.T, out *Output) *metav1.Condition {
	t.Helper()
	st := out.Gateways[types.NamespacedName{Namespace: "default", Name: "gw"}]
	if len(st.Listeners) != 1 {
		t.Fatalf("listener statuses %+v, want one", st.Listeners)
	}
	c := meta.FindStatusCondition(st.Listeners[0].Conditions, string(gwv1.ListenerConditionResolvedRefs))
	if c == nil {
		t.Fatal("the HTTPS listener has no ResolvedRefs condition")
	}
	return c
}

func TestHTTPSListenerTerminatesWithAKubernetesTLSSecret(t *testing.T) {
	out := Compile(httpsWorld(t, keyPairSecret(t, "cert", corev1.SecretTypeTLS)))
	if c := listenerResolvedRefs(t, out); c.Status != metav1.ConditionTrue {
		t.Errorf("ResolvedRefs %s %s: %s, want True", c.Status, c.Reason, c.Message)
	}
	if pt := out.Table.Ports["127.0.0.9:443"]; pt == nil || len(pt.TLS) != 1 {
		t.Fatalf("socket 127.0.0.9:443: %+v, want one certificate", pt)
	}
}

// TestHTTPSListenerRefusesSecretsOfOtherTypes: certificateRefs name kubernetes.io/tls Secrets,
// the only Secrets the gateway caches; an Opaque Secret holding the same pair is not used.
func TestHTTPSListenerRefusesSecretsOfOtherTypes(t *testing.T) {
	out := Compile(httpsWorld(t, keyPairSecret(t, "cert", corev1.SecretTypeOpaque)))
	c := listenerResolvedRefs(t, out)
	if c.Status != metav1.ConditionFalse || c.Reason != string(gwv1.ListenerReasonInvalidCertificateRef) ||
		!strings.Contains(c.Message, "kubernetes.io/tls") {
		t.Errorf("ResolvedRefs %s %s: %q, want False InvalidCertificateRef naming kubernetes.io/tls", c.Status, c.Reason, c.Message)
	}
	if pt := out.Table.Ports["127.0.0.9:443"]; pt != nil && len(pt.TLS) > 0 {
		t.Errorf("the listener serves the Opaque Secret's certificate")
	}
}
