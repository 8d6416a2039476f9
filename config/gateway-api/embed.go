// Package gatewayapi embeds the Gateway API CRDs of the version go.mod names (copied by
// `make generate`), for the local sandbox and the integration tests to install.
package gatewayapi

import "embed"

// Standard holds the standard channel's CRDs; Experimental the experimental channel's, which are
// a superset (the same kinds with more fields, plus the experimental kinds).
//
//go:embed standard/*.yaml
var Standard embed.FS

//go:embed experimental/*.yaml
var Experimental embed.FS

// Version is the Gateway API release the CRDs come from.
//
//go:embed VERSION
var Version string
