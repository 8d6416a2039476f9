#!/usr/bin/env bash
# Installs what the local sandbox can use but does not need: Debian's prometheus package.
# Never fails: without Prometheus the sandbox runs without it and says so.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if command -v prometheus >/dev/null 2>&1; then
	echo "prerequisites: prometheus $(prometheus --version 2>&1 | awk 'NR==1 {print $3}') is installed" >&2
	exit 0
fi

# The analysis work ships its own installer; prefer it when it is there.
if [ -x "$here/install-prometheus.sh" ]; then
	"$here/install-prometheus.sh" || echo "prerequisites: $here/install-prometheus.sh failed; the sandbox runs without Prometheus" >&2
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "prerequisites: no apt-get here; install Prometheus yourself to have the sandbox scrape its pods" >&2
	exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
		echo "prerequisites: not root and no sudo; the sandbox runs without Prometheus (apt-get install prometheus to add it)" >&2
		exit 0
	fi
fi
echo "prerequisites: installing Debian's prometheus package (the sandbox runs the binary itself, not the service)" >&2
# policy-rc.d keeps the package from starting its own service: the sandbox runs Prometheus
# with its own configuration and port.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
	if printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null 2>&1 && $sudo chmod +x "$policy"; then
		created_policy=1
	fi
fi
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends prometheus >&2; then
	echo "prerequisites: apt-get install prometheus failed (try apt-get update first); the sandbox runs without Prometheus" >&2
fi
if [ -n "$created_policy" ]; then $sudo rm -f "$policy"; fi
exit 0
