package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/replicas"
)

func newPlanCommand(o *Options) *cobra.Command {
	var files []string
	var output string
	cmd := &cobra.Command{
		Use:   "plan -f FILE",
		Short: "Dry-run a release: the weights, routes and replica counts each step goes through",
		Long: `Print, for each Rollout of the files, what the controller does when a new version is
released: per canary step the share of requests the new version gets (the routes' weight out
of maxTrafficWeight with traffic routing), the replica counts the new and old ReplicaSets
settle at, the header and mirror routes in force, and what the step waits for; for blue-green
each point where the release waits (analysis, promotion, scale-down delay). The controller's
own planner is run against a simulated cluster where pods start at once, every AnalysisRun
succeeds and a human promotes whenever the release waits for one. The files are linted
first; nothing is planned when lint finds a problem.`,
		Example: `  kubectl aviary plan -f rollout.yaml
  kubectl aviary plan -f rollout.yaml -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return fmt.Errorf("plan needs at least one file: -f FILE (or -f - for stdin)")
			}
			results, err := lintFiles(o.In, files)
			if err != nil {
				return err
			}
			failed := false
			for _, r := range results {
				for _, f := range r.Findings {
					if f.Warning {
						fmt.Fprintln(o.ErrOut, f.String(r.File))
					} else {
						failed = true
						fmt.Fprintln(o.Out, f.String(r.File))
					}
				}
			}
			if failed {
				return errLintFailed
			}
			return printPlans(o.Out, results, output)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, `file to plan ("-" for stdin); repeatable`)
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: table (default) or json")
	return cmd
}

// RolloutPlan is the dry run of one Rollout's release: what the controller does when a new
// version replaces the stable one, found by running the controller's own planner against a
// simulated cluster (package sim) in which pods start at once, analysis succeeds and a human
// promotes whenever the release waits for one.
type RolloutPlan struct {
	File     string `json:"file"`
	Name     string `json:"name"`
	Strategy string `json:"strategy"` // "canary" or "blueGreen"
	Replicas int32  `json:"replicas"`
	// TrafficRouting: the canary is sized by a traffic router (no surge stepping).
	TrafficRouting bool `json:"trafficRouting,omitempty"`
	// MaxTrafficWeight is the total the routes' weights add up to, when not 100.
	MaxTrafficWeight *int32 `json:"maxTrafficWeight,omitempty"`
	// MaxSurge and MaxUnavailable are resolved to pods (basic canary only).
	MaxSurge       *int32      `json:"maxSurge,omitempty"`
	MaxUnavailable *int32      `json:"maxUnavailable,omitempty"`
	Steps          []PlanStep  `json:"steps,omitempty"`
	Phases         []PlanPhase `json:"phases,omitempty"`
}

// PlanStep is the state a canary settles at during one step, before the controller moves to
// the next; Step 0 is "all steps done", once the old version is gone.
type PlanStep struct {
	Step        int    `json:"step"`
	Description string `json:"description"`
	// Weight is the percentage of requests that reach the new version: the routes' canary
	// weight out of maxTrafficWeight, or the new version's share of the pods without routing.
	Weight float64 `json:"weight"`
	// Canary and Stable are the replicas of the new and of the old ReplicaSet.
	Canary       int32    `json:"canaryReplicas"`
	Stable       int32    `json:"stableReplicas"`
	HeaderRoutes []string `json:"headerRoutes,omitempty"`
	MirrorRoutes []string `json:"mirrorRoutes,omitempty"`
	// Wait is what the step waited for before the controller moved on.
	Wait string `json:"wait,omitempty"`
}

// PlanPhase is one moment of a blue-green release where the controller waits, and the end.
type PlanPhase struct {
	Phase string `json:"phase"`
	// Active and Preview say which version ("old" or "new") each Service selects.
	Active  string `json:"active"`
	Preview string `json:"preview,omitempty"`
	// New and Old are the replicas of the new and of the old ReplicaSet.
	New  int32  `json:"newReplicas"`
	Old  int32  `json:"oldReplicas"`
	Wait string `json:"wait,omitempty"`

	waited time.Duration // the time Wait stands for, while it grows
}

// buildPlans plans every Rollout of the results, in file order.
func buildPlans(results []fileResult) ([]RolloutPlan, error) {
	var plans []RolloutPlan
	for _, r := range results {
		for _, l := range r.Objects {
			if l.Rollout == nil {
				continue
			}
			p, err := planRollout(l.Rollout)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", r.File, l.ref(), err)
			}
			p.File = r.File
			plans = append(plans, p)
		}
	}
	return plans, nil
}

// planRollout walks a release of the Rollout and reports it.
func planRollout(ro *v1alpha1.Rollout) (RolloutPlan, error) {
	p := RolloutPlan{Name: ro.Name, Replicas: ro.Spec.ReplicasOrDefault()}
	if c := ro.Spec.Strategy.Canary; c != nil {
		p.Strategy = "canary"
		p.TrafficRouting = c.TrafficRouting != nil
		p.MaxTrafficWeight = maxTrafficWeight(ro)
		if !p.TrafficRouting {
			surge, unavailable, err := replicas.ResolveSurgeUnavailable(p.Replicas, c.MaxSurgeOrDefault(), c.MaxUnavailableOrDefault())
			if err != nil {
				return p, err
			}
			p.MaxSurge, p.MaxUnavailable = &surge, &unavailable
		}
	} else {
		p.Strategy = "blueGreen"
	}
	k, err := walkRollout(ro)
	if err != nil {
		return p, err
	}
	if p.Strategy == "canary" {
		p.Steps = k.canarySteps()
	} else {
		p.Phases = k.phases
	}
	return p, nil
}

// printPlans prints the plans as tables, or as a JSON list with -o json.
func printPlans(w io.Writer, results []fileResult, output string) error {
	plans, err := buildPlans(results)
	if err != nil {
		return err
	}
	switch output {
	case "json":
		if plans == nil {
			plans = []RolloutPlan{}
		}
		b, err := json.MarshalIndent(plans, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	case "", "table", "wide":
	default:
		return fmt.Errorf("unsupported output format %q: use table or json", output)
	}
	for i, p := range plans {
		if i > 0 {
			fmt.Fprintln(w)
		}
		printPlan(w, p)
	}
	if len(plans) == 0 {
		fmt.Fprintln(w, "No Rollouts to plan.")
	}
	return nil
}

func printPlan(w io.Writer, p RolloutPlan) {
	fmt.Fprintf(w, "Rollout/%s (%s): %s, %s", p.Name, p.File, p.Strategy, plural(int(p.Replicas), "replica"))
	switch {
	case p.TrafficRouting:
		fmt.Fprint(w, ", traffic routing")
		if p.MaxTrafficWeight != nil {
			fmt.Fprintf(w, ", maxTrafficWeight %d", *p.MaxTrafficWeight)
		}
	case p.MaxSurge != nil:
		fmt.Fprintf(w, ", maxSurge %d, maxUnavailable %d", *p.MaxSurge, *p.MaxUnavailable)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if p.Strategy == "blueGreen" {
		fmt.Fprintln(tw, "PHASE\tACTIVE\tPREVIEW\tNEW\tOLD\tWAIT")
		for _, ph := range p.Phases {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", ph.Phase, ph.Active, dash(ph.Preview), ph.New, ph.Old, dash(ph.Wait))
		}
		_ = tw.Flush()
		return
	}
	fmt.Fprintln(tw, "STEP\tACTION\tWEIGHT\tCANARY\tSTABLE\tHEADER ROUTES\tMIRROR ROUTES\tWAIT")
	for _, s := range p.Steps {
		step := fmt.Sprint(s.Step)
		if s.Step == 0 {
			step = "done"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", step, s.Description, percentText(s.Weight), s.Canary, s.Stable,
			dash(strings.Join(s.HeaderRoutes, " ")), dash(strings.Join(s.MirrorRoutes, " ")), dash(s.Wait))
	}
	_ = tw.Flush()
}

// percentText prints a percentage with no more decimals than it has.
func percentText(pct float64) string { return strconv.FormatFloat(pct, 'f', -1, 64) + "%" }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
