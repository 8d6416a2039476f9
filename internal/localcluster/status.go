package localcluster

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ComponentStatus is one line of `aviary local status`.
type ComponentStatus struct {
	Name    string
	Pid     int // 0 when not running
	State   string
	Address string
}

// GatewayURL is an address a Gateway listens on, as its status reports it.
type GatewayURL struct {
	Gateway string // namespace/name
	URL     string
}

var gatewayGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}

// Status reports every component and the Gateways' URLs; it reports an error only when there
// is no sandbox.
func (s *Sandbox) Status(ctx context.Context) ([]ComponentStatus, []GatewayURL, error) {
	cfg, err := readConfig(s.layout.ConfigFile())
	if err != nil {
		return nil, nil, fmt.Errorf("no sandbox in %s: run `aviary local up`", s.layout.Dir)
	}
	s.cfg = cfg
	var out []ComponentStatus
	for _, c := range allComponents() {
		out = append(out, s.componentStatus(ctx, c))
	}
	urls, _ := s.gatewayURLs(ctx)
	return out, urls, nil
}

func (s *Sandbox) componentStatus(ctx context.Context, c component) ComponentStatus {
	st := ComponentStatus{Name: c.name, Address: c.address(s.cfg.Ports)}
	if c.argv(s) == nil {
		st.State, st.Address = "not installed", ""
		return st
	}
	if c.selfCommand != "" && !s.hasCommand(c.selfCommand) {
		st.State = "unavailable: this aviary binary has no `" + c.selfCommand + "` command"
		return st
	}
	rec, ok := readPidFile(s.layout.PidFile(c.name))
	switch {
	case !ok:
		st.State = "not started"
		return st
	case !running(rec):
		st.State = "stopped (crashed or killed; `aviary local up` restarts it)"
		return st
	}
	st.Pid = rec.Pid
	probeCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := c.ready(s)(probeCtx); err != nil {
		st.State = "running, not ready: " + err.Error()
	} else {
		st.State = "ready"
	}
	return st
}

// gatewayURLs lists http://address:port for every address and HTTP listener of every Gateway.
func (s *Sandbox) gatewayURLs(ctx context.Context) ([]GatewayURL, error) {
	if err := s.clients(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list, err := s.dyn.Resource(gatewayGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var urls []GatewayURL
	for i := range list.Items {
		urls = append(urls, urlsOf(&list.Items[i])...)
	}
	sort.Slice(urls, func(i, j int) bool { return urls[i].Gateway+urls[i].URL < urls[j].Gateway+urls[j].URL })
	return urls, nil
}

func urlsOf(gw *unstructured.Unstructured) []GatewayURL {
	name := gw.GetNamespace() + "/" + gw.GetName()
	addresses, _, _ := unstructured.NestedSlice(gw.Object, "status", "addresses")
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	var urls []GatewayURL
	for _, a := range addresses {
		addr, _, _ := unstructured.NestedString(asMap(a), "value")
		if addr == "" {
			continue
		}
		for _, l := range listeners {
			proto, _, _ := unstructured.NestedString(asMap(l), "protocol")
			port, _, _ := unstructured.NestedInt64(asMap(l), "port")
			if proto != "HTTP" {
				continue
			}
			urls = append(urls, GatewayURL{Gateway: name, URL: "http://" + addr + ":" + strconv.FormatInt(port, 10)})
		}
	}
	return urls
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}
