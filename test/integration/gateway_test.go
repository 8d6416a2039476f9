package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	gatewayapi "github.com/aviary-dev/aviary/config/gateway-api"
	"github.com/aviary-dev/aviary/internal/crdinstall"
	gateway "github.com/aviary-dev/aviary/internal/gateway/controller"
)

// gatewayProcess is `aviary gateway` running in-process against the test API server. The gateway
// tests share one (controller-runtime refuses two controllers of one name in a process); each
// takes its own namespace, GatewayClass and port from fixture.
type gatewayProcess struct {
	c          client.Client
	controller string
}

// gatewayFixture is one test's corner of the shared gateway.
type gatewayFixture struct {
	c          client.Client
	ns         string
	class      string
	controller string
	port       int
}

func startGateway(t *testing.T) *gatewayProcess {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	scheme, err := gateway.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	gwCRDs, err := crdinstall.Read(gatewayapi.Standard, "standard/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crdinstall.Install(ctx, env.Config, gwCRDs); err != nil {
		t.Fatalf("installing the Gateway API CRDs: %v", err)
	}
	g := &gatewayProcess{c: c, controller: "aviary.dev/test-" + rand.String(5)}

	opts := gateway.NewOptions()
	opts.ControllerName = g.controller
	opts.AddressPool = "127.0.101.0/24"
	opts.MetricsBindAddress, opts.HealthProbeBindAddress = "0", "0"
	opts.Limits.DrainTimeout = 5 * time.Second
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gateway.RunWithConfig(runCtx, env.Config, opts) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("gateway stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("gateway did not stop within 30s")
		}
	})
	return g
}

// fixture gives a test its own namespace, GatewayClass name and listener port.
func (g *gatewayProcess) fixture(t *testing.T) *gatewayFixture {
	suffix := rand.String(5)
	f := &gatewayFixture{c: g.c, ns: "gw-" + suffix, class: "aviary-" + suffix, controller: g.controller, port: gwFreePort(t)}
	gwMust(t, g.c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}))
	return f
}

// TestGateway runs the gateway scenarios against one shared gateway.
func TestGateway(t *testing.T) {
	g := startGateway(t)
	t.Run("ServesHTTPRoutesAndWritesStatus", func(t *testing.T) { testServesHTTPRoutesAndWritesStatus(t, g.fixture(t)) })
	t.Run("ResolvesBackendsFromEndpointSlicesOnly", func(t *testing.T) { testResolvesBackendsFromEndpointSlicesOnly(t, g.fixture(t)) })
	t.Run("TerminatesTLSWithKubernetesTLSSecrets", func(t *testing.T) { testTerminatesTLSWithKubernetesTLSSecrets(t, g.fixture(t)) })
}

func gwFreePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func gwMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond for up to 30 s.
func gwEventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within 30s; last: %s", what, last)
}

// backendService creates a Service and an EndpointSlice pointing at a loopback httptest server
// that answers with name.
func (f *gatewayFixture) backendService(t *testing.T, name string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	port := int32(srv.Listener.Addr().(*net.TCPAddr).Port)
	ctx := context.Background()
	gwMust(t, f.c.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}))
	gwMust(t, f.c.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-1", Namespace: f.ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		// The API server refuses loopback IPs in IPv4 slices; FQDN slices carry them as names.
		AddressType: discoveryv1.AddressTypeFQDN,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: &port}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}))
}

func weighted(name string, w int32) gwv1.HTTPBackendRef {
	return gwv1.HTTPBackendRef{BackendRef: gwv1.BackendRef{
		BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(name), Port: ptr.To(gwv1.PortNumber(80))},
		Weight:                 ptr.To(w),
	}}
}

func (f *gatewayFixture) route(name string, rules ...gwv1.HTTPRouteRule) *gwv1.HTTPRoute {
	return &gwv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw"}}},
			Rules:           rules,
		},
	}
}

// routeCondition returns our parent status condition of a route, and the route's generation.
func (f *gatewayFixture) routeCondition(t *testing.T, name, condType string) (*metav1.Condition, int64) {
	r := &gwv1.HTTPRoute{}
	gwMust(t, f.c.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: name}, r))
	for _, p := range r.Status.Parents {
		if string(p.ControllerName) == f.controller {
			return meta.FindStatusCondition(p.Conditions, condType), r.Generation
		}
	}
	return nil, r.Generation
}

