package compile

import (
	"slices"
	"testing"
)

func TestIntersectHostnames(t *testing.T) {
	cases := []struct {
		listener string
		route    []string
		want     []string
		ok       bool
	}{
		{"", nil, []string{""}, true},
		{"", []string{"A.example.com"}, []string{"a.example.com"}, true},
		{"foo.example.com", nil, []string{"foo.example.com"}, true},
		{"foo.example.com", []string{"foo.example.com", "bar.example.com"}, []string{"foo.example.com"}, true},
		{"*.example.com", []string{"foo.example.com", "a.b.example.com", "example.com"}, []string{"foo.example.com", "a.b.example.com"}, true},
		{"foo.example.com", []string{"*.example.com"}, []string{"foo.example.com"}, true},
		{"*.example.com", []string{"*.foo.example.com"}, []string{"*.foo.example.com"}, true},
		{"*.foo.example.com", []string{"*.example.com"}, []string{"*.foo.example.com"}, true},
		{"*.example.com", []string{"*.example.org", "example.com"}, nil, false},
		{"foo.example.com", []string{"bar.example.com"}, nil, false},
	}
	for _, c := range cases {
		got, ok := intersectHostnames(c.listener, c.route)
		if ok != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("intersect(%q, %q) = %q, %v; want %q, %v", c.listener, c.route, got, ok, c.want, c.ok)
		}
	}
}
