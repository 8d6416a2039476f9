package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/aviary-dev/aviary/internal/manifests"
)

// runLintGroup runs one command of the lint group and returns its stdout, stderr and error.
func runLintGroup(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	root := &cobra.Command{Use: "aviary", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(lintCommands(o)...)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func corpusDir(name string) string {
	return filepath.Join("..", "..", "test", "manifests", name)
}

// controllerRejects are valid-corpus manifests that the API server accepts but Aviary's
// controller refuses (InvalidSpec), with the controller's message: lint must say so.
var controllerRejects = map[string]string{
	// The corpus keeps Argo's ALB example to prove the CRDs accept it; Aviary only routes
	// through the Gateway API.
	"canary-ping-pong.yaml": "spec.strategy.canary.trafficRouting.alb is not supported",
}

// TestLintValidCorpus: every manifest the API server accepts, lint accepts, except the
// ones the controller itself would refuse, which lint reports with the controller's message.
func TestLintValidCorpus(t *testing.T) {
	cases, err := manifests.Load(corpusDir("valid"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			file := filepath.Join(corpusDir("valid"), c.Name)
			out, _, err := runLintGroup(t, "", "lint", "-f", file)
			if want, ok := controllerRejects[c.Name]; ok {
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if err == nil || len(lines) != 1 || !strings.Contains(lines[0], want) {
					t.Fatalf("want only the controller's %q, got %v:\n%s", want, err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("lint rejected a valid manifest: %v\n%s", err, out)
			}
			if !strings.Contains(out, "✔ "+file+": 1 object valid") {
				t.Errorf("want the ✔ line, got:\n%s", out)
			}
		})
	}
}

// TestLintInvalidCorpus: every manifest the API server rejects, lint rejects, naming the
// same field as the API server's error.
func TestLintInvalidCorpus(t *testing.T) {
	cases, err := manifests.Load(corpusDir("invalid"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			file := filepath.Join(corpusDir("invalid"), c.Name)
			out, _, err := runLintGroup(t, "", "lint", "-f", file)
			if err == nil {
				t.Fatalf("lint accepted an invalid manifest (%s):\n%s", c.Mistake, out)
			}
			if !strings.Contains(out, c.Expect) {
				t.Errorf("want %q in the output:\n%s", c.Expect, out)
			}
			ref := c.Object.GetKind() + "/" + c.Object.GetName()
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if !strings.HasPrefix(line, file+": "+ref+": ") {
					t.Errorf("line does not name the file and object %s: %q", ref, line)
				}
			}
		})
	}
}

const shopYAML = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: shop
spec:
  replicas: 4
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: shop
          image: shop:1
  strategy:
    canary:
      stableService: shop-stable
      canaryService: shop-canary
      steps:
        - setWeight: 25
        - pause: {}
---
apiVersion: v1
kind: Service
metadata:
  name: shop-stable
spec:
  selector: {app: shop}
  ports:
    - port: 80
`

// TestLintControllerChecks: the controller's checks run with the file's Services; a Service
// not in the file is a warning, one that selects other pods an error.
func TestLintControllerChecks(t *testing.T) {
	out, _, err := runLintGroup(t, shopYAML, "lint", "-f", "-")
	if err != nil {
		t.Fatalf("lint failed: %v\n%s", err, out)
	}
	want := `<stdin>: Rollout/shop: warning: spec.strategy.canary.canaryService: Service "shop-canary" is not in this file; it must exist in the cluster
✔ <stdin>: 2 objects valid
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}

	wrong := strings.Replace(shopYAML, "selector: {app: shop}\n  ports", "selector: {app: other}\n  ports", 1)
	out, _, err = runLintGroup(t, wrong, "lint", "-f", "-")
	if err == nil || !strings.Contains(out, `<stdin>: Rollout/shop: spec.strategy.canary.stableService: Service "shop-stable" selects app=other`) {
		t.Errorf("want the Service selector error, got %v:\n%s", err, out)
	}

	typo := strings.Replace(shopYAML, "  replicas: 4", "  replica: 4", 1)
	out, _, err = runLintGroup(t, typo, "lint", "-f", "-")
	if err == nil || !strings.Contains(out, `<stdin>: Rollout/shop: spec.replica: unknown field "spec.replica"`) {
		t.Errorf("want the unknown field, got %v:\n%s", err, out)
	}

	badSvc := strings.Replace(shopYAML, "    - port: 80", "    - port: eighty", 1)
	out, _, err = runLintGroup(t, badSvc, "lint", "-f", "-")
	if err == nil || !strings.Contains(out, "<stdin>: Service/shop-stable: ") {
		t.Errorf("want the Service decoding error, got %v:\n%s", err, out)
	}
}

