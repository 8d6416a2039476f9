package localcluster

import (
	"fmt"
	"testing"

	"github.com/spf13/pflag"

	"github.com/aviary-dev/aviary/internal/controller"
)

// TestSandboxControllerListensOnLoopback parses the sandbox's controller arguments with the
// controller's own flags: its metrics and health ports listen on 127.0.0.1 only, as
// docs/local-sandbox.md promises.
func TestSandboxControllerListensOnLoopback(t *testing.T) {
	p := PortsFrom(DefaultPortBase)
	s := &Sandbox{cfg: Config{Aviary: "/bin/aviary", Ports: p}}
	argv := aviaryController().argv(s)
	if len(argv) < 2 || argv[1] != "controller" {
		t.Fatalf("argv %q does not run `aviary controller`", argv)
	}
	o := controller.NewOptions()
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(argv[2:]); err != nil {
		t.Fatalf("the controller refuses the sandbox's arguments %q: %v", argv[2:], err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	scheme, err := controller.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	mo := o.ManagerOptions(scheme)
	wantMetrics, wantHealth := fmt.Sprintf("127.0.0.1:%d", p.ControllerMetrics), fmt.Sprintf("127.0.0.1:%d", p.ControllerHealth)
	if mo.Metrics.BindAddress != wantMetrics || mo.HealthProbeBindAddress != wantHealth {
		t.Errorf("metrics on %q, probes on %q; want %s and %s", mo.Metrics.BindAddress, mo.HealthProbeBindAddress, wantMetrics, wantHealth)
	}
}
