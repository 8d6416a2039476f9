// Package e2e holds end-to-end tests against the local sandbox (`aviary local up`) with real
// HTTP through the gateway. They are behind the e2e build tag, so that `make test-unit` does
// not start a cluster; `make test-e2e` (part of `make test`) runs them.
package e2e
