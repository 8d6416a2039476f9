package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aviary-dev/aviary/internal/golden"
)

// planScenarios are the Rollouts TestPlanGolden plans: corpus manifests, and in testdata/plan
// the scenarios the planner's own tests walk (internal/rollout/plan), plus issue #19's
// maxTrafficWeight 200. Each maps to the file it is read from.
func planScenarios() map[string]string {
	files := map[string]string{}
	for _, name := range []string{
		"canary-set-weight-pause", "canary-set-canary-scale", "canary-gatewayapi-header-routes", "bluegreen-analysis",
		"canary-analysis-step", "canary-gatewayapi-mirror-route", "canary-gatewayapi-max-traffic-weight",
		"canary-experiment-step", "bluegreen-auto-promotion-seconds", "rollout-paused",
	} {
		files[name] = filepath.ToSlash(filepath.Join(corpusDir("valid"), name+".yaml"))
	}
	for _, name := range []string{"canary-max-traffic-weight-200", "talk-canary", "routed-header-canary", "bluegreen-preview-replicas"} {
		files[name] = filepath.ToSlash(filepath.Join("testdata", "plan", name+".yaml"))
	}
	return files
}

// TestPlanGolden: the plan of each scenario, as a table and as JSON, walked through the
// controller's planner.
func TestPlanGolden(t *testing.T) {
	for name, file := range planScenarios() {
		for _, format := range []string{"table", "json"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				out, errOut, err := runLintGroup(t, "", "plan", "-f", file, "-o", format)
				if err != nil {
					t.Fatalf("plan failed: %v\n%s%s", err, out, errOut)
				}
				golden.Compare(t, filepath.Join("testdata", "plan_"+name+"."+format+".golden"), []byte(out))
			})
		}
	}
}

// TestLintPlanFlag: lint --plan prints the lint result, then the plan.
func TestLintPlanFlag(t *testing.T) {
	out, _, err := runLintGroup(t, shopYAML, "lint", "--plan", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"✔ <stdin>: 2 objects valid", "Rollout/shop (<stdin>): canary, 4 replicas, maxSurge 1, maxUnavailable 1",
		"1     setWeight: 25", "2     pause", "pause until promoted", "done"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}

func TestPlanRefusesInvalid(t *testing.T) {
	file := filepath.Join(corpusDir("invalid"), "rollout-set-weight-over-100.yaml")
	if out, _, err := runLintGroup(t, "", "plan", "-f", file); err == nil {
		t.Errorf("plan of an invalid Rollout succeeded:\n%s", out)
	}
}
