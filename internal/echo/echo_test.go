package echo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEchoJSONHasTheConformanceFieldsAndImage(t *testing.T) {
	var logged []string
	h := Handler(Identity{Pod: "infra-backend-v1-abc-xyz", Namespace: "gateway-conformance-infra", Image: "echo:1", Container: "echo"},
		func(f string, a ...any) { logged = append(logged, f) })
	req := httptest.NewRequest(http.MethodPost, "/some/path?q=1", nil)
	req.Host = "example.com"
	req.Header.Set("X-Custom", "yes")
	req.Header.Set("X-Echo-Set-Header", "X-Foo: bar, X-Baz: qux")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"path", "host", "method", "proto", "headers", "namespace", "ingress", "service", "pod", "image"} {
		if _, ok := raw[field]; !ok {
			t.Errorf("echo JSON lacks %q: %s", field, rec.Body)
		}
	}
	var got Response
	_ = json.Unmarshal(rec.Body.Bytes(), &got)
	if got.Path != "/some/path?q=1" || got.Host != "example.com" || got.Method != http.MethodPost || got.Proto != "HTTP/1.1" ||
		got.Pod != "infra-backend-v1-abc-xyz" || got.Namespace != "gateway-conformance-infra" || got.Image != "echo:1" ||
		len(got.Headers["X-Custom"]) != 1 || got.Headers["X-Custom"][0] != "yes" {
		t.Errorf("echo JSON = %+v", got)
	}
	if rec.Header().Get("X-Foo") != "bar" || rec.Header().Get("X-Baz") != "qux" {
		t.Errorf("X-Echo-Set-Header not applied: %v", rec.Header())
	}
	if len(logged) != 1 || !strings.HasPrefix(logged[0], "Echoing back request made to ") {
		t.Errorf("log lines = %q, want echo-basic's access line", logged)
	}
}

func TestStatusHealthAndDelay(t *testing.T) {
	h := Handler(Identity{}, nil)
	for target, want := range map[string]int{"/status/503": 503, "/status/abc": 400, "/health": 200, "/?delay=1ms": 200, "/?delay=forever": 400} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != want {
			t.Errorf("%s = %d, want %d", target, rec.Code, want)
		}
	}
}
