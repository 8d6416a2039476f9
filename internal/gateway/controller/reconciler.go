// Package controller is the control-plane side of `aviary gateway`: it watches the Gateway API
// objects, Services and EndpointSlices, compiles them (package compile) into a route table that
// the proxy swaps in atomically, opens the sockets the table needs, and writes status.
package controller

import (
	"context"
	"maps"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/compile"
	"github.com/aviary-dev/aviary/internal/gateway/proxy"
	"github.com/aviary-dev/aviary/internal/gateway/server"
)

// Reconciler recompiles the whole route table on any change. The world of one gateway is small
// (routes and endpoints of a cluster), and a whole recompile keeps the table a pure function of
// the observed objects; the workqueue collapses bursts of events into one pass.
type Reconciler struct {
	Client         client.Client
	ControllerName string
	AddressPool    netip.Prefix
	Handler        *proxy.Handler
	Server         *server.Server
	Clock          clock.PassiveClock

	bindErrors map[string]string
}

// TableSwappedMessage is logged at debug level each time a new route table is swapped in; the
// gateway benchmark reads its time from the log.
const TableSwappedMessage = "route table swapped"

// everything is the one key the reconciler is queued with: any change recompiles everything.
var everything = reconcile.Request{NamespacedName: types.NamespacedName{Name: "gateway-table"}}

// SetupWithManager registers the watches.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{everything}
	})
	// Our own status writes must not loop: spec kinds are watched by generation.
	gen := builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{}))
	return ctrl.NewControllerManagedBy(mgr).
		Named("gateway").
		Watches(&gwv1.GatewayClass{}, all, gen).
		Watches(&gwv1.Gateway{}, all, gen).
		Watches(&gwv1.HTTPRoute{}, all, gen).
		Watches(&gwv1.ReferenceGrant{}, all).
		Watches(&corev1.Service{}, all).
		Watches(&discoveryv1.EndpointSlice{}, all).
		Watches(&corev1.Namespace{}, all, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Watches(&corev1.Secret{}, all). // only kubernetes.io/tls ones: see cacheOptions
		Complete(r)
}

// Reconcile observes, compiles, swaps the table in, opens sockets and writes status.
func (r *Reconciler) Reconcile(ctx context.Context, _ reconcile.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	start := time.Now()
	in, err := r.observe(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	in.BindErrors = r.bindErrors
	out := compile.Compile(in)
	r.Handler.Store(out.Table)
	if errs := r.Server.Apply(out.Table); !maps.Equal(errs, r.bindErrors) {
		r.bindErrors = errs
		in.BindErrors = errs
		out = compile.Compile(in)
		r.Handler.Store(out.Table)
	}
	log.V(1).Info(TableSwappedMessage, "sockets", len(out.Sockets), "took", time.Since(start).String())
	if err := r.writeStatus(ctx, in, out); err != nil {
		return ctrl.Result{}, err
	}
	if len(r.bindErrors) > 0 {
		return ctrl.Result{RequeueAfter: 5 * time.Second}, nil // retry sockets that failed to open
	}
	return ctrl.Result{}, nil
}

// observe lists everything compile needs from the cache.
func (r *Reconciler) observe(ctx context.Context) (*compile.Input, error) {
	var (
		classes  gwv1.GatewayClassList
		gateways gwv1.GatewayList
		routes   gwv1.HTTPRouteList
		grants   gwv1.ReferenceGrantList
		services corev1.ServiceList
		slices   discoveryv1.EndpointSliceList
		nss      corev1.NamespaceList
		secrets  corev1.SecretList
	)
	for _, l := range []client.ObjectList{&classes, &gateways, &routes, &grants, &services, &slices, &nss, &secrets} {
		if err := r.Client.List(ctx, l); err != nil {
			return nil, err
		}
	}
	return &compile.Input{
		ControllerName: r.ControllerName, AddressPool: r.AddressPool, Now: r.Clock.Now(),
		GatewayClasses: classes.Items, Gateways: gateways.Items, HTTPRoutes: routes.Items,
		ReferenceGrants: grants.Items, Services: services.Items, EndpointSlices: slices.Items,
		Namespaces: nss.Items, Secrets: secrets.Items,
	}, nil
}
