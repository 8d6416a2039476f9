package compile

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden compiles each testdata/*.yaml world and compares the table and statuses with
// testdata/*.golden.yaml. Run `go test ./internal/gateway/compile -update` after an intended
// change and review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.in.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.in.yaml: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			in := loadInput(t, f)
			got := describe(Compile(in))
			// Compiling is pure: a second run gives the same answer.
			if again := describe(Compile(loadInput(t, f))); !bytes.Equal(got, again) {
				t.Fatalf("two compilations of the same input differ")
			}
			golden := strings.TrimSuffix(f, ".in.yaml") + ".golden.yaml"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("compiled %s differs from %s; run with -update and review the diff. Got:\n%s", f, golden, got)
			}
		})
	}
}

func loadInput(t *testing.T, path string) *Input {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := gwv1.Install(s); err != nil {
		t.Fatal(err)
	}
	dec := serializer.NewCodecFactory(s).UniversalDeserializer()
	in := &Input{
		ControllerName: "aviary.dev/gateway-controller",
		AddressPool:    netip.MustParsePrefix("127.0.100.0/24"),
		Now:            time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	r := utilyaml.NewYAMLReader(bufioReader(data))
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch o := obj.(type) {
		case *gwv1.GatewayClass:
			in.GatewayClasses = append(in.GatewayClasses, *o)
		case *gwv1.Gateway:
			in.Gateways = append(in.Gateways, *o)
		case *gwv1.HTTPRoute:
			in.HTTPRoutes = append(in.HTTPRoutes, *o)
		case *gwv1.ReferenceGrant:
			in.ReferenceGrants = append(in.ReferenceGrants, *o)
		case *corev1.Service:
			in.Services = append(in.Services, *o)
		case *discoveryv1.EndpointSlice:
			in.EndpointSlices = append(in.EndpointSlices, *o)
		case *corev1.Namespace:
			in.Namespaces = append(in.Namespaces, *o)
		case *corev1.Secret:
			in.Secrets = append(in.Secrets, *o)
		default:
			t.Fatalf("%s: unexpected object %T", path, obj)
		}
	}
	return in
}

// describe renders an Output as stable, reviewable YAML.
func describe(out *Output) []byte {
	view := map[string]any{
		"sockets":        out.Sockets,
		"table":          describeTable(out.Table),
		"gatewayClasses": out.GatewayClasses,
	}
	gws := map[string]any{}
	for k, v := range out.Gateways {
		gws[k.String()] = v
	}
	view["gateways"] = gws
	routes := map[string]any{}
	for k, v := range out.Routes {
		routes[k.String()] = v
	}
	view["routes"] = routes
	b, err := yaml.Marshal(view)
	if err != nil {
		panic(err)
	}
	return b
}

func describeTable(t *route.Table) map[string]any {
	out := map[string]any{}
	for sock, pt := range t.Ports {
		p := map[string]any{"scheme": pt.Scheme, "port": pt.Port}
		if len(pt.TLS) > 0 {
			var hosts []string
			for _, c := range pt.TLS {
				hosts = append(hosts, "cert for "+fmt.Sprintf("%q", c.Hostname))
			}
			p["tls"] = hosts
		}
		buckets := map[string][]string{}
		for h, es := range pt.Exact {
			buckets[h] = describeEntries(es)
		}
		for h, es := range pt.Wildcard {
			buckets["*"+h] = describeEntries(es)
		}
		if len(pt.Any) > 0 {
			buckets["(any host)"] = describeEntries(pt.Any)
		}
		p["hosts"] = buckets
		out[sock] = p
	}
	return out
}

func describeEntries(es []*route.Entry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, describeMatch(&e.Match)+" => "+describeRule(e.Rule))
	}
	return out
}

func describeMatch(m *route.Match) string {
	var parts []string
	switch m.PathType {
	case route.PathExact:
		parts = append(parts, "Exact "+m.Path)
	case route.PathRegex:
		parts = append(parts, "Regex "+m.PathRegex.String())
	default:
		parts = append(parts, "Prefix "+m.Path+"/")
	}
	if m.Method != "" {
		parts = append(parts, "method="+m.Method)
	}
	for _, h := range m.Headers {
		parts = append(parts, "header "+describeValue(h))
	}
	for _, q := range m.Query {
		parts = append(parts, "query "+describeValue(q))
	}
	return strings.Join(parts, " ")
}

func describeValue(v route.ValueMatch) string {
	if v.Regex != nil {
		return v.Name + "~" + v.Regex.String()
	}
	return v.Name + "=" + v.Value
}

func describeRule(r *route.Rule) string {
	parts := []string{r.ID}
	if r.Fail != 0 {
		parts = append(parts, fmt.Sprintf("fail=%d", r.Fail))
	}
	if r.Redirect != nil {
		parts = append(parts, fmt.Sprintf("redirect=%+v", *r.Redirect))
	}
	if r.Rewrite != nil {
		parts = append(parts, fmt.Sprintf("rewrite=%+v", *r.Rewrite))
	}
	if r.RequestHeaders != nil {
		parts = append(parts, fmt.Sprintf("reqHeaders=%+v", *r.RequestHeaders))
	}
	if r.ResponseHeaders != nil {
		parts = append(parts, fmt.Sprintf("respHeaders=%+v", *r.ResponseHeaders))
	}
	for _, m := range r.Mirrors {
		parts = append(parts, fmt.Sprintf("mirror=%s %d/%d %v", m.Backend.Name, m.Numerator, m.Denominator, m.Backend.Endpoints))
	}
	if r.UserKey != nil {
		parts = append(parts, fmt.Sprintf("userKey=%d:%s", r.UserKey.Source, r.UserKey.Name))
	}
	if r.Timeout > 0 {
		parts = append(parts, "timeout="+r.Timeout.String())
	}
	var bs []string
	for _, b := range r.Backends {
		s := fmt.Sprintf("%s w=%d", b.Name, b.Weight)
		if b.Status != 0 {
			s += fmt.Sprintf(" status=%d", b.Status)
		}
		eps := slices.Clone(b.Endpoints)
		sort.Strings(eps)
		s += fmt.Sprintf(" %v", eps)
		if b.RequestHeaders != nil || b.ResponseHeaders != nil {
			s += " +backendFilters"
		}
		bs = append(bs, s)
	}
	parts = append(parts, "backends["+strings.Join(bs, "; ")+"]")
	return strings.Join(parts, " ")
}
