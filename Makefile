# Aviary — progressive delivery for Kubernetes.
# `make test` is what CI and the README run: generated-code drift, lint, unit and integration tests.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

CONTROLLER_GEN := go tool controller-gen
GOLANGCI_LINT  := go tool -modfile=hack/tools/go.mod golangci-lint

.PHONY: all
all: generate build

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

.PHONY: controlplane
controlplane: ## Build (or reuse) etcd and the Kubernetes control plane; prints their directory last.
	@hack/controlplane/build.sh

.PHONY: lint
lint: ## Run golangci-lint with the project's configuration.
	$(GOLANGCI_LINT) run ./...

.PHONY: test-unit
test-unit: ## Unit tests only: no control plane needed.
	go test -count=1 $$(go list ./... | grep -v /test/integration)

.PHONY: test-integration
test-integration: ## Integration tests against a real kube-apiserver and etcd.
	assets=$$(hack/controlplane/build.sh | tail -n 1); \
	KUBEBUILDER_ASSETS="$$assets" go test -count=1 -timeout 30m ./test/integration/... ./internal/controller/...

.PHONY: test
test: verify-generate lint test-prereqs test-unit test-integration test-e2e ## Everything CI runs.

# Each area keeps its own targets (gateway benchmarks, sandbox, conformance) in mk/<area>.mk.
-include mk/*.mk
