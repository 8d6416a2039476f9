# Analysis (issue #8): Prometheus for the prometheus provider's tests, and focused test targets.

.PHONY: test-prereqs
test-prereqs: ## Install what the tests need beyond Go (Debian's prometheus); idempotent.
	@hack/install-prometheus.sh >/dev/null

.PHONY: test-analysis
test-analysis: test-prereqs ## Analysis unit tests (expr, engine, web, real Prometheus) and its envtest scenarios.
	go test -count=1 ./internal/analysis/... ./internal/rollout/plan/...
	assets=$$(hack/controlplane/build.sh | tail -n 1); \
	KUBEBUILDER_ASSETS="$$assets" go test -count=1 -timeout 20m \
		-run 'Analysis|JobProvider|BlueGreenP|MissingTemplate' ./test/integration/...
