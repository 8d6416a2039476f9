#!/usr/bin/env bash
# Benchmark `aviary gateway` against the same backend directly and through nginx (make bench-gateway).
# Installs wrk and nginx from Debian if missing; needs the control-plane binaries
# (hack/controlplane/build.sh) for its kube-apiserver and etcd.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
if ((${#need[@]})); then
	echo "installing ${need[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed to pin processes" >&2; exit 1; }

export KUBEBUILDER_ASSETS="${KUBEBUILDER_ASSETS:-$(hack/controlplane/build.sh | tail -n 1)}"
mkdir -p bin
go build -o bin/aviary ./cmd/aviary
go build -o bin/bench-gateway ./hack/bench-gateway
exec bin/bench-gateway -aviary bin/aviary "$@"
