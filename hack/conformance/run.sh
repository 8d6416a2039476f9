#!/usr/bin/env bash
# Runs the Gateway API conformance suite (GATEWAY-HTTP profile) against `aviary gateway` in the
# local sandbox (make conformance). It starts a sandbox of its own (state in a temporary
# directory, ports from AVIARY_LOCAL_PORT_BASE, default 27000) unless KUBECONFIG is set to a
# running one, creates GatewayClass aviary-conformance for the sandbox's gateway, and writes the
# report to hack/conformance/report.yaml (its summary goes to docs/conformance.md by hand).
# Extra arguments go to the suite, e.g. --run-test=HTTPRouteWeight.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

go build -o bin/aviary ./cmd/aviary
export KUBEBUILDER_ASSETS="${KUBEBUILDER_ASSETS:-$(hack/controlplane/build.sh | tail -n 1)}"

started=""
if [ -z "${KUBECONFIG:-}" ]; then
	export AVIARY_STATE_DIR="${AVIARY_STATE_DIR:-$(mktemp -d /tmp/aviary-conformance-XXXXXX)}"
	export AVIARY_LOCAL_PORT_BASE="${AVIARY_LOCAL_PORT_BASE:-27000}"
	bin/aviary local up
	started=yes
	KUBECONFIG=$(bin/aviary local kubeconfig)
	export KUBECONFIG
fi
cleanup() {
	if [ -n "$started" ]; then "$root/bin/aviary" local down || true; fi
}
trap cleanup EXIT

controller=${GATEWAY_CONTROLLER_NAME:-aviary.dev/gateway-controller}
cat <<YAML | (cd hack/conformance && go run ./apply "$KUBECONFIG")
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: aviary-conformance
spec:
  controllerName: $controller
YAML

features=Gateway,HTTPRoute,ReferenceGrant,HTTPRouteQueryParamMatching,HTTPRouteMethodMatching,HTTPRouteResponseHeaderModification,HTTPRouteBackendRequestHeaderModification,HTTPRoutePortRedirect,HTTPRouteSchemeRedirect,HTTPRoutePathRedirect,HTTPRoute303RedirectStatusCode,HTTPRoute307RedirectStatusCode,HTTPRoute308RedirectStatusCode,HTTPRouteHostRewrite,HTTPRoutePathRewrite,HTTPRouteRequestTimeout,HTTPRouteBackendTimeout,HTTPRouteRequestMirror,HTTPRouteRequestPercentageMirror,HTTPRouteRequestMultipleMirrors
cd hack/conformance
go test -v -count=1 -timeout 60m -run TestConformance . -args \
	--gateway-class=aviary-conformance \
	--supported-features="$features" \
	--conformance-profiles=GATEWAY-HTTP \
	--organization=aviary-dev --project=aviary --url=https://github.com/aviary-dev/aviary \
	--version="$(git -C "$root" describe --always --dirty)" --contact=https://github.com/aviary-dev/aviary/issues \
	--report-output="$root/hack/conformance/report.yaml" \
	--cleanup-base-resources=true "$@"
