package app

import (
	"bytes"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestRootCommand(t *testing.T) {
	root := NewRootCommand()
	for _, name := range []string{"controller", "version"} {
		if cmd, _, err := root.Find([]string{name}); err != nil || cmd.Name() != name {
			t.Errorf("aviary %s: found %v, %v", name, cmd, err)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	defer func(v, c string) { version, gitCommit = v, c }(version, gitCommit)
	version, gitCommit = "v1.2.3", "0123abcd"

	var out bytes.Buffer
	root := NewRootCommand()
	root.SetOut(&out)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aviary: v1.2.3", "GitCommit: 0123abcd", "GoVersion: " + runtime.Version()} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version printed %q, want it to contain %q", out.String(), want)
		}
	}

	out.Reset()
	root = NewRootCommand()
	root.SetOut(&out)
	root.SetArgs([]string{"version", "--short"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "v1.2.3\n" {
		t.Errorf("version --short printed %q", out.String())
	}
}

func TestVersionDefault(t *testing.T) {
	if Version() != "dev" {
		t.Errorf("a build without -ldflags reports version %q, want dev", Version())
	}
}

func TestControllerFlags(t *testing.T) {
	cmd := NewControllerCommand()
	for flag, want := range map[string]string{
		"kubeconfig":                     "",
		"namespace":                      "",
		"instance-id":                    "",
		"leader-elect":                   "true",
		"leader-election-namespace":      "",
		"leader-election-lease-duration": "15s",
		"leader-election-renew-deadline": "10s",
		"leader-election-retry-period":   "2s",
		"metricsport":                    "8090",
		"healthzPort":                    "8080",
		"rollout-threads":                "10",
		"loglevel":                       "info",
		"logformat":                      "text",
		"qps":                            "40",
		"burst":                          "80",
	} {
		f := cmd.Flags().Lookup(flag)
		if f == nil {
			t.Errorf("--%s is missing", flag)
			continue
		}
		if f.DefValue != want {
			t.Errorf("--%s defaults to %q, want %q", flag, f.DefValue, want)
		}
	}
}

// An invalid flag fails before any connection to a cluster is attempted.
func TestControllerRejectsInvalidFlags(t *testing.T) {
	root := NewRootCommand()
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"controller", "--loglevel=loud"})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "--loglevel") {
		t.Errorf("got %v, want an error about --loglevel", err)
	}
}

func TestKubectlPluginRootCommand(t *testing.T) {
	var out bytes.Buffer
	root := NewRootCommand(AsKubectlPlugin())
	root.SetOut(&out)
	root.SetArgs([]string{"promote", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kubectl aviary promote ROLLOUT_NAME") {
		t.Errorf("plugin help does not name `kubectl aviary`:\n%s", out.String())
	}
}

func TestGatewayLogsTimesToTheMillisecond(t *testing.T) {
	millis := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}`)
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		gatewayLogger(&out, verbose).Info("route table swapped")
		if !millis.MatchString(out.String()) {
			t.Errorf("verbose=%v: no time to the millisecond in %q", verbose, out.String())
		}
	}
}
