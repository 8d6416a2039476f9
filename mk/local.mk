# The local sandbox (aviary local ...) and its end-to-end tests.

AVIARY_BIN ?= bin/aviary

.PHONY: aviary-bin
aviary-bin: ## Build bin/aviary.
	go build -o $(AVIARY_BIN) ./cmd/aviary

.PHONY: sandbox
sandbox: aviary-bin ## The one command: build aviary and the control plane, install Prometheus if missing, start the sandbox and deploy the demo.
	hack/sandbox-prereqs.sh
	$(AVIARY_BIN) local up
	$(AVIARY_BIN) local demo

.PHONY: sandbox-down
sandbox-down: aviary-bin ## Stop the sandbox and remove its state.
	$(AVIARY_BIN) local down

# The e2e tests build their own aviary, run the sandbox in a temporary state directory on
# ports 26000+ and gateway address 127.0.100.210, so they do not disturb a sandbox started by
# `make sandbox`. They need the control plane (built on first use, like test-integration).
.PHONY: test-e2e
test-e2e: ## End-to-end tests against the local sandbox with real HTTP through the gateway.
	hack/controlplane/build.sh >/dev/null
	go test -count=1 -tags e2e -timeout 20m ./test/e2e/...