func (f *gatewayFixture) expectRoute(t *testing.T, name, condType string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	gwEventually(t, fmt.Sprintf("route %s %s=%s/%s", name, condType, status, reason), func() (bool, string) {
		c, gen := f.routeCondition(t, name, condType)
		if c == nil {
			return false, "no condition"
		}
		return c.Status == status && c.Reason == reason && c.ObservedGeneration == gen, fmt.Sprintf("%+v (generation %d)", *c, gen)
	})
}

func gwGet(url string, hdr ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Backend"), nil
}

func testServesHTTPRoutesAndWritesStatus(t *testing.T, f *gatewayFixture) {
	ctx := context.Background()
	f.backendService(t, "stable")
	f.backendService(t, "canary")
	f.gateway(t, gwv1.Listener{Name: "http", Port: gwv1.PortNumber(f.port), Protocol: gwv1.HTTPProtocolType})
	web := f.route("web", gwv1.HTTPRouteRule{BackendRefs: []gwv1.HTTPBackendRef{weighted("stable", 100), weighted("canary", 0)}})
	web.Annotations = map[string]string{"aviary.dev/user-key": "header:X-User"}
	gwMust(t, f.c.Create(ctx, web))
	// A route whose only rule has an invalid regex is rejected; the others keep serving.
	bad := f.route("bad", gwv1.HTTPRouteRule{
		Matches:     []gwv1.HTTPRouteMatch{{Headers: []gwv1.HTTPHeaderMatch{{Type: ptr.To(gwv1.HeaderMatchRegularExpression), Name: "X-Bad", Value: "(unclosed"}}}},
		BackendRefs: []gwv1.HTTPBackendRef{weighted("stable", 1)},
	})
	gwMust(t, f.c.Create(ctx, bad))
	missing := f.route("missing", gwv1.HTTPRouteRule{
		Matches:     []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: ptr.To(gwv1.PathMatchExact), Value: ptr.To("/missing")}}},
		BackendRefs: []gwv1.HTTPBackendRef{weighted("nowhere", 1)},
	})
	gwMust(t, f.c.Create(ctx, missing))

	gwEventually(t, "GatewayClass Accepted", func() (bool, string) {
		gc := &gwv1.GatewayClass{}
		gwMust(t, f.c.Get(ctx, client.ObjectKey{Name: f.class}, gc))
		c := meta.FindStatusCondition(gc.Status.Conditions, "Accepted")
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == gc.Generation, fmt.Sprint(gc.Status.Conditions)
	})
	var addr string
	gwEventually(t, "Gateway Accepted and Programmed with an address from the pool", func() (bool, string) {
		gw := &gwv1.Gateway{}
		gwMust(t, f.c.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "gw"}, gw))
		acc := meta.FindStatusCondition(gw.Status.Conditions, "Accepted")
		prog := meta.FindStatusCondition(gw.Status.Conditions, "Programmed")
		if acc == nil || prog == nil || len(gw.Status.Addresses) == 0 || len(gw.Status.Listeners) != 1 {
			return false, fmt.Sprintf("%+v", gw.Status)
		}
		addr = gw.Status.Addresses[0].Value
		return acc.Status == "True" && prog.Status == "True" && prog.ObservedGeneration == gw.Generation &&
			strings.HasPrefix(addr, "127.0.101.") && gw.Status.Listeners[0].AttachedRoutes == 2, fmt.Sprintf("%+v", gw.Status)
	})
	f.expectRoute(t, "web", "Accepted", "True", "Accepted")
	f.expectRoute(t, "web", "ResolvedRefs", "True", "ResolvedRefs")
	f.expectRoute(t, "bad", "Accepted", "False", "UnsupportedValue")
	f.expectRoute(t, "missing", "ResolvedRefs", "False", "BackendNotFound")

	base := "http://" + net.JoinHostPort(addr, strconv.Itoa(f.port))
	gwEventually(t, "traffic reaches the stable backend", func() (bool, string) {
		code, be, err := gwGet(base + "/")
		return err == nil && code == 200 && be == "stable", fmt.Sprint(code, be, err)
	})
	if code, _, err := gwGet(base + "/missing"); err != nil || code != 500 {
		t.Errorf("backendRef to a missing Service: %d %v, want 500", code, err)
	}
	if code, be, err := gwGet(base+"/", "X-Bad", "x"); err != nil || code != 200 || be != "stable" {
		t.Errorf("the rejected route must not capture traffic: %d %s %v", code, be, err)
	}

	// Canary to 100%: every user moves, and the route's observedGeneration follows.
	// The gateway writes the route's status meanwhile: re-read on a conflict.
	gwMust(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := f.c.Get(ctx, client.ObjectKeyFromObject(web), web); err != nil {
			return err
		}
		web.Spec.Rules[0].BackendRefs = []gwv1.HTTPBackendRef{weighted("stable", 0), weighted("canary", 100)}
		return f.c.Update(ctx, web)
	}))
	gwEventually(t, "traffic moves to the canary", func() (bool, string) {
		code, be, err := gwGet(base+"/", "X-User", "alice")
		return err == nil && code == 200 && be == "canary", fmt.Sprint(code, be, err)
	})
	f.expectRoute(t, "web", "Accepted", "True", "Accepted")

	// No ready endpoints: 503.
	es := &discoveryv1.EndpointSlice{}
	gwMust(t, f.c.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "canary-1"}, es))
	es.Endpoints[0].Conditions.Ready = ptr.To(false)
	gwMust(t, f.c.Update(ctx, es))
	gwEventually(t, "a backend without ready endpoints answers 503", func() (bool, string) {
		code, be, err := gwGet(base + "/")
		return err == nil && code == 503, fmt.Sprint(code, be, err)
	})
}

