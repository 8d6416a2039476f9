package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestCacheHoldsOnlyTLSSecrets: the gateway's Secret informer asks the API server for
// kubernetes.io/tls Secrets only, so no other credential of the cluster reaches its memory.
func TestCacheHoldsOnlyTLSSecrets(t *testing.T) {
	opts := cacheOptions()
	if len(opts.ByObject) != 1 {
		t.Fatalf("cache narrows %d kinds, want Secrets only", len(opts.ByObject))
	}
	for obj, by := range opts.ByObject {
		if _, ok := obj.(*corev1.Secret); !ok {
			t.Errorf("cache narrows %T, want *corev1.Secret", obj)
		}
		if by.Field == nil || by.Field.String() != "type=kubernetes.io/tls" {
			t.Errorf("Secret field selector %v, want type=kubernetes.io/tls", by.Field)
		}
	}
}
