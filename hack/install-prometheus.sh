#!/usr/bin/env bash
# Installs Prometheus from Debian when it is missing, so that the analysis tests (and the
# sandbox) can start a real Prometheus server. Prints the binary's path on its last line.
# Idempotent: when `prometheus` is already on PATH it only prints the path.
set -euo pipefail

if path=$(command -v prometheus 2>/dev/null); then
	echo "$path"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-prometheus: prometheus is not installed and apt-get is not available;" >&2
	echo "install Prometheus (https://prometheus.io/download/) so that 'prometheus' is on PATH." >&2
	exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-prometheus: prometheus is missing and installing it needs root; run 'apt-get install -y prometheus' as root." >&2
		exit 1
	fi
	sudo="sudo"
fi

echo "install-prometheus: installing Debian's prometheus package" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y --no-install-recommends prometheus >&2; then
	# A fresh machine may have empty package lists; refresh once and retry.
	$sudo apt-get update >&2 || true
	if ! $sudo apt-get install -y --no-install-recommends prometheus >&2; then
		echo "install-prometheus: 'apt-get install prometheus' failed (see above); the analysis tests need a prometheus binary." >&2
		exit 1
	fi
fi
# Debian starts the service on install where systemd runs; the tests start their own server,
# so a running packaged instance is neither needed nor harmful.

if ! path=$(command -v prometheus 2>/dev/null); then
	echo "install-prometheus: the package installed but no 'prometheus' is on PATH (expected /usr/bin/prometheus)." >&2
	exit 1
fi
echo "$path"
