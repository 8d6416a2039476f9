package gatewayapi

import (
	"strings"
	"testing"
)

func TestParseConfigForms(t *testing.T) {
	c, err := ParseConfig([]byte(`{"httpRoute":"a","httpRoutes":[{"name":"b","useHeaderRoutes":true},{"name":"c"}],
		"grpcRoutes":[{"name":"g"}],"tcpRoute":"t","tlsRoutes":[{"name":"s"}],
		"httpRouteSelector":{"matchLabels":{"app":"shop"}},"namespace":"edge","configMap":"legacy"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range c.Refs() {
		h := ""
		if r.UseHeaderRoutes {
			h = "+h"
		}
		got = append(got, r.Kind+"/"+r.Name+h)
	}
	want := "HTTPRoute/a+h HTTPRoute/b+h HTTPRoute/c GRPCRoute/g TCPRoute/t TLSRoute/s"
	if strings.Join(got, " ") != want {
		t.Errorf("refs %v, want %s", got, want)
	}
	if len(c.Selectors()) != 1 || c.RouteNamespace("shop") != "edge" || !c.HeaderRoutesPossible() {
		t.Errorf("selectors %v namespace %s", c.Selectors(), c.RouteNamespace("shop"))
	}
	if k, v, ok := c.InProgressLabel(); !ok || k != DefaultInProgressLabelKey || v != DefaultInProgressLabelValue {
		t.Errorf("label %s=%s %v", k, v, ok)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for raw, want := range map[string]string{
		`{"httpRoutes":[{"name":"a"}],"httpRouts":"b"}`: `unknown field "httpRouts"`,
		`{}`: "names no route",
		`{"tcpRoutes":[{"name":"t","useHeaderRoutes":true}]}`: "only possible on HTTPRoutes and GRPCRoutes",
		`{"httpRoutes":[{"name":""}]}`:                        "without a name",
		`{"httpRouteSelector":{"matchLabels":{"a b":"c"}}}`:   "invalid HTTPRoute selector",
	} {
		if _, err := ParseConfig([]byte(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", raw, err, want)
		}
	}
}

func TestInProgressLabelSettings(t *testing.T) {
	c, _ := ParseConfig([]byte(`{"httpRoute":"a","inProgressLabelKey":"argocd.argoproj.io/ignore","inProgressLabelValue":"yes"}`))
	if k, v, ok := c.InProgressLabel(); !ok || k != "argocd.argoproj.io/ignore" || v != "yes" {
		t.Errorf("label %s=%s %v", k, v, ok)
	}
	c, _ = ParseConfig([]byte(`{"httpRoute":"a","disableInProgressLabel":true}`))
	if _, _, ok := c.InProgressLabel(); ok {
		t.Error("disabled label still set")
	}
}
