# aviary gateway: benchmark and Gateway API conformance (docs/gateway.md, docs/benchmarks.md,
# docs/conformance.md).

.PHONY: bench-gateway
bench-gateway: ## wrk through the gateway vs direct vs nginx, latency at half load, weight change (installs wrk, nginx).
	hack/bench-gateway/run.sh $(BENCH_ARGS)

.PHONY: test-gateway-fuzz
test-gateway-fuzz: ## Run the gateway's fuzz targets for FUZZTIME each (default 20s): make fuzz, limited to internal/gateway.
	$(MAKE) --no-print-directory fuzz FUZZ_DIRS=internal/gateway

.PHONY: conformance
conformance: ## The Gateway API conformance suite (GATEWAY-HTTP core) against the gateway.
	hack/conformance/run.sh $(CONFORMANCE_ARGS)
