// Package integration holds tests against a real kube-apiserver and etcd with Aviary's CRDs.
package integration

import (
	"fmt"
	"os"
	"testing"

	"github.com/aviary-dev/aviary/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests need a control plane:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	os.Exit(code)
}
