package localcluster

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/internal/podstate"
)

// endpointsManager marks the EndpointSlices the sandbox's endpoints process writes.
const endpointsManager = "aviary-local-endpoints"

// desiredSlices computes the EndpointSlices of every selector Service from its pods.
//
// The sandbox's pods live on loopback addresses, which the API server refuses in IPv4
// EndpointSlices (and Endpoints), so kube-controller-manager's endpoint controllers cannot
// work here. These slices are addressType FQDN with the pod IP as the address, which the API
// server accepts and which a client dialling "address:port" reaches all the same. Pods whose
// named target ports resolve differently go to different slices, as Kubernetes does it.
func desiredSlices(services []*corev1.Service, pods []*corev1.Pod) []*discoveryv1.EndpointSlice {
	byNamespace := map[string][]*corev1.Pod{}
	for _, p := range pods {
		byNamespace[p.Namespace] = append(byNamespace[p.Namespace], p)
	}
	var out []*discoveryv1.EndpointSlice
	for _, svc := range services {
		if len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		out = append(out, slicesOf(svc, byNamespace[svc.Namespace])...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out
}

func slicesOf(svc *corev1.Service, pods []*corev1.Pod) []*discoveryv1.EndpointSlice {
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	groups := map[string]*discoveryv1.EndpointSlice{}
	for _, p := range pods {
		if p.Status.PodIP == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed ||
			!sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		ports := endpointPorts(svc, p)
		key := portsKey(ports)
		es, ok := groups[key]
		if !ok {
			es = newSlice(svc, key, ports)
			groups[key] = es
		}
		es.Endpoints = append(es.Endpoints, endpointOf(p))
	}
	out := make([]*discoveryv1.EndpointSlice, 0, len(groups))
	for _, es := range groups {
		sort.Slice(es.Endpoints, func(i, j int) bool { return es.Endpoints[i].Addresses[0] < es.Endpoints[j].Addresses[0] })
		out = append(out, es)
	}
	return out
}

func newSlice(svc *corev1.Service, key string, ports []discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s-local-%08x", trimName(svc.Name, 40), h.Sum32()),
			Namespace: svc.Namespace,
			Labels: map[string]string{
				discoveryv1.LabelServiceName: svc.Name,
				discoveryv1.LabelManagedBy:   endpointsManager,
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		AddressType: discoveryv1.AddressTypeFQDN,
		Ports:       ports,
	}
}

func trimName(name string, n int) string {
	if len(name) > n {
		return strings.TrimRight(name[:n], "-.")
	}
	return name
}

func endpointOf(p *corev1.Pod) discoveryv1.Endpoint {
	// An endpoint serves while its pod is ready, and is ready (takes new connections) only
	// while the pod is not also terminating.
	ready := podstate.Ready(p)
	terminating := p.DeletionTimestamp != nil
	ep := discoveryv1.Endpoint{
		Addresses: []string{p.Status.PodIP},
		Conditions: discoveryv1.EndpointConditions{
			Ready:       ptr.To(ready && !terminating),
			Serving:     ptr.To(ready),
			Terminating: ptr.To(terminating),
		},
		TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
	}
	if p.Spec.NodeName != "" {
		ep.NodeName = ptr.To(p.Spec.NodeName)
	}
	return ep
}

// endpointPorts resolves each Service port's targetPort on pod p; a named port the pod does
// not declare leaves that Service port out, as Kubernetes does.
func endpointPorts(svc *corev1.Service, p *corev1.Pod) []discoveryv1.EndpointPort {
	var ports []discoveryv1.EndpointPort
	for _, sp := range svc.Spec.Ports {
		port, ok := resolveTargetPort(sp, p)
		if !ok {
			continue
		}
		ports = append(ports, discoveryv1.EndpointPort{
			Name:        ptr.To(sp.Name),
			Port:        ptr.To(port),
			Protocol:    ptr.To(protocolOr(sp.Protocol)),
			AppProtocol: sp.AppProtocol,
		})
	}
	return ports
}

func protocolOr(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// resolveTargetPort is the port of pod p that Service port sp reaches, by the Kubernetes rules:
// a numeric targetPort is that port; a named one is the container port of that name and of the
// Service port's protocol, which each pod may put elsewhere (or lack: false); no targetPort
// means the Service port itself. It is Aviary's one resolution of target ports: the gateway
// reads the result from the EndpointSlices written here, as from any EndpointSlice controller.
func resolveTargetPort(sp corev1.ServicePort, p *corev1.Pod) (int32, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal && protocolOr(cp.Protocol) == protocolOr(sp.Protocol) {
					return cp.ContainerPort, true
				}
			}
		}
		return 0, false
	case tp.Type == intstr.Int && tp.IntVal > 0:
		return tp.IntVal, true
	}
	return sp.Port, true
}

func portsKey(ports []discoveryv1.EndpointPort) string {
	parts := make([]string, 0, len(ports))
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("%s/%d/%s", *p.Name, *p.Port, *p.Protocol))
	}
	return strings.Join(parts, ",")
}
