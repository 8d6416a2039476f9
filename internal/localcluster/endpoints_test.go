package localcluster

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func service(name string, selector map[string]string, target intstr.IntOrString) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + "name"},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: target}},
		},
	}
}

func pod(name, ip string, ready bool, containerPort int32, labels map[string]string) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: corev1.PodSpec{NodeName: NodeName, Containers: []corev1.Container{{
			Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: containerPort}},
		}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
		},
	}
}

func TestDesiredSlicesCarryLoopbackPodsAsFQDN(t *testing.T) {
	app := map[string]string{"app": "demo"}
	svcs := []*corev1.Service{
		service("demo", app, intstr.FromString("http")),
		service("headless-external", nil, intstr.FromInt32(80)), // no selector: left alone
	}
	other := pod("other", "127.16.0.9", true, 8080, map[string]string{"app": "other"})
	pods := []*corev1.Pod{
		pod("b", "127.16.0.2", false, 8080, app),
		pod("a", "127.16.0.1", true, 8080, app),
		pod("pending", "", false, 8080, app), // no IP yet
		other,
		pod("c", "127.16.0.3", true, 9090, app), // the named port resolves elsewhere
	}
	got := desiredSlices(svcs, pods)
	if len(got) != 2 {
		t.Fatalf("want two slices (one per distinct port), got %d: %+v", len(got), got)
	}
	byPort := map[int32]*discoveryv1.EndpointSlice{}
	for _, es := range got {
		if es.AddressType != discoveryv1.AddressTypeFQDN {
			t.Errorf("%s: addressType %s, want FQDN", es.Name, es.AddressType)
		}
		if es.Labels[discoveryv1.LabelServiceName] != "demo" || es.Labels[discoveryv1.LabelManagedBy] != endpointsManager {
			t.Errorf("%s: labels %v", es.Name, es.Labels)
		}
		if len(es.Ports) != 1 || *es.Ports[0].Name != "http" {
			t.Fatalf("%s: ports %+v, want the Service port's name", es.Name, es.Ports)
		}
		byPort[*es.Ports[0].Port] = es
	}
	main := byPort[8080]
	if main == nil || len(main.Endpoints) != 2 {
		t.Fatalf("port 8080 slice: %+v", main)
	}
	if a := main.Endpoints[0]; a.Addresses[0] != "127.16.0.1" || !*a.Conditions.Ready {
		t.Errorf("first endpoint %+v, want 127.16.0.1 ready", a)
	}
	if b := main.Endpoints[1]; b.Addresses[0] != "127.16.0.2" || *b.Conditions.Ready {
		t.Errorf("second endpoint %+v, want 127.16.0.2 not ready", b)
	}
	if c := byPort[9090]; c == nil || c.Endpoints[0].Addresses[0] != "127.16.0.3" {
		t.Errorf("port 9090 slice: %+v", c)
	}

	// Same input, same names: the sync loop updates rather than recreates.
	again := desiredSlices(svcs, pods)
	for i := range got {
		if got[i].Name != again[i].Name {
			t.Errorf("slice names are not stable: %s then %s", got[i].Name, again[i].Name)
		}
	}
}

func TestDesiredSlicesMarksTerminatingPods(t *testing.T) {
	app := map[string]string{"app": "demo"}
	p := pod("a", "127.16.0.1", true, 8080, app)
	now := metav1.Now()
	p.DeletionTimestamp = &now
	got := desiredSlices([]*corev1.Service{service("demo", app, intstr.FromInt32(8080))}, []*corev1.Pod{p})
	ep := got[0].Endpoints[0]
	if *ep.Conditions.Ready || !*ep.Conditions.Serving || !*ep.Conditions.Terminating {
		t.Errorf("terminating ready pod: conditions %+v, want ready=false serving=true terminating=true", ep.Conditions)
	}
}
