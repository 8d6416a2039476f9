package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	gatewayapi "github.com/aviary-dev/aviary/config/gateway-api"
	"github.com/aviary-dev/aviary/internal/crdinstall"
	gateway "github.com/aviary-dev/aviary/internal/gateway/controller"
	"github.com/aviary-dev/aviary/internal/testenv"
)

const (
	benchController = "aviary.dev/bench-gateway"
	benchNS         = "default"
)

type cluster struct {
	env        *testenv.Env
	c          client.Client
	kubeconfig string
}

func newCluster(ctx context.Context, dir string) (*cluster, error) {
	env, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	cl := &cluster{env: env, kubeconfig: filepath.Join(dir, "kubeconfig")}
	cfg := env.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["bench"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "bench"}
	kc.CurrentContext = "bench"
	if err := clientcmd.WriteToFile(*kc, cl.kubeconfig); err != nil {
		cl.stop()
		return nil, err
	}
	scheme, err := gateway.NewScheme()
	if err == nil {
		cl.c, err = client.New(cfg, client.Options{Scheme: scheme})
	}
	if err == nil {
		err = installGatewayAPI(ctx, cfg)
	}
	if err != nil {
		cl.stop()
		return nil, err
	}
	return cl, nil
}

func (cl *cluster) stop() { _ = cl.env.Stop() }

// setup creates the GatewayClass, a Gateway on a requested loopback address, the two Services
// with FQDN EndpointSlices on the backends, and the HTTPRoute sending everything to stable.
func (cl *cluster) setup(ctx context.Context, stable, canary, port string) (string, error) {
	const addr = "127.0.102.10"
	p, _ := strconv.Atoi(port)
	objs := []client.Object{
		&gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "bench"}, Spec: gwv1.GatewayClassSpec{ControllerName: benchController}},
		&gwv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: benchNS},
			Spec: gwv1.GatewaySpec{
				GatewayClassName: "bench",
				Addresses:        []gwv1.GatewaySpecAddress{{Type: ptr.To(gwv1.IPAddressType), Value: addr}},
				Listeners:        []gwv1.Listener{{Name: "http", Port: gwv1.PortNumber(p), Protocol: gwv1.HTTPProtocolType}},
			},
		},
		benchRoute(100, 0),
	}
	for name, backend := range map[string]string{"stable": stable, "canary": canary} {
		host, bport, _ := splitHostPort(backend)
		objs = append(objs,
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNS}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}},
			&discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: benchNS, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
				AddressType: discoveryv1.AddressTypeFQDN,
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(bport))}},
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
			})
	}
	for _, o := range objs {
		if err := cl.c.Create(ctx, o); err != nil {
			return "", fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return addr, nil
}

func splitHostPort(hp string) (string, int, error) {
	for i := len(hp) - 1; i >= 0; i-- {
		if hp[i] == ':' {
			p, err := strconv.Atoi(hp[i+1:])
			return hp[:i], p, err
		}
	}
	return hp, 0, fmt.Errorf("no port in %q", hp)
}

func benchRoute(stable, canary int32) *gwv1.HTTPRoute {
	ref := func(name string, w int32) gwv1.HTTPBackendRef {
		return gwv1.HTTPBackendRef{BackendRef: gwv1.BackendRef{
			BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(name), Port: ptr.To(gwv1.PortNumber(80))}, Weight: ptr.To(w)}}
	}
	return &gwv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: benchNS},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "bench"}}},
			Rules:           []gwv1.HTTPRouteRule{{BackendRefs: []gwv1.HTTPBackendRef{ref("stable", stable), ref("canary", canary)}}},
		},
	}
}

type changeResult struct {
	applied          time.Duration // from sending the update to the first canary answer
	accepted         time.Duration // from sending the update to the API server's answer to it
	swapped          time.Duration // when the gateway's log has the new table swapped in; -1 if not found
	requests, failed int64
}

// weightChange moves all weight from stable to canary while load runs, and measures the time
// from sending the update to the API server until the first answer from the canary (asked for
// from that moment on), how long the update call itself took, and when the gateway's log has
// the new table swapped in.
func (cl *cluster) weightChange(ctx context.Context, url string, rps float64, gatewayLog string) (changeResult, error) {
	res := changeResult{swapped: -1}
	var requests, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 5 * time.Second}
	hit := func() (string, bool) {
		resp, err := httpc.Get(url)
		requests.Add(1)
		if err != nil {
			failed.Add(1)
			return "", false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failed.Add(1)
			return "", false
		}
		return resp.Header.Get("X-Backend"), true
	}
	interval := time.Duration(float64(time.Second) / max(rps, 100))
	wg.Add(1)
	go func() { // background load
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				wg.Add(1)
				go func() { defer wg.Done(); hit() }()
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	route := &gwv1.HTTPRoute{}
	if err := cl.c.Get(ctx, client.ObjectKey{Namespace: benchNS, Name: "bench"}, route); err != nil {
		return res, err
	}
	route.Spec.Rules[0].BackendRefs = benchRoute(0, 100).Spec.Rules[0].BackendRefs
	sent := time.Now()
	firstCanary := make(chan time.Duration, 1)
	wg.Add(1)
	go func() { // from the moment the update leaves: the gateway can have it before its sender
		defer wg.Done()
		var at time.Duration // 0: no canary answer
		defer func() { firstCanary <- at }()
		for time.Since(sent) < 10*time.Second {
			select {
			case <-stop:
				return
			default:
			}
			if be, ok := hit(); ok && be == "canary" {
				at = time.Since(sent)
				return
			}
		}
	}()
	err := cl.c.Update(ctx, route)
	res.accepted = time.Since(sent)
	if err == nil {
		res.applied = <-firstCanary
		time.Sleep(500 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if err != nil {
		return res, err
	}
	res.requests, res.failed = requests.Load(), failed.Load()
	if log, err := os.Open(gatewayLog); err == nil {
		if at, ok := firstSwapAt(log, sent); ok {
			res.swapped = at.Sub(sent)
		}
		_ = log.Close()
	}
	if res.applied == 0 {
		return res, fmt.Errorf("the canary never answered within 10s of the weight change")
	}
	return res, nil
}

// swapNote says when the gateway swapped its table in, as its log has it.
func (r changeResult) swapNote() string {
	if r.swapped < 0 {
		return "the gateway's log has no table swapped in after the update"
	}
	return fmt.Sprintf("the gateway's log has the new table swapped in %s after the update was sent (to its millisecond)",
		r.swapped.Round(time.Millisecond))
}

// installGatewayAPI installs the Gateway API's standard channel into the API server of cfg.
func installGatewayAPI(ctx context.Context, cfg *rest.Config) error {
	crds, err := crdinstall.Read(gatewayapi.Standard, "standard/*.yaml")
	if err != nil {
		return err
	}
	_, err = crdinstall.Install(ctx, cfg, crds)
	return err
}
