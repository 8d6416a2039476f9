package localcluster

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestDemoObjectsAskForTheAddress(t *testing.T) {
	objs, err := DemoObjects("127.0.100.42")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		if o.GetKind() == "Gateway" {
			addrs, _, _ := unstructured.NestedSlice(o.Object, "spec", "addresses")
			if len(addrs) != 1 || asMap(addrs[0])["value"] != "127.0.100.42" {
				t.Errorf("Gateway addresses %v, want 127.0.100.42", addrs)
			}
		}
	}
	want := map[string]int{"GatewayClass": 1, "Gateway": 1, "HTTPRoute": 3, "Service": 2, "Rollout": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s objects, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
}

func TestDemoObjectsRefuseANonLoopbackAddress(t *testing.T) {
	for _, addr := range []string{"10.0.0.1", "localhost", "::1", ""} {
		if _, err := DemoObjects(addr); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("DemoObjects(%q) = %v, want an error naming loopback", addr, err)
		}
	}
}

func TestURLsOfListsHTTPListenersOnEachAddress(t *testing.T) {
	gw := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "demo", "namespace": "default"},
		"spec": map[string]any{"listeners": []any{
			map[string]any{"name": "http", "protocol": "HTTP", "port": int64(8080)},
			map[string]any{"name": "tls", "protocol": "TLS", "port": int64(8443)},
		}},
		"status": map[string]any{"addresses": []any{map[string]any{"type": "IPAddress", "value": "127.0.100.10"}}},
	}}
	got := urlsOf(gw)
	if len(got) != 1 || got[0].URL != "http://127.0.100.10:8080" || got[0].Gateway != "default/demo" {
		t.Errorf("urlsOf = %+v", got)
	}
}
