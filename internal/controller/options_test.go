package controller

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// parse binds fresh options to a flag set and parses args.
func parse(t *testing.T, args ...string) *Options {
	t.Helper()
	o := NewOptions()
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	return o
}

func TestDefaults(t *testing.T) {
	o := parse(t)
	want := Options{
		LeaderElect:                 true,
		LeaderElectionLeaseDuration: 15 * time.Second,
		LeaderElectionRenewDeadline: 10 * time.Second,
		LeaderElectionRetryPeriod:   2 * time.Second,
		MetricsPort:                 8090,
		HealthzPort:                 8080,
		RolloutThreads:              10,
		GatewayVerifyWeights:        true,
		LogLevel:                    "info",
		LogFormat:                   "text",
		QPS:                         40,
		Burst:                       80,
		Version:                     "dev",
	}
	if *o != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", *o, want)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestFlags(t *testing.T) {
	o := parse(t,
		"--kubeconfig=/tmp/kc", "--namespace=shop", "--instance-id=blue",
		"--leader-elect=false", "--leader-election-namespace=ops",
		"--leader-election-lease-duration=30s", "--leader-election-renew-deadline=20s",
		"--leader-election-retry-period=5s",
		"--metricsport=9090", "--healthzPort=9091", "--rollout-threads=3",
		"--loglevel=debug", "--logformat=json", "--qps=10.5", "--burst=20",
		"--gateway-verify-weights=false", "--bind-address=127.0.0.1",
	)
	want := Options{
		Kubeconfig: "/tmp/kc", Namespace: "shop", InstanceID: "blue",
		LeaderElect: false, LeaderElectionNamespace: "ops",
		LeaderElectionLeaseDuration: 30 * time.Second, LeaderElectionRenewDeadline: 20 * time.Second,
		LeaderElectionRetryPeriod: 5 * time.Second,
		MetricsPort:               9090, HealthzPort: 9091, RolloutThreads: 3,
		LogLevel: "debug", LogFormat: "json", QPS: 10.5, Burst: 20, Version: "dev",
		BindAddress: "127.0.0.1",
	}
	if *o != want {
		t.Errorf("parsed:\n got %+v\nwant %+v", *o, want)
	}
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
}

