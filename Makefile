# Aviary — progressive delivery for Kubernetes.
# `make test` is what CI and the README run: generated-code and go.mod drift, lint, unit tests (and
# the concurrent packages' under the race detector), integration and end-to-end tests.
# `make help` lists every target with what it does.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

CONTROLLER_GEN := go tool controller-gen
GOLANGCI_LINT  := go tool -modfile=hack/tools/go.mod golangci-lint

.PHONY: all
all: generate build ## Regenerate, then compile every package (the default).

.PHONY: help
help: ## List the targets, here and in mk/*.mk, with what each does.
	@awk 'BEGIN { FS = ":[^#]*## " } /^[a-zA-Z0-9_.-]+:[^#]*## / { printf "  %-22s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

.PHONY: build
build: ## Compile every package.
	go build ./...

.PHONY: generate
generate: ## Regenerate deepcopy functions and CRDs from the API types, RBAC from the +kubebuilder:rbac markers, and copy the Gateway API CRDs.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd:generateEmbeddedObjectMeta=true paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=aviary-controller paths="./internal/controller/...;./internal/rollout/...;./internal/analysis/...;./internal/traffic/..." output:rbac:artifacts:config=config/rbac
	$(CONTROLLER_GEN) rbac:roleName=aviary-gateway paths=./internal/gateway/... output:rbac:artifacts:config=config/rbac/gateway
	hack/gateway-api-crds.sh

.PHONY: verify-generate
verify-generate: generate ## Fail when checked-in generated files differ from a fresh generation.
	@changes=$$(git status --porcelain -- api config); \
	if [ -n "$$changes" ]; then \
		echo "Generated files are out of date; run 'make generate' and commit the result:"; \
		echo "$$changes"; git --no-pager diff --stat -- api config; exit 1; \
	fi

.PHONY: verify-tidy
verify-tidy: ## Fail when go.mod or go.sum of the project, hack/tools or hack/controlplane is not what 'go mod tidy' writes.
	@for m in . hack/tools hack/controlplane; do \
		if ! diff=$$(cd "$$m" && go mod tidy -diff); then \
			echo "$$m/go.mod is not tidy; run 'cd $$m && go mod tidy' and commit the result:"; \
			echo "$$diff"; exit 1; \
		fi; \
	done

.PHONY: verify
verify: verify-generate verify-tidy ## Fail when generated files or go.mod files differ from what the tools write.

.PHONY: controlplane
controlplane: ## Build (or reuse) etcd and the Kubernetes control plane; prints their directory last.
	@hack/controlplane/build.sh

.PHONY: lint
lint: ## Run golangci-lint with the project's configuration.
	$(GOLANGCI_LINT) run ./...

.PHONY: test-unit
test-unit: ## Unit tests only: no control plane needed.
	go test -count=1 $$(go list ./... | grep -v /test/integration)

# The packages whose code runs goroutines side by side: the data plane, the reconcilers and the
# analysis providers. Their unit tests take under a minute under -race once the race build of
# their dependencies is cached (about 6 minutes cold on 2 cores). KUBEBUILDER_ASSETS is unset so
# that this stays a unit tier; test-integration runs the envtest scenarios.
RACE_PKGS ?= ./internal/gateway/... ./internal/analysis/... ./internal/controller/... ./internal/rollout/... ./internal/traffic/...

.PHONY: test-race
test-race: ## Unit tests of the gateway, reconcilers and analysis (RACE_PKGS) under the race detector.
	env -u KUBEBUILDER_ASSETS go test -race -count=1 $(RACE_PKGS)

# Fuzz targets are found, not listed: every `func FuzzXxx(f *testing.F)` under FUZZ_DIRS runs for
# FUZZTIME. A failure stops the run and leaves the input under the package's testdata/fuzz/.
FUZZTIME  ?= 20s
FUZZ_DIRS ?= api cmd internal test hack

.PHONY: fuzz
fuzz: ## Run every fuzz target under FUZZ_DIRS for FUZZTIME each (default 20s); not part of make test.
	@grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' $(FUZZ_DIRS) | sort | \
	while IFS=: read -r file fn; do \
		name=$${fn#func }; name=$${name%(}; \
		echo "$$(dirname "$$file"): $$name for $(FUZZTIME)"; \
		go test "./$$(dirname "$$file")" -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

.PHONY: test-integration
test-integration: ## Integration tests against a real kube-apiserver and etcd.
	assets=$$(hack/controlplane/build.sh | tail -n 1); \
	KUBEBUILDER_ASSETS="$$assets" go test -count=1 -timeout 30m ./test/integration/... ./internal/controller/...

.PHONY: test
test: verify lint test-prereqs test-unit test-race test-integration test-e2e ## Everything CI runs.

# Each area keeps its own targets (gateway benchmarks, sandbox, conformance) in mk/<area>.mk.
-include mk/*.mk
