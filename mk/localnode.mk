# Local node (internal/localnode): the scale benchmark. It starts etcd, kube-apiserver and
# kube-controller-manager, runs the node in-process and binds 2,000 idle demo pods to it
# (LOCALNODE_BENCH_PODS changes the count). Takes a few minutes; not part of `make test`.

.PHONY: bench-localnode
bench-localnode: ## Measure memory and CPU per idle pod of the local node (2,000 pods).
	assets=$$(hack/controlplane/build.sh | tail -n 1); \
	KUBEBUILDER_ASSETS="$$assets" go test -count=1 -run '^$$' -bench LocalNodeIdlePods -benchtime 1x -timeout 30m ./test/integration/