func TestFlagSpellings(t *testing.T) {
	o := parse(t, "--metricsPort=1234", "--healthzport=5678", "-n", "web")
	if o.MetricsPort != 1234 || o.HealthzPort != 5678 || o.Namespace != "web" {
		t.Errorf("got metrics %d, healthz %d, namespace %q; want 1234, 5678, web", o.MetricsPort, o.HealthzPort, o.Namespace)
	}
}

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		args []string
		want []string // substrings of the error
	}{
		"log level":       {[]string{"--loglevel=trace"}, []string{"--loglevel"}},
		"log format":      {[]string{"--logformat=xml"}, []string{"--logformat"}},
		"instance id":     {[]string{"--instance-id=not a label!"}, []string{"--instance-id"}},
		"namespace":       {[]string{"--namespace=Shop_1"}, []string{"--namespace"}},
		"threads":         {[]string{"--rollout-threads=0"}, []string{"--rollout-threads"}},
		"ports":           {[]string{"--metricsport=70000", "--healthzPort=-1"}, []string{"--metricsport", "--healthzPort"}},
		"same ports":      {[]string{"--metricsport=8080"}, []string{"both 8080"}},
		"bind address":    {[]string{"--bind-address=localhost"}, []string{"--bind-address"}},
		"client":          {[]string{"--qps=0"}, []string{"--qps"}},
		"lease vs renew":  {[]string{"--leader-election-lease-duration=10s"}, []string{"--leader-election-lease-duration"}},
		"renew vs retry":  {[]string{"--leader-election-retry-period=9s"}, []string{"--leader-election-retry-period"}},
		"several at once": {[]string{"--loglevel=x", "--logformat=y"}, []string{"--loglevel", "--logformat"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := parse(t, tc.args...).Validate()
			if err == nil {
				t.Fatal("Validate succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if err := parse(t, "--leader-elect=false", "--leader-election-lease-duration=1s").Validate(); err != nil {
		t.Errorf("lease timings are checked without leader election: %v", err)
	}
	if err := parse(t, "--metricsport=0", "--healthzPort=0").Validate(); err != nil {
		t.Errorf("disabling both servers: %v", err)
	}
}

func TestInstanceIDSelector(t *testing.T) {
	unlabelled := labels.Set{"app": "shop"}
	blue := labels.Set{"app": "shop", v1alpha1.InstanceIDLabel: "blue"}
	green := labels.Set{v1alpha1.InstanceIDLabel: "green"}
	empty := labels.Set{v1alpha1.InstanceIDLabel: ""}

	for _, tc := range []struct {
		id      string
		matches []labels.Set
		misses  []labels.Set
	}{
		{"", []labels.Set{unlabelled}, []labels.Set{blue, green, empty}},
		{"blue", []labels.Set{blue}, []labels.Set{unlabelled, green, empty}},
	} {
		sel := InstanceIDSelector(tc.id)
		for _, l := range tc.matches {
			if !sel.Matches(l) {
				t.Errorf("--instance-id=%q: selector %q does not match %v", tc.id, sel, l)
			}
		}
		for _, l := range tc.misses {
			if sel.Matches(l) {
				t.Errorf("--instance-id=%q: selector %q matches %v", tc.id, sel, l)
			}
		}
	}
	if got := InstanceIDSelector("").String(); got != "!"+v1alpha1.InstanceIDLabel {
		t.Errorf("default selector is %q", got)
	}
	if got := InstanceIDSelector("blue").String(); got != v1alpha1.InstanceIDLabel+"=blue" {
		t.Errorf("instance selector is %q", got)
	}
}

func TestManagerOptions(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	o := parse(t, "--namespace=shop", "--instance-id=blue", "--leader-election-namespace=ops",
		"--leader-election-lease-duration=30s", "--leader-election-renew-deadline=20s",
		"--leader-election-retry-period=4s")
	mo := o.ManagerOptions(scheme)

	if !mo.LeaderElection || mo.LeaderElectionID != "aviary-controller-lock" ||
		mo.LeaderElectionNamespace != "ops" || mo.LeaderElectionResourceLock != "leases" ||
		!mo.LeaderElectionReleaseOnCancel {
		t.Errorf("leader election: enabled %v, id %q, namespace %q, lock %q, release on cancel %v",
			mo.LeaderElection, mo.LeaderElectionID, mo.LeaderElectionNamespace,
			mo.LeaderElectionResourceLock, mo.LeaderElectionReleaseOnCancel)
	}
	if *mo.LeaseDuration != 30*time.Second || *mo.RenewDeadline != 20*time.Second || *mo.RetryPeriod != 4*time.Second {
		t.Errorf("lease timings %s/%s/%s, want 30s/20s/4s", *mo.LeaseDuration, *mo.RenewDeadline, *mo.RetryPeriod)
	}
	if mo.Metrics.BindAddress != ":8090" || mo.HealthProbeBindAddress != ":8080" {
		t.Errorf("metrics on %q, probes on %q; want :8090 and :8080", mo.Metrics.BindAddress, mo.HealthProbeBindAddress)
	}
	if len(mo.Cache.DefaultNamespaces) != 1 {
		t.Errorf("cache namespaces %v, want only shop", mo.Cache.DefaultNamespaces)
	}
	if _, ok := mo.Cache.DefaultNamespaces["shop"]; !ok {
		t.Errorf("cache namespaces %v, want shop", mo.Cache.DefaultNamespaces)
	}

	scoped := map[string]bool{}
	for obj, by := range mo.Cache.ByObject {
		kind := typeName(obj)
		scoped[kind] = true
		if got := by.Label.String(); got != v1alpha1.InstanceIDLabel+"=blue" {
			t.Errorf("%s cache selector %q, want the instance id", kind, got)
		}
	}
	for _, kind := range []string{"Rollout", "AnalysisRun", "Experiment"} {
		if !scoped[kind] {
			t.Errorf("%s is not filtered by --instance-id in the cache (filtered: %v)", kind, scoped)
		}
	}

	if mo.Client.Cache == nil || len(mo.Client.Cache.DisableFor) != 1 {
		t.Fatalf("client cache options %+v: want Secrets read uncached", mo.Client.Cache)
	}
	if _, ok := mo.Client.Cache.DisableFor[0].(*corev1.Secret); !ok {
		t.Errorf("uncached kinds %T, want *v1.Secret", mo.Client.Cache.DisableFor[0])
	}
	if !mo.Client.Cache.Unstructured {
		t.Error("the client reads unstructured objects around the cache: Rollouts (read unstructured) would all be API requests")
	}

	// --bind-address keeps both servers on one interface.
	mo = parse(t, "--bind-address=127.0.0.1", "--metricsport=9090", "--healthzPort=9091").ManagerOptions(scheme)
	if mo.Metrics.BindAddress != "127.0.0.1:9090" || mo.HealthProbeBindAddress != "127.0.0.1:9091" {
		t.Errorf("with --bind-address=127.0.0.1: metrics on %q, probes on %q", mo.Metrics.BindAddress, mo.HealthProbeBindAddress)
	}
	mo = parse(t, "--bind-address=::1").ManagerOptions(scheme)
	if mo.Metrics.BindAddress != "[::1]:8090" {
		t.Errorf("with --bind-address=::1: metrics on %q, want [::1]:8090", mo.Metrics.BindAddress)
	}

	// All namespaces, no leader election, servers disabled.
	mo = parse(t, "--leader-elect=false", "--metricsport=0", "--healthzPort=0").ManagerOptions(scheme)
	if mo.LeaderElection || mo.Cache.DefaultNamespaces != nil ||
		mo.Metrics.BindAddress != "0" || mo.HealthProbeBindAddress != "0" {
		t.Errorf("got leader election %v, namespaces %v, metrics %q, probes %q",
			mo.LeaderElection, mo.Cache.DefaultNamespaces, mo.Metrics.BindAddress, mo.HealthProbeBindAddress)
	}
}

func typeName(obj client.Object) string {
	switch obj.(type) {
	case *v1alpha1.Rollout:
		return "Rollout"
	case *v1alpha1.AnalysisRun:
		return "AnalysisRun"
	case *v1alpha1.Experiment:
		return "Experiment"
	}
	return "other"
}

func TestResolveLeaderElectionNamespace(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "POD_NAMESPACE" {
				return v
			}
			return ""
		}
	}
	file := func(content string, err error) func(string) ([]byte, error) {
		return func(path string) ([]byte, error) {
			if path != serviceAccountNamespaceFile {
				t.Errorf("read %s", path)
			}
			return []byte(content), err
		}
	}
	missing := file("", fs.ErrNotExist)
	tests := map[string]struct {
		flag     string
		getenv   func(string) string
		readFile func(string) ([]byte, error)
		want     string
	}{
		"flag wins":                {"ops", env("pods"), file("sa", nil), "ops"},
		"then POD_NAMESPACE":       {"", env("pods"), file("sa", nil), "pods"},
		"then the service account": {"", env(""), file("sa\n", nil), "sa"},
		"out of cluster":           {"", env(""), missing, DefaultSystemNamespace},
		"empty namespace file":     {"", env(""), file("  ", nil), DefaultSystemNamespace},
		"unreadable file":          {"", env(""), file("x", errors.New("denied")), DefaultSystemNamespace},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := resolveNamespace(tc.flag, tc.getenv, tc.readFile); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRestConfig(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/kubeconfig"
	const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	o := parse(t, "--kubeconfig="+path, "--qps=7", "--burst=9")
	cfg, err := o.RestConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:6443" || cfg.QPS != 7 || cfg.Burst != 9 {
		t.Errorf("host %q, qps %v, burst %d", cfg.Host, cfg.QPS, cfg.Burst)
	}
	if _, err := parse(t, "--kubeconfig="+dir+"/missing").RestConfig(); err == nil {
		t.Error("a missing --kubeconfig loaded")
	}
}
