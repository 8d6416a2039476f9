// Package echo is the generic backend of the local node: for any image it does not know, a
// container answers every request with JSON describing the request and the pod that served
// it. The JSON is the contract of the Gateway API conformance suite's echo-basic backend
// (path, host, method, proto, headers, namespace, ingress, service, pod), plus image and
// container, so the suite and Aviary's own tests can tell which pod answered.
package echo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Identity names what serves: echo-basic reads POD_NAME and NAMESPACE from the environment,
// the local node fills them from the pod when the environment does not.
type Identity struct {
	Pod       string
	Namespace string
	Image     string
	Container string
	Service   string
	Ingress   string
}

// Response is the JSON body of every echo answer.
type Response struct {
	Path      string              `json:"path"`
	Host      string              `json:"host"`
	Method    string              `json:"method"`
	Proto     string              `json:"proto"`
	Headers   map[string][]string `json:"headers"`
	Namespace string              `json:"namespace"`
	Ingress   string              `json:"ingress"`
	Service   string              `json:"service"`
	Pod       string              `json:"pod"`
	Image     string              `json:"image"`
	Container string              `json:"container,omitempty"`
}

// maxDelay bounds ?delay= so that a request cannot hold a server goroutine for long.
const maxDelay = time.Minute

// Handler answers like echo-basic: /health answers OK, /status/<code> answers that code, any
// other path the JSON Response. ?delay=<duration> waits first (the conformance timeout tests
// use it); the X-Echo-Set-Header request header ("Name: value, Other: value") sets response
// headers. logf, if not nil, receives echo-basic's access line per request, which the
// conformance mirror tests look for in the pod's logs.
func Handler(id Identity, logf func(format string, args ...any)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "OK") })
	mux.HandleFunc("/status/{code}", serveStatus)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if logf != nil {
			logf("Echoing back request made to %s to client (%s)", r.RequestURI, r.RemoteAddr)
		}
		serveEcho(w, r, id)
	})
	return mux
}

func serveEcho(w http.ResponseWriter, r *http.Request, id Identity) {
	if err := delay(r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, err := json.MarshalIndent(Describe(r, id), "", " ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	setRequestedHeaders(w, r.Header.Get("X-Echo-Set-Header"))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(body)
}

// Describe is the Response for request r served by id.
func Describe(r *http.Request, id Identity) Response {
	headers := make(map[string][]string, len(r.Header)+1)
	for k, v := range r.Header {
		headers[k] = v
	}
	return Response{
		Path:      r.RequestURI,
		Host:      r.Host,
		Method:    r.Method,
		Proto:     r.Proto,
		Headers:   headers,
		Namespace: id.Namespace,
		Ingress:   id.Ingress,
		Service:   id.Service,
		Pod:       id.Pod,
		Image:     id.Image,
		Container: id.Container,
	}
}

func delay(r *http.Request) error {
	v := r.URL.Query().Get("delay")
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > maxDelay {
		return fmt.Errorf("delay %q: want a duration from 0 to %s, like 500ms", v, maxDelay)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
	return nil
}

// setRequestedHeaders sets the response headers asked for in X-Echo-Set-Header.
func setRequestedHeaders(w http.ResponseWriter, spec string) {
	for _, pair := range strings.Split(spec, ",") {
		name, value, ok := strings.Cut(pair, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		w.Header().Set(name, strings.TrimSpace(value))
	}
}

func serveStatus(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 100 || code > 599 {
		http.Error(w, fmt.Sprintf("status %q: want an HTTP status code from 100 to 599", r.PathValue("code")), http.StatusBadRequest)
		return
	}
	w.WriteHeader(code)
}
