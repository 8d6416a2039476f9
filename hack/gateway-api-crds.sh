#!/usr/bin/env bash
# Copies the Gateway API CRDs (standard and experimental channels) from the version of
# sigs.k8s.io/gateway-api that go.mod names into config/gateway-api, so that the sandbox and the
# integration tests install exactly the CRDs our Go types were built against.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)
version=$(go list -m -f '{{.Version}}' sigs.k8s.io/gateway-api)
for channel in standard experimental; do
	rm -rf "config/gateway-api/$channel"
	mkdir -p "config/gateway-api/$channel"
	for f in "$src/config/crd/$channel"/gateway.networking.*.yaml; do
		install -m 0644 "$f" "config/gateway-api/$channel/"
	done
done
echo "$version" > config/gateway-api/VERSION
