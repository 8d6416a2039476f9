package localnode

import (
	"testing"
	"time"
)

func TestBehaviourOfImages(t *testing.T) {
	for image, want := range map[string]Behaviour{
		"argoproj/rollouts-demo:blue":           {Kind: KindDemo, Color: "blue"},
		"docker.io/argoproj/rollouts-demo:red":  {Kind: KindDemo, Color: "red"},
		"argoproj/rollouts-demo:bad-yellow":     {Kind: KindDemo, Color: "yellow", ErrorRate: BadErrorRate},
		"argoproj/rollouts-demo:slow-green":     {Kind: KindDemo, Color: "green", Latency: time.Second},
		"ghcr.io/aviary-dev/demo:orange":        {Kind: KindDemo, Color: "orange"},
		"ghcr.io/aviary-dev/demo":               {Kind: KindDemo, Color: "blue"},
		"argoproj/rollouts-demo:purple@sha256:": {Kind: KindDemo, Color: "purple"},
		"nginx:1.27":                            {Kind: KindEcho},
		"localhost:5000/argoproj/rollouts-demo": {Kind: KindEcho},
		"registry.k8s.io/gateway-api/conformance/echo-basic:v0.1.0": {Kind: KindEcho},
	} {
		if got := BehaviourOf(image); got != want {
			t.Errorf("BehaviourOf(%q) = %+v, want %+v", image, got, want)
		}
	}
}
