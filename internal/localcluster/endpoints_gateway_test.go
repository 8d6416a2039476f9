package localcluster

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/compile"
)

// loopbackPod is a pod of app=demo at ip whose container port "web" is port/protocol.
func loopbackPod(name, ip string, ready bool, port int32, protocol corev1.Protocol) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "demo"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: port, Protocol: protocol}},
		}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
		},
	}
}

// TestSandboxSlicesGiveTheGatewayItsEndpoints runs the sandbox's EndpointSlices through the
// gateway's compiler: the gateway reads only slices, so these are all it knows of loopback
// pods. Target ports follow the Kubernetes rules (named: per pod and protocol; numeric; none:
// the Service port), and only ready pods that are not terminating take requests.
func TestSandboxSlicesGiveTheGatewayItsEndpoints(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "default", UID: "uid-demo"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "demo"},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("web")},
				{Name: "metrics", Port: 9100, TargetPort: intstr.FromInt32(9101)},
				{Name: "plain", Port: 8000},
			},
		},
	}
	terminating := loopbackPod("e", "127.16.0.5", true, 8080, corev1.ProtocolTCP)
	terminating.DeletionTimestamp = ptr.To(metav1.Now())
	pods := []*corev1.Pod{
		loopbackPod("a", "127.16.0.1", true, 8080, corev1.ProtocolTCP),
		loopbackPod("b", "127.16.0.2", true, 9090, ""), // the named port elsewhere; TCP by default
		loopbackPod("c", "127.16.0.3", false, 8080, corev1.ProtocolTCP),
		loopbackPod("d", "127.16.0.4", true, 8080, corev1.ProtocolUDP), // "web" is not a TCP port here
		terminating,
	}
	in := &compile.Input{
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
				Listeners:        []gwv1.Listener{{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType}},
			},
		}},
		HTTPRoutes: []gwv1.HTTPRoute{{
			ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "default"},
			Spec: gwv1.HTTPRouteSpec{
				CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw"}}},
				Rules:           []gwv1.HTTPRouteRule{ruleTo(80), ruleTo(9100), ruleTo(8000)},
			},
		}},
		Services: []corev1.Service{*svc},
	}
	for _, es := range desiredSlices([]*corev1.Service{svc}, pods) {
		in.EndpointSlices = append(in.EndpointSlices, *es)
	}
	got := backendEndpoints(t, compile.Compile(in))
	want := map[int32][]string{
		80:   {"127.16.0.1:8080", "127.16.0.2:9090"},
		9100: {"127.16.0.1:9101", "127.16.0.2:9101", "127.16.0.4:9101"},
		8000: {"127.16.0.1:8000", "127.16.0.2:8000", "127.16.0.4:8000"},
	}
	for port, eps := range want {
		if !slices.Equal(got[port], eps) {
			t.Errorf("Service port %d: the gateway sends to %v, want %v", port, got[port], eps)
		}
	}
}

func ruleTo(port int32) gwv1.HTTPRouteRule {
	return gwv1.HTTPRouteRule{
		Matches: []gwv1.HTTPRouteMatch{{Headers: []gwv1.HTTPHeaderMatch{{Name: "X-Port", Value: strconv.Itoa(int(port))}}}},
		BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{
			BackendObjectReference: gwv1.BackendObjectReference{Name: "demo", Port: ptr.To(port)},
		}}},
	}
}

// backendEndpoints maps each Service port the compiled table routes to its endpoints.
func backendEndpoints(t *testing.T, out *compile.Output) map[int32][]string {
	t.Helper()
	pt := out.Table.Ports["127.0.0.9:80"]
	if pt == nil {
		t.Fatalf("no socket 127.0.0.9:80 in %v", out.Sockets)
	}
	got := map[int32][]string{}
	for _, e := range pt.Any {
		for _, b := range e.Rule.Backends {
			port, err := strconv.Atoi(strings.TrimPrefix(b.Name, "default/demo:"))
			if err != nil {
				t.Fatalf("backend %q is not a port of Service default/demo", b.Name)
			}
			got[int32(port)] = b.Endpoints
		}
	}
	return got
}
