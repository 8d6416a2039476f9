// Package compile turns the cluster's Gateway API objects into the gateway's route table and the
// status every object should carry. It is pure: the same Input always gives the same Output, with
// no clock, client or randomness, so golden files pin its behaviour (testdata/).
package compile

import (
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

// UserKeyAnnotation on an HTTPRoute turns on per-user weighted splits for its rules.
const UserKeyAnnotation = "aviary.dev/user-key"

// Input is the observed world.
type Input struct {
	ControllerName string
	// AddressPool is where Gateways without a requested address get theirs.
	AddressPool netip.Prefix
	// Now stamps lastTransitionTime on the conditions produced (callers keep older stamps of
	// unchanged conditions).
	Now time.Time
	// BindErrors maps "ip:port" sockets that could not be opened to the error.
	BindErrors map[string]string

	GatewayClasses  []gwv1.GatewayClass
	Gateways        []gwv1.Gateway
	HTTPRoutes      []gwv1.HTTPRoute
	Services        []corev1.Service
	EndpointSlices  []discoveryv1.EndpointSlice
	ReferenceGrants []gwv1.ReferenceGrant
	Namespaces      []corev1.Namespace
	// Secrets are candidates for certificateRefs, which name kubernetes.io/tls Secrets only (the
	// gateway's cache holds no other type, so it never keeps the cluster's other credentials).
	Secrets []corev1.Secret
}

// Output is the route table plus the status of every object this controller owns.
type Output struct {
	Table *route.Table
	// Sockets lists the "ip:port" sockets the table needs, sorted.
	Sockets []string
	// GatewayClasses maps the name of each of our GatewayClasses to its conditions.
	GatewayClasses map[string][]metav1.Condition
	// Gateways maps each of our Gateways to its whole status.
	Gateways map[types.NamespacedName]gwv1.GatewayStatus
	// Routes maps each HTTPRoute attached to one of our Gateways to the parent statuses we own.
	Routes map[types.NamespacedName][]gwv1.RouteParentStatus
}
