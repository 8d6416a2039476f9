package cli

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func TestStatusPhase(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	ro.Status.ObservedGeneration = "2"
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseHealthy, ""
	if p, m := statusPhase(ro); p != v1alpha1.RolloutPhaseProgressing || m != "waiting for rollout spec update to be observed" {
		t.Errorf("unobserved generation: %s %q", p, m)
	}
	ro.Status.ObservedGeneration = "3"
	if p, m := statusPhase(ro); p != v1alpha1.RolloutPhaseHealthy || m != "" {
		t.Errorf("observed: %s %q", p, m)
	}
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhasePaused, "CanaryPauseStep"
	if got := statusLine(statusPhase(ro)); got != "Paused - CanaryPauseStep" {
		t.Errorf("line %q", got)
	}
	if got := statusLine(v1alpha1.RolloutPhaseHealthy, ""); got != "Healthy" {
		t.Errorf("line %q", got)
	}
}

func TestStatusDone(t *testing.T) {
	for phase, want := range map[v1alpha1.RolloutPhase]struct {
		done bool
		err  string
	}{
		v1alpha1.RolloutPhaseHealthy:     {true, ""},
		v1alpha1.RolloutPhaseDegraded:    {true, "The rollout is in a degraded state with message: RolloutAborted"},
		v1alpha1.RolloutPhasePaused:      {false, ""},
		v1alpha1.RolloutPhaseProgressing: {false, ""},
	} {
		done, err := statusDone(phase, "RolloutAborted")
		if done != want.done || (err == nil) != (want.err == "") || (err != nil && err.Error() != want.err) {
			t.Errorf("%s: %v %v", phase, done, err)
		}
	}
}

func TestRestartPatch(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	if got := string(restartPatch(now, 0)); got != `{"spec":{"restartAt":"2026-01-02T02:04:05Z"}}` {
		t.Errorf("now: %s", got)
	}
	if got := string(restartPatch(now, 90*time.Second)); got != `{"spec":{"restartAt":"2026-01-02T02:05:35Z"}}` {
		t.Errorf("in 90s: %s", got)
	}
	for in, want := range map[string]string{"": "0s", "30s": "30s", "5m": "5m"} {
		if _, shown, err := parseRestartIn(in); err != nil || shown != want {
			t.Errorf("%q: %q %v", in, shown, err)
		}
	}
}

func TestDecodeObjects(t *testing.T) {
	objs, err := opDecodeObjects(strings.NewReader(`---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: a}
---
---
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {generateName: e-}
`), "f.yaml")
	if err != nil || len(objs) != 2 || objs[0].GetKind() != "AnalysisTemplate" || objs[1].GetGenerateName() != "e-" {
		t.Fatalf("got %v, %v", objs, err)
	}
	for doc, want := range map[string]string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n":          "creating ConfigMap is not supported",
		"apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {}\n": "neither metadata.name nor metadata.generateName",
		"apiVersion: argoproj.io/v1alpha1\nmetadata: {name: x}\n":         "missing kind",
		"":        "no objects found",
		"kind: [": "document 1",
	} {
		if _, err := opDecodeObjects(strings.NewReader(doc), "f.yaml"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", doc, err, want)
		}
	}
}
