package localnode

import (
	"strings"
	"time"
)

// Kind is what a container runs.
type Kind string

const (
	// KindDemo runs the demo app (internal/demoapp).
	KindDemo Kind = "demo"
	// KindEcho runs the echo server (internal/echo) on every declared port.
	KindEcho Kind = "echo"
)

// Image tags' prefixes that change the demo app's behaviour, like the classic rollouts-demo's
// bad-* and slow-* images.
const (
	badPrefix  = "bad-"
	slowPrefix = "slow-"
	// BadErrorRate is the share of /color requests that bad-<color> images fail with 500.
	BadErrorRate = 0.25
	// SlowLatency is the latency slow-<color> images add to /color.
	SlowLatency = time.Second
	// DemoPort is where the demo app listens when its container declares no port, like the
	// classic demo.
	DemoPort = 8080
	// EchoPort is where the echo server listens when its container declares no port and sets
	// no HTTP_PORT: echo-basic's default, which the Gateway API conformance suite's backends
	// rely on (their Services target port 3000 and their containers declare none).
	EchoPort = 3000
)

// demoRepositories run the demo app: the classic Argo Rollouts demo and the project's own.
var demoRepositories = []string{
	"argoproj/rollouts-demo",
	"docker.io/argoproj/rollouts-demo",
	"index.docker.io/argoproj/rollouts-demo",
	"ghcr.io/aviary-dev/demo",
}

// Behaviour is what the local node runs for an image.
type Behaviour struct {
	Kind      Kind
	Color     string
	ErrorRate float64
	Latency   time.Duration
}

// BehaviourOf maps an image reference to what the local node runs: the demo app for the
// known demo repositories (its colour from the tag, bad-/slow- prefixes adding errors or
// latency), the echo server for everything else.
func BehaviourOf(image string) Behaviour {
	repo, tag := splitImage(image)
	known := false
	for _, r := range demoRepositories {
		if repo == r {
			known = true
			break
		}
	}
	if !known {
		return Behaviour{Kind: KindEcho}
	}
	b := Behaviour{Kind: KindDemo, Color: tag}
	switch {
	case strings.HasPrefix(tag, badPrefix):
		b.Color, b.ErrorRate = strings.TrimPrefix(tag, badPrefix), BadErrorRate
	case strings.HasPrefix(tag, slowPrefix):
		b.Color, b.Latency = strings.TrimPrefix(tag, slowPrefix), SlowLatency
	}
	if b.Color == "" || b.Color == "latest" {
		b.Color = "blue"
	}
	return b
}

// splitImage splits "repo[:tag][@digest]" into repository and tag; a registry port's colon is
// not a tag.
func splitImage(image string) (repo, tag string) {
	image, _, _ = strings.Cut(image, "@")
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		return image[:colon], image[colon+1:]
	}
	return image, ""
}
