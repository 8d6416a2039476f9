package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// endpointsDebounce gathers a burst of pod events (a ReplicaSet scaling up) into one sync.
const endpointsDebounce = 50 * time.Millisecond

// RunEndpoints keeps the sandbox's FQDN EndpointSlices (see desiredSlices) in step with
// Services and pods until ctx ends. It touches a file once the first sync is done, which is
// what `up` waits for.
func RunEndpoints(ctx context.Context, kubeconfig, syncedFile string) error {
	cs, err := clientsetFor(kubeconfig)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	services := factory.Core().V1().Services()
	pods := factory.Core().V1().Pods()
	sliceFactory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = discoveryv1.LabelManagedBy + "=" + endpointsManager
	}))
	slices := sliceFactory.Discovery().V1().EndpointSlices()

	changed := make(chan struct{}, 1)
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { signal(changed) },
		UpdateFunc: func(any, any) { signal(changed) },
		DeleteFunc: func(any) { signal(changed) },
	}
	for _, inf := range []cache.SharedIndexInformer{services.Informer(), pods.Informer(), slices.Informer()} {
		if _, err := inf.AddEventHandler(notify); err != nil {
			return err
		}
	}
	factory.Start(ctx.Done())
	sliceFactory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), services.Informer().HasSynced, pods.Informer().HasSynced, slices.Informer().HasSynced) {
		return ctx.Err()
	}
	first := true
	signal(changed)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
		time.Sleep(endpointsDebounce)
		svcList, _ := services.Lister().List(labels.Everything())
		podList, _ := pods.Lister().List(labels.Everything())
		existing, _ := slices.Lister().List(labels.Everything())
		if err := syncSlices(ctx, cs, desiredSlices(svcList, podList), existing); err != nil {
			fmt.Fprintf(os.Stderr, "%s syncing EndpointSlices: %v\n", time.Now().UTC().Format(time.RFC3339), err)
			// Try again shortly: a conflict or a Service deleted under us.
			go func() { time.Sleep(time.Second); signal(changed) }()
			continue
		}
		if first {
			first = false
			if err := os.WriteFile(syncedFile, []byte("synced\n"), 0o600); err != nil {
				return err
			}
		}
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// syncSlices creates, updates and deletes the sandbox's slices to match desired.
func syncSlices(ctx context.Context, cs kubernetes.Interface, desired, existing []*discoveryv1.EndpointSlice) error {
	have := map[string]*discoveryv1.EndpointSlice{}
	for _, es := range existing {
		have[es.Namespace+"/"+es.Name] = es
	}
	var errs []error
	for _, want := range desired {
		key := want.Namespace + "/" + want.Name
		cur, ok := have[key]
		delete(have, key)
		api := cs.DiscoveryV1().EndpointSlices(want.Namespace)
		switch {
		case !ok:
			if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				errs = append(errs, err)
			}
		case !sameSlice(cur, want):
			next := cur.DeepCopy()
			next.Labels, next.OwnerReferences = want.Labels, want.OwnerReferences
			next.AddressType, next.Ports, next.Endpoints = want.AddressType, want.Ports, want.Endpoints
			if _, err := api.Update(ctx, next, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, stale := range have {
		err := cs.DiscoveryV1().EndpointSlices(stale.Namespace).Delete(ctx, stale.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sameSlice(a, b *discoveryv1.EndpointSlice) bool {
	return equality.Semantic.DeepEqual(a.Labels, b.Labels) &&
		equality.Semantic.DeepEqual(a.OwnerReferences, b.OwnerReferences) &&
		a.AddressType == b.AddressType &&
		equality.Semantic.DeepEqual(a.Ports, b.Ports) &&
		equality.Semantic.DeepEqual(a.Endpoints, b.Endpoints)
}
