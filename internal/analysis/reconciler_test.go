package analysis

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// world is a Reconciler against a fake API server, with a fake clock, the Events it records
// and the log lines it writes, so that a test can reconcile a run and read what came out.
type world struct {
	t        *testing.T
	client   client.Client
	r        *Reconciler
	clock    *clocktesting.FakeClock
	recorder *events.FakeRecorder
	logs     *lines
}

// lines collects log lines; the reconciler logs from several goroutines only in a manager.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) add(prefix, args string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, prefix+" "+args)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.all, "\n")
}

// newWorld holds objs; funcs intercept the API reader's calls (nil for none).
func newWorld(t *testing.T, funcs *interceptor.Funcs, objs ...client.Object) *world {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1alpha1.AnalysisRun{}).WithObjects(objs...).Build()
	var reader client.Reader = c
	if funcs != nil {
		reader = interceptor.NewClient(c, *funcs)
	}
	w := &world{t: t, client: c, clock: clocktesting.NewFakeClock(t0), recorder: events.NewFakeRecorder(100), logs: &lines{}}
	w.r = &Reconciler{Client: c, APIReader: reader, Registry: DefaultRegistry(), Clock: w.clock, Recorder: w.recorder}
	return w
}

// reconcile runs one reconcile of the run, logging into w.logs.
func (w *world) reconcile(name string) (ctrl.Result, error) {
	w.t.Helper()
	log := funcr.New(w.logs.add, funcr.Options{Verbosity: 10})
	ctx := logr.NewContext(context.Background(), log)
	res, err := w.r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "shop", Name: name}})
	if err != nil {
		w.logs.add("reconciler error", err.Error())
	}
	return res, err
}

func (w *world) run(name string) *v1alpha1.AnalysisRun {
	w.t.Helper()
	run := &v1alpha1.AnalysisRun{}
	if err := w.client.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: name}, run); err != nil {
		w.t.Fatal(err)
	}
	return run
}

// events drains the Events recorded so far.
func (w *world) events() string {
	var out []string
	for {
		select {
		case e := <-w.recorder.Events:
			out = append(out, e)
		default:
			return strings.Join(out, "\n")
		}
	}
}

// jsonServer answers every request with body, as JSON.
func jsonServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// closedAddress is a loopback address nothing listens on: connections to it are refused.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func secret(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func secretArg(name, secretName, key string) v1alpha1.Argument {
	return v1alpha1.Argument{Name: name, ValueFrom: &v1alpha1.ValueFrom{SecretKeyRef: &v1alpha1.SecretKeyRef{Name: secretName, Key: key}}}
}

// webRun measures a web URL once; args are the run's arguments.
func webRun(name, url, jsonPath, condition string, args ...v1alpha1.Argument) *v1alpha1.AnalysisRun {
	return &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
		Spec: v1alpha1.AnalysisRunSpec{Args: args, Metrics: []v1alpha1.Metric{{
			Name: "m", SuccessCondition: condition, ConsecutiveErrorLimit: ios(0),
			Provider: v1alpha1.MetricProvider{Web: &v1alpha1.WebMetric{URL: url, JSONPath: jsonPath, TimeoutSeconds: 5}},
		}}},
	}
}

// TestSecretArgTransientErrorIsRetried: an API error other than NotFound while reading a
// Secret argument leaves the run Running with a message saying it retries, and the run
// succeeds once the API server answers again.
func TestSecretArgTransientErrorIsRetried(t *testing.T) {
	srv := jsonServer(t, `{"rate":0.99}`)
	failures := 1
	funcs := &interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ok := obj.(*corev1.Secret); ok && failures > 0 {
			failures--
			return apierrors.NewInternalError(fmt.Errorf("etcdserver: request timed out"))
		}
		return c.Get(ctx, key, obj, opts...)
	}}
	w := newWorld(t, funcs, secret("creds", map[string]string{"url": srv.URL}),
		webRun("r", "{{args.url}}", "{$.rate}", "result >= 0.95", secretArg("url", "creds", "url")))

	if _, err := w.reconcile("r"); err == nil {
		t.Errorf("a transient Secret error was not returned for a retry")
	}
	st := w.run("r").Status
	if st.Phase != v1alpha1.AnalysisPhaseRunning || st.CompletedAt != nil ||
		!strings.Contains(st.Message, `reading secret "creds"`) || !strings.Contains(st.Message, "retr") {
		t.Fatalf("after a transient error the run is %s %q (completedAt %v); want Running, saying it retries", st.Phase, st.Message, st.CompletedAt)
	}

	if _, err := w.reconcile("r"); err != nil {
		t.Fatalf("reconcile once the API server answers: %v", err)
	}
	if st := w.run("r").Status; st.Phase != v1alpha1.AnalysisPhaseSuccessful || st.Message != "" {
		t.Fatalf("once the Secret can be read the run is %s %q; want Successful", st.Phase, st.Message)
	}
}

// TestSecretArgMissingIsAnError: a missing Secret or key is the run's error, said plainly.
func TestSecretArgMissingIsAnError(t *testing.T) {
	w := newWorld(t, nil, secret("creds", map[string]string{"other": "x"}),
		webRun("no-secret", "{{args.url}}", "{$.rate}", "result >= 0.95", secretArg("url", "nope", "url")),
		webRun("no-key", "{{args.url}}", "{$.rate}", "result >= 0.95", secretArg("url", "creds", "url")))
	for name, want := range map[string]string{
		"no-secret": `argument "url": secret "nope" not found in namespace "shop"`,
		"no-key":    `argument "url": secret "creds" has no key "url"`,
	} {
		if _, err := w.reconcile(name); err != nil {
			t.Errorf("%s: a missing Secret or key was retried: %v", name, err)
		}
		if st := w.run(name).Status; st.Phase != v1alpha1.AnalysisPhaseError || !strings.Contains(st.Message, want) {
			t.Errorf("%s: run is %s %q; want Error %q", name, st.Phase, st.Message, want)
		}
	}
}