// gateway creates the fixture's GatewayClass (removed when the test ends) and a Gateway "gw"
// with listeners.
func (f *gatewayFixture) gateway(t *testing.T, listeners ...gwv1.Listener) {
	t.Helper()
	ctx := context.Background()
	gwMust(t, f.c.Create(ctx, &gwv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: f.class},
		Spec:       gwv1.GatewayClassSpec{ControllerName: gwv1.GatewayController(f.controller)},
	}))
	t.Cleanup(func() {
		_ = f.c.Delete(context.Background(), &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: f.class}})
	})
	gwMust(t, f.c.Create(ctx, &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: f.ns},
		Spec:       gwv1.GatewaySpec{GatewayClassName: gwv1.ObjectName(f.class), Listeners: listeners},
	}))
}

// programmedGateway creates the fixture's GatewayClass and a Gateway "gw" with listeners, waits
// until the Gateway is Programmed, and returns the address it was given.
func (f *gatewayFixture) programmedGateway(t *testing.T, listeners ...gwv1.Listener) string {
	t.Helper()
	ctx := context.Background()
	f.gateway(t, listeners...)
	var addr string
	gwEventually(t, "Gateway Programmed with an address", func() (bool, string) {
		gw := &gwv1.Gateway{}
		gwMust(t, f.c.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "gw"}, gw))
		prog := meta.FindStatusCondition(gw.Status.Conditions, "Programmed")
		if prog == nil || prog.Status != metav1.ConditionTrue || prog.ObservedGeneration != gw.Generation || len(gw.Status.Addresses) == 0 {
			return false, fmt.Sprintf("%+v", gw.Status)
		}
		addr = gw.Status.Addresses[0].Value
		return true, ""
	})
	return addr
}

// readyLoopbackPod creates a pod labelled app=name and gives it the status a node would: IP
// 127.0.0.1 and Ready, its container port "web" at port.
func (f *gatewayFixture) readyLoopbackPod(t *testing.T, name string, port int32) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "example.com/web", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: port}},
		}}},
	}
	// The namespace's default ServiceAccount, which admission wants, appears shortly after it.
	gwEventually(t, "pod "+name+" created", func() (bool, string) {
		err := f.c.Create(ctx, pod)
		return err == nil, fmt.Sprint(err)
	})
	now := metav1.Now()
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: "127.0.0.1", PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
	}
	gwMust(t, f.c.Status().Update(ctx, pod))
}

