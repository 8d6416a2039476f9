// Package crd embeds the generated CustomResourceDefinitions, so that tools such as
// `aviary lint` can validate objects offline with the API server's own schema and CEL rules.
package crd

import "embed"

// Bases holds the generated CRDs, bases/argoproj.io_*.yaml.
//
//go:embed bases/*.yaml
var Bases embed.FS
