package balance

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aviary-dev/aviary/internal/gateway/route"
)

func backends(weights ...uint32) ([]*route.Backend, uint64) {
	var out []*route.Backend
	var total uint64
	for i, w := range weights {
		out = append(out, &route.Backend{Name: fmt.Sprintf("ns/svc-%d:80", i), Weight: w})
		total += uint64(w)
	}
	return out, total
}

func TestWeightedShares(t *testing.T) {
	bs, total := backends(70, 30, 0)
	counts := map[*route.Backend]int{}
	const n = 200000
	for range n {
		counts[Weighted(bs, total)]++
	}
	if counts[bs[2]] != 0 {
		t.Fatalf("weight 0 backend got %d requests", counts[bs[2]])
	}
	for i, want := range []float64{0.7, 0.3} {
		got := float64(counts[bs[i]]) / n
		if math.Abs(got-want) > 0.01 {
			t.Errorf("backend %d got share %.3f, want %.2f", i, got, want)
		}
	}
	if Weighted(backends(0, 0)) != nil {
		t.Error("all-zero weights must choose nothing")
	}
}

func TestForUserSharesMatchWeights(t *testing.T) {
	for _, ws := range [][]uint32{{90, 10}, {50, 50}, {1, 3}, {60, 30, 10}} {
		bs, total := backends(ws...)
		counts := make([]int, len(bs))
		const users = 100000
		for u := range users {
			b := ForUser(fmt.Sprintf("user-%d", u), bs)
			for i := range bs {
				if bs[i] == b {
					counts[i]++
				}
			}
		}
		for i, w := range ws {
			want := float64(w) / float64(total)
			if got := float64(counts[i]) / users; math.Abs(got-want) > 0.01 {
				t.Errorf("weights %v: backend %d has %.3f of users, want %.3f", ws, i, got, want)
			}
		}
	}
}

// TestForUserIsMonotonic walks a canary from 0% to 100% in 1% steps, the way a rollout does
// (stable = 100 - canary): once a user is on the canary it never goes back.
func TestForUserIsMonotonic(t *testing.T) {
	const users = 20000
	onCanary := make([]bool, users)
	for w := uint32(0); w <= 100; w++ {
		bs, _ := backends(100-w, w)
		moved := 0
		for u := range users {
			canary := ForUser(fmt.Sprintf("user-%d", u), bs) == bs[1]
			if onCanary[u] && !canary {
				t.Fatalf("user-%d went back from canary to stable at canary weight %d", u, w)
			}
			if canary && !onCanary[u] {
				moved++
			}
			onCanary[u] = canary
		}
		if w == 0 && moved != 0 {
			t.Fatalf("%d users on a canary of weight 0", moved)
		}
	}
	for u, c := range onCanary {
		if !c {
			t.Fatalf("user-%d not on the canary at 100%%", u)
		}
	}
}

func TestForUserIsDeterministic(t *testing.T) {
	bs, _ := backends(50, 50)
	// Fresh Backend values with the same names: the choice depends on names and weights only.
	bs2, _ := backends(50, 50)
	for u := range 1000 {
		k := fmt.Sprintf("u%d", u)
		a, b := ForUser(k, bs), ForUser(k, bs2)
		if a.Name != b.Name {
			t.Fatalf("user %s: %s then %s", k, a.Name, b.Name)
		}
	}
}

// FuzzForUserMonotonic: raising one backend's weight only moves users onto it.
func FuzzForUserMonotonic(f *testing.F) {
	f.Add("alice", uint32(90), uint32(10), uint32(5))
	f.Add("", uint32(1), uint32(0), uint32(1))
	f.Add("bob", uint32(1000000), uint32(1), uint32(999999))
	f.Fuzz(func(t *testing.T, key string, stable, canary, raise uint32) {
		stable, canary, raise = stable%1000001, canary%1000001, raise%1000001
		before, _ := backends(stable, canary)
		after, _ := backends(stable, min(canary+raise, 1000000))
		b, a := ForUser(key, before), ForUser(key, after)
		if stable == 0 && canary == 0 {
			if b != nil {
				t.Fatal("all-zero weights chose a backend")
			}
			return
		}
		if b == nil || b.Weight == 0 {
			t.Fatalf("chose %v with weights %d/%d", b, stable, canary)
		}
		if b.Name == before[1].Name && a.Name != after[1].Name {
			t.Fatalf("key %q left the canary when its weight rose from %d to %d", key, canary, canary+raise)
		}
	})
}

func TestUserKeyOf(t *testing.T) {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"alice","uid":42,"obj":{}}`))
	jwt := "Bearer hdr." + claims + ".sig"
	cases := []struct {
		spec   string
		header map[string]string
		want   string
		ok     bool
	}{
		{"header:X-User", map[string]string{"x-user": "u1"}, "u1", true},
		{"header:X-User", nil, "", false},
		{"cookie:uid", map[string]string{"Cookie": "a=b; uid=c7"}, "c7", true},
		{"cookie:uid", map[string]string{"Cookie": "a=b"}, "", false},
		{"jwt:sub", map[string]string{"Authorization": jwt}, "alice", true},
		{"jwt:uid", map[string]string{"Authorization": jwt}, "42", true},
		{"jwt:obj", map[string]string{"Authorization": jwt}, "", false},
		{"jwt:sub", map[string]string{"Authorization": "Bearer not-a-jwt"}, "", false},
		{"jwt:sub", map[string]string{"Authorization": "Bearer a.!!!.c"}, "", false},
		{"jwt:sub", map[string]string{"Authorization": "Basic abc"}, "", false},
	}
	for _, c := range cases {
		k, err := ParseUserKey(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for h, v := range c.header {
			r.Header.Set(h, v)
		}
		got, ok := UserKeyOf(r, k)
		if got != c.want || ok != c.ok {
			t.Errorf("%s %v: got %q %v, want %q %v", c.spec, c.header, got, ok, c.want, c.ok)
		}
	}
	for _, bad := range []string{"", "header", "header:", "ip:x", "cookie"} {
		if _, err := ParseUserKey(bad); err == nil {
			t.Errorf("ParseUserKey(%q) accepted", bad)
		}
	}
}

// FuzzUserKeyOf: hostile Authorization and Cookie headers never panic.
func FuzzUserKeyOf(f *testing.F) {
	f.Add("Bearer a.eyJzdWIiOiJ4In0.c", "uid=1")
	f.Fuzz(func(t *testing.T, auth, cookie string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", auth)
		r.Header.Set("Cookie", cookie)
		for _, spec := range []string{"jwt:sub", "cookie:uid", "header:Authorization"} {
			k, _ := ParseUserKey(spec)
			UserKeyOf(r, k)
		}
	})
}
