package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanGolden: the plan of a few corpus Rollouts, as a table and as JSON.
func TestPlanGolden(t *testing.T) {
	for _, name := range []string{"canary-set-weight-pause", "canary-set-canary-scale", "canary-gatewayapi-header-routes", "bluegreen-analysis"} {
		for _, format := range []string{"table", "json"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				file := filepath.ToSlash(filepath.Join(corpusDir("valid"), name+".yaml"))
				out, errOut, err := runLintGroup(t, "", "plan", "-f", file, "-o", format)
				if err != nil {
					t.Fatalf("plan failed: %v\n%s%s", err, out, errOut)
				}
				golden := filepath.Join("testdata", "plan_"+name+"."+format+".golden")
				if *update {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./internal/cli -run TestPlanGolden -update)", err)
				}
				if out != string(want) {
					t.Errorf("plan differs from %s:\n--- got\n%s\n--- want\n%s", golden, out, want)
				}
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
