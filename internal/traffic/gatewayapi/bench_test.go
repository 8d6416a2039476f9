package gatewayapi

import (
	"path/filepath"
	"testing"
)

// BenchmarkEdit measures one route edit with a header rule on a route with several rules.
func BenchmarkEdit(b *testing.B) {
	in := readRoute(b, filepath.Join("testdata", "http-extra-rules.in.yaml"))
	c := goldenCases()["http-extra-rules"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Edit(in, c.target, c.state); err != nil {
			b.Fatal(err)
		}
	}
}
