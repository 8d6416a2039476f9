// Package web measures a metric with an HTTP request to any endpoint returning JSON (Argo's
// `web` provider): the value at jsonPath in the response body is the result.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/util/jsonpath"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/analysis/provider"
)

// Name is the provider's key under metric.provider.
const Name = "web"

// DefaultTimeout applies when timeoutSeconds is unset.
const DefaultTimeout = 10 * time.Second

// maxBody bounds how much of a response is read; metric endpoints answer small documents.
const maxBody = 10 << 20

// Provider measures with one HTTP request per measurement.
type Provider struct {
	provider.Sync
	spec   v1alpha1.WebMetric
	client *http.Client
	path   *jsonpath.JSONPath
}

// New is the web provider's factory.
func New(_ provider.Deps, metric v1alpha1.Metric) (provider.Provider, error) {
	spec := metric.Provider.Web
	if spec.URL == "" {
		return nil, fmt.Errorf("metric %q: web.url is empty; set the endpoint to query", metric.Name)
	}
	path := spec.JSONPath
	if path == "" {
		path = "{$}"
	}
	jp := jsonpath.New(metric.Name)
	if err := jp.Parse(path); err != nil {
		return nil, fmt.Errorf("metric %q: web.jsonPath %q does not parse: %w", metric.Name, spec.JSONPath, err)
	}
	timeout := DefaultTimeout
	if spec.TimeoutSeconds > 0 {
		timeout = time.Duration(spec.TimeoutSeconds) * time.Second
	}
	client := &http.Client{Timeout: timeout, Transport: provider.Transport(spec.Insecure)}
	return &Provider{spec: *spec, client: client, path: jp}, nil
}

// Measure sends the request and extracts the value at jsonPath.
func (p *Provider) Measure(ctx context.Context, _ *v1alpha1.AnalysisRun, _ v1alpha1.Metric) provider.Observation {
	req, err := p.request(ctx)
	if err != nil {
		return provider.Observation{Err: err}
	}
	res, err := p.client.Do(req)
	if err != nil {
		return provider.Observation{Err: err}
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return provider.Observation{Err: fmt.Errorf("reading the response of %s: %w", p.spec.URL, err)}
	}
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return provider.Observation{Err: fmt.Errorf("received non 2xx response code: %d", res.StatusCode)}
	}
	if len(body) > maxBody {
		return provider.Observation{Err: fmt.Errorf("the response of %s is larger than %d MiB; query an endpoint that answers with the metric alone", p.spec.URL, maxBody>>20)}
	}
	result, err := p.extract(body)
	if err != nil {
		return provider.Observation{Err: err}
	}
	return provider.Observation{Result: result, Value: render(result)}
}

func (p *Provider) request(ctx context.Context) (*http.Request, error) {
	method := string(p.spec.Method)
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	contentType := ""
	switch {
	case p.spec.JSONBody != nil && len(p.spec.JSONBody.Raw) > 0:
		body = bytes.NewReader(p.spec.JSONBody.Raw)
		contentType = "application/json"
	case p.spec.Body != "":
		body = strings.NewReader(p.spec.Body)
	}
	if body != nil && method == http.MethodGet {
		return nil, fmt.Errorf("web.body and web.jsonBody need method POST or PUT, not GET")
	}
	req, err := http.NewRequestWithContext(ctx, method, p.spec.URL, body)
	if err != nil {
		return nil, fmt.Errorf("web.url %q: %w", p.spec.URL, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for _, h := range p.spec.Headers {
		if strings.EqualFold(h.Key, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Set(h.Key, h.Value)
	}
	if a := p.spec.Authentication; a != nil && a.BasicAuth != nil {
		req.SetBasicAuth(a.BasicAuth.Username, a.BasicAuth.Password)
	}
	return req, nil
}

// extract applies jsonPath to a JSON body. The first value found is the result.
func (p *Provider) extract(body []byte) (any, error) {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the response of %s is not JSON: %w", p.spec.URL, err)
	}
	found, err := p.path.FindResults(doc)
	if err != nil {
		return nil, fmt.Errorf("web.jsonPath %q: %w", p.spec.JSONPath, err)
	}
	if len(found) == 0 || len(found[0]) == 0 {
		return nil, fmt.Errorf("web.jsonPath %q matched nothing in the response", p.spec.JSONPath)
	}
	return found[0][0].Interface(), nil
}

// render shows a result as in Argo: strings as they are, everything else as JSON.
func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
