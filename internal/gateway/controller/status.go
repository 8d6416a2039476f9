package controller

import (
	"context"
	"errors"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/aviary-dev/aviary/internal/gateway/compile"
)

// writeStatus writes every status that differs from what the objects carry. Conditions whose
// status did not change keep their lastTransitionTime.
func (r *Reconciler) writeStatus(ctx context.Context, in *compile.Input, out *compile.Output) error {
	var errs []error
	for i := range in.GatewayClasses {
		gc := &in.GatewayClasses[i]
		conds, ok := out.GatewayClasses[gc.Name]
		if !ok {
			continue
		}
		next := gc.DeepCopy()
		next.Status.Conditions = mergeConditions(gc.Status.Conditions, conds)
		if !equality.Semantic.DeepEqual(gc.Status, next.Status) {
			errs = append(errs, r.Client.Status().Update(ctx, next))
		}
	}
	for i := range in.Gateways {
		g := &in.Gateways[i]
		st, ok := out.Gateways[types.NamespacedName{Namespace: g.Namespace, Name: g.Name}]
		if !ok {
			continue
		}
		next := g.DeepCopy()
		next.Status = mergeGatewayStatus(g.Status, st)
		if !equality.Semantic.DeepEqual(g.Status, next.Status) {
			errs = append(errs, r.Client.Status().Update(ctx, next))
		}
	}
	for i := range in.HTTPRoutes {
		rt := &in.HTTPRoutes[i]
		ours := out.Routes[types.NamespacedName{Namespace: rt.Namespace, Name: rt.Name}]
		next := rt.DeepCopy()
		next.Status.Parents = mergeParents(rt.Status.Parents, ours, r.ControllerName)
		if !equality.Semantic.DeepEqual(rt.Status, next.Status) {
			errs = append(errs, r.Client.Status().Update(ctx, next))
		}
	}
	return ignoreGone(errs)
}

// ignoreGone drops errors for objects deleted since they were listed (nothing to report on) and
// keeps the rest; a conflict makes the reconcile run again with fresh objects.
func ignoreGone(errs []error) error {
	var keep []error
	for _, err := range errs {
		if err != nil && !apierrors.IsNotFound(err) {
			keep = append(keep, err)
		}
	}
	return errors.Join(keep...)
}

func mergeConditions(old, next []metav1.Condition) []metav1.Condition {
	out := make([]metav1.Condition, 0, len(next))
	for _, c := range next {
		if prev := meta.FindStatusCondition(old, c.Type); prev != nil && prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
		}
		out = append(out, c)
	}
	return out
}

func mergeGatewayStatus(old, next gwv1.GatewayStatus) gwv1.GatewayStatus {
	next.Conditions = mergeConditions(old.Conditions, next.Conditions)
	for i := range next.Listeners {
		for _, ol := range old.Listeners {
			if ol.Name == next.Listeners[i].Name {
				next.Listeners[i].Conditions = mergeConditions(ol.Conditions, next.Listeners[i].Conditions)
			}
		}
	}
	next.AttachedListenerSets = old.AttachedListenerSets
	return next
}

// mergeParents keeps other controllers' parent statuses and replaces ours.
func mergeParents(old, ours []gwv1.RouteParentStatus, controller string) []gwv1.RouteParentStatus {
	out := make([]gwv1.RouteParentStatus, 0, len(old)+len(ours))
	for _, p := range old {
		if string(p.ControllerName) != controller {
			out = append(out, p)
		}
	}
	for _, p := range ours {
		for _, o := range old {
			if string(o.ControllerName) == controller && reflect.DeepEqual(o.ParentRef, p.ParentRef) {
				p.Conditions = mergeConditions(o.Conditions, p.Conditions)
			}
		}
		out = append(out, p)
	}
	return out
}
