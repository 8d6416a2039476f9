// Package conformance runs the Gateway API conformance suite (sigs.k8s.io/gateway-api/conformance)
// against the cluster of $KUBECONFIG, normally the local sandbox with `aviary gateway`. It is a
// module of its own so the suite's dependencies stay out of Aviary's go.mod. Run it through
// `make conformance` (hack/conformance/run.sh), which passes the flags.
package conformance

import (
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

func TestConformance(t *testing.T) {
	conformance.RunConformance(t)
}