func TestLintNeedsAFile(t *testing.T) {
	if _, _, err := runLintGroup(t, "", "lint"); err == nil {
		t.Error("lint without -f succeeded")
	}
	if _, _, err := runLintGroup(t, "", "lint", "-f", filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("want a not-exist error, got %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// threeProblemsYAML is a Rollout with three distinct problems: two the API server's CEL rules
// catch (a setWeight over 100, a managed route listed twice) and one only the controller's
// checks catch (a header route that is not among managedRoutes).
var threeProblemsYAML = strings.Replace(shopYAML, "      steps:\n        - setWeight: 25\n        - pause: {}\n", `      trafficRouting:
        managedRoutes:
          - name: beta
          - name: beta
        plugins:
          argoproj-labs/gatewayAPI:
            httpRoute: shop
      steps:
        - setWeight: 150
        - setHeaderRoute:
            name: gamma
            match:
              - headerName: x-beta
                headerValue: {exact: "yes"}
        - pause: {}
`, 1) + `---
apiVersion: v1
kind: Service
metadata:
  name: shop-canary
spec:
  selector: {app: shop}
  ports:
    - port: 80
`

// TestLintReportsEveryProblemOfAnObject: the controller's checks still run when the CRD
// rules found problems, so one lint names all three problems and fails.
func TestLintReportsEveryProblemOfAnObject(t *testing.T) {
	out, _, err := runLintGroup(t, threeProblemsYAML, "lint", "-f", "-")
	if err == nil {
		t.Errorf("lint succeeded on a Rollout with three problems:\n%s", out)
	}
	want := `<stdin>: Rollout/shop: spec.strategy.canary.steps: Invalid value: setWeight must be at most 100, or at most trafficRouting.maxTrafficWeight when that is set
<stdin>: Rollout/shop: spec.strategy.canary.trafficRouting.managedRoutes: Invalid value: managedRoutes names must be unique: setHeaderRoute and setMirrorRoute steps refer to a route by its name; rename or remove the duplicate
<stdin>: Rollout/shop: spec.strategy.canary.steps[1]: route "gamma" is not listed in spec.strategy.canary.trafficRouting.managedRoutes
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// TestLintReportsEveryControllerProblem: the controller's own checks report every problem
// too, not only the first.
func TestLintReportsEveryControllerProblem(t *testing.T) {
	two := strings.Replace(threeProblemsYAML, "        - pause: {}\n", "        - setMirrorRoute:\n            name: delta\n            percentage: 10\n            match:\n              - method: {exact: GET}\n        - pause: {}\n", 1)
	two = strings.Replace(two, "          - name: beta\n          - name: beta\n", "          - name: beta\n", 1)
	two = strings.Replace(two, "        - setWeight: 150\n", "        - setWeight: 50\n", 1)
	out, _, err := runLintGroup(t, two, "lint", "-f", "-")
	if err == nil {
		t.Errorf("lint succeeded on a Rollout with two problems:\n%s", out)
	}
	want := `<stdin>: Rollout/shop: spec.strategy.canary.steps[1]: route "gamma" is not listed in spec.strategy.canary.trafficRouting.managedRoutes
<stdin>: Rollout/shop: spec.strategy.canary.steps[2]: route "delta" is not listed in spec.strategy.canary.trafficRouting.managedRoutes
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// TestLintSaysWhenRulesWereSkipped: after an error that stops the API server's CEL rules (a
// required field is missing), lint says, as the server does, that more may follow.
func TestLintSaysWhenRulesWereSkipped(t *testing.T) {
	missing := strings.Replace(threeProblemsYAML, "        - setHeaderRoute:\n            name: gamma\n", "        - setHeaderRoute:\n", 1)
	out, _, err := runLintGroup(t, missing, "lint", "-f", "-")
	if err == nil {
		t.Errorf("lint succeeded on a Rollout with a missing required field:\n%s", out)
	}
	want := `<stdin>: Rollout/shop: spec.strategy.canary.steps[1].setHeaderRoute.name: Required value
<stdin>: Rollout/shop: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// TestLintWarnsOfStepsAviaryDoesNotRun: experiment and plugin steps are valid but wait until
// promoted; lint warns of each by its index and still passes the file.
func TestLintWarnsOfStepsAviaryDoesNotRun(t *testing.T) {
	steps := `      steps:
        - setWeight: 25
        - experiment:
            templates:
              - name: candidate
                specRef: canary
        - plugin:
            name: acme/smoke-tests
        - pause: {}
`
	manifest := strings.Replace(shopYAML, "      steps:\n        - setWeight: 25\n        - pause: {}\n", steps, 1)
	manifest = strings.Replace(manifest, "      canaryService: shop-canary\n", "", 1)
	out, _, err := runLintGroup(t, manifest, "lint", "-f", "-")
	if err != nil {
		t.Fatalf("warnings failed the lint: %v\n%s", err, out)
	}
	want := `<stdin>: Rollout/shop: warning: spec.strategy.canary.steps[1].experiment: Aviary does not run experiment steps yet; the rollout will wait at this step until promoted (kubectl aviary promote)
<stdin>: Rollout/shop: warning: spec.strategy.canary.steps[2].plugin: Aviary does not run plugin steps yet; the rollout will wait at this step until promoted (kubectl aviary promote)
✔ <stdin>: 2 objects valid
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}
