// Package integration holds tests against a real kube-apiserver and etcd with Aviary's CRDs, and
// a real kube-controller-manager.
package integration

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/aviary-dev/aviary/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	// Controller errors (failed reconciles) go to the test output; routine logs stay quiet.
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	var err error
	env, err = testenv.Start(testenv.WithControllerManager(), testenv.WithGatewayAPI(testenv.GatewayAPIExperimental))
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests need a control plane:", err)
		os.Exit(1)
	}
	code := m.Run()
	if code != 0 {
		env.KeepLogs()
		fmt.Fprintln(os.Stderr, "kube-controller-manager log:", env.ControllerManagerLog())
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	os.Exit(code)
}
