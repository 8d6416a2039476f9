//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatewayClient sends requests to one Gateway listener, optionally with a Host and one header.
type gatewayClient struct {
	url    string // e.g. http://127.0.100.220:8080
	client *http.Client
}

func newGatewayClient(address string) *gatewayClient {
	return &gatewayClient{
		url:    "http://" + address + ":8080",
		client: &http.Client{Timeout: 5 * time.Second},
	}
}

// color GETs /color and returns the color it answers, "500" (or another status) for a
// non-200 answer, or an error when the request did not get an answer.
func (g *gatewayClient) color(ctx context.Context, host string, header http.Header) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.url+"/color", http.NoBody)
	if err != nil {
		return "", err
	}
	req.Host = host
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprint(resp.StatusCode), nil
	}
	// The demo app answers the color as a JSON string: "blue".
	return strings.Trim(strings.TrimSpace(string(body)), `"`), nil
}

// sample sends n requests one after the other and counts the answers by color; a request that
// gets no answer counts as "error: ...".
func (g *gatewayClient) sample(ctx context.Context, n int, host string, header http.Header) map[string]int {
	counts := map[string]int{}
	for range n {
		c, err := g.color(ctx, host, header)
		if err != nil {
			c = "error: " + err.Error()
		}
		counts[c]++
	}
	return counts
}

// waitAll polls batches of n requests until one batch answers want every time; it fails the
// test with the last batch when timeout passes first. Route changes reach the gateway through
// the API server's watch, so the first batches after a change may still see the old routes.
func (g *gatewayClient) waitAll(t *testing.T, timeout time.Duration, n int, host string, header http.Header, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	var last map[string]int
	for {
		last = g.sample(ctx, n, host, header)
		if last[want] == n {
			t.Logf("%d requests (Host %q, headers %v) all answered %q after %s", n, host, header, want, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%d requests to /color (Host %q, headers %v): want all %q within %s, last batch %v",
				n, host, header, want, timeout, last)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// waitAny polls single requests until one answers want, or fails the test after timeout.
func (g *gatewayClient) waitAny(t *testing.T, timeout time.Duration, host string, header http.Header, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	seen := map[string]int{}
	for {
		c, err := g.color(ctx, host, header)
		if err != nil {
			c = "error: " + err.Error()
		}
		if c == want {
			return
		}
		seen[c]++
		if ctx.Err() != nil {
			t.Fatalf("requests to /color (Host %q, headers %v): none answered %q within %s; answers %v",
				host, header, want, timeout, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// load sends requests to /color at a steady rate until stop is called, so that the canary has
// traffic for Prometheus to measure. stop returns the answers counted by color.
func (g *gatewayClient) load(host string, every time.Duration) (stop func() map[string]int) {
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			c, err := g.color(ctx, host, nil)
			if err != nil {
				c = "error"
			}
			mu.Lock()
			counts[c]++
			mu.Unlock()
		}
	}()
	return func() map[string]int {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return counts
	}
}

func canaryHeader() http.Header { return http.Header{"X-Canary": []string{"yes"}} }
