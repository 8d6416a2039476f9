# aviary gateway: benchmark and Gateway API conformance (docs/gateway.md, docs/benchmarks.md,
# docs/conformance.md).

.PHONY: bench-gateway conformance test-gateway-fuzz

## bench-gateway: wrk through the gateway vs direct vs nginx, latency at half load, weight change (installs wrk, nginx)
bench-gateway:
	hack/bench-gateway/run.sh $(BENCH_ARGS)

## test-gateway-fuzz: run each gateway fuzz target for FUZZTIME (default 20s)
FUZZTIME ?= 20s
test-gateway-fuzz:
	go test ./internal/gateway/route -run XXX -fuzz FuzzLookup -fuzztime $(FUZZTIME)
	go test ./internal/gateway/route -run XXX -fuzz FuzzPrefixMatches -fuzztime $(FUZZTIME)
	go test ./internal/gateway/balance -run XXX -fuzz FuzzForUserMonotonic -fuzztime $(FUZZTIME)
	go test ./internal/gateway/balance -run XXX -fuzz FuzzUserKeyOf -fuzztime $(FUZZTIME)
	go test ./internal/gateway/h1 -run XXX -fuzz FuzzConnection -fuzztime $(FUZZTIME)
	go test ./internal/gateway/h1 -run XXX -fuzz FuzzParseRequestAgreesWithNetHTTP -fuzztime $(FUZZTIME)
	go test ./internal/gateway/proxy -run XXX -fuzz FuzzRawAnswerAgreesWithNetHTTP -fuzztime $(FUZZTIME)

## conformance: the Gateway API conformance suite (GATEWAY-HTTP core) against the gateway
conformance:
	hack/conformance/run.sh $(CONFORMANCE_ARGS)