// testResolvesBackendsFromEndpointSlicesOnly checks that a selector Service's ready pods are
// not endpoints until an EndpointSlice lists them (on the sandbox, `aviary local endpoints`
// writes them), as with any Gateway API implementation: the gateway does not read pods.
func testResolvesBackendsFromEndpointSlicesOnly(t *testing.T, f *gatewayFixture) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Backend", "pod")
	}))
	t.Cleanup(srv.Close)
	port := int32(srv.Listener.Addr().(*net.TCPAddr).Port)
	f.readyLoopbackPod(t, "web", port)
	gwMust(t, f.c.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: f.ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("web")}}},
	}))
	addr := f.programmedGateway(t, gwv1.Listener{Name: "http", Port: gwv1.PortNumber(f.port), Protocol: gwv1.HTTPProtocolType})
	gwMust(t, f.c.Create(ctx, f.route("web", gwv1.HTTPRouteRule{BackendRefs: []gwv1.HTTPBackendRef{weighted("web", 1)}})))
	f.expectRoute(t, "web", "ResolvedRefs", "True", "ResolvedRefs")

	base := "http://" + net.JoinHostPort(addr, strconv.Itoa(f.port))
	if code, be, err := gwGet(base + "/"); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("a ready pod without an EndpointSlice: %d %q %v, want 503 (no endpoints)", code, be, err)
	}
	gwMust(t, f.c.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: f.ns, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeFQDN,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: &port}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}))
	gwEventually(t, "traffic reaches the pod once its EndpointSlice exists", func() (bool, string) {
		code, be, err := gwGet(base + "/")
		return err == nil && code == 200 && be == "pod", fmt.Sprint(code, be, err)
	})
}

// keyPairSecret creates a Secret of type typ holding a fresh certificate for host, and returns
// the certificate (with its CA) in PEM.
func (f *gatewayFixture) keyPairSecret(t *testing.T, name, host string, typ corev1.SecretType) []byte {
	t.Helper()
	crt, key, err := certutil.GenerateSelfSignedCertKey(host, nil, nil)
	gwMust(t, err)
	gwMust(t, f.c.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns},
		Type:       typ,
		Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
	}))
	return crt
}

func httpsListener(name string, port int, secret string) gwv1.Listener {
	return gwv1.Listener{
		Name: gwv1.SectionName(name), Port: gwv1.PortNumber(port), Protocol: gwv1.HTTPSProtocolType,
		Hostname: ptr.To(gwv1.Hostname("app.example.com")),
		TLS:      &gwv1.ListenerTLSConfig{CertificateRefs: []gwv1.SecretObjectReference{{Name: gwv1.ObjectName(secret)}}},
	}
}

// testTerminatesTLSWithKubernetesTLSSecrets checks that an HTTPS listener serves the certificate
// of a kubernetes.io/tls Secret, and that a Secret of another type never reaches the gateway:
// its cache holds kubernetes.io/tls Secrets only, so the listener naming one reports it not found.
func testTerminatesTLSWithKubernetesTLSSecrets(t *testing.T, f *gatewayFixture) {
	ctx := context.Background()
	f.backendService(t, "stable")
	crt := f.keyPairSecret(t, "tls-cert", "app.example.com", corev1.SecretTypeTLS)
	f.keyPairSecret(t, "opaque-cert", "app.example.com", corev1.SecretTypeOpaque)
	opaquePort := gwFreePort(t)
	addr := f.programmedGateway(t, httpsListener("tls", f.port, "tls-cert"), httpsListener("opaque", opaquePort, "opaque-cert"))
	gwMust(t, f.c.Create(ctx, f.route("web", gwv1.HTTPRouteRule{BackendRefs: []gwv1.HTTPBackendRef{weighted("stable", 1)}})))

	gw := &gwv1.Gateway{}
	gwMust(t, f.c.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "gw"}, gw))
	resolved := map[string]*metav1.Condition{}
	for _, l := range gw.Status.Listeners {
		resolved[string(l.Name)] = meta.FindStatusCondition(l.Conditions, "ResolvedRefs")
	}
	if c := resolved["tls"]; c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("listener tls ResolvedRefs %+v, want True", c)
	}
	if c := resolved["opaque"]; c == nil || c.Status != metav1.ConditionFalse || c.Reason != "InvalidCertificateRef" ||
		!strings.Contains(c.Message, "opaque-cert not found") {
		t.Errorf("listener opaque ResolvedRefs %+v, want False InvalidCertificateRef: not found (the gateway caches no Opaque Secrets)", c)
	}

	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(crt) {
		t.Fatal("the generated certificate does not parse")
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "app.example.com", MinVersion: tls.VersionTLS12},
	}}
	gwEventually(t, "HTTPS traffic reaches the backend with the Secret's certificate", func() (bool, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+net.JoinHostPort(addr, strconv.Itoa(f.port))+"/", nil)
		gwMust(t, err)
		req.Host = "app.example.com"
		resp, err := hc.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode == http.StatusOK && resp.Header.Get("X-Backend") == "stable", fmt.Sprint(resp.StatusCode, resp.Header.Get("X-Backend"))
	})
}
