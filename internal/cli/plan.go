package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
	"github.com/aviary-dev/aviary/internal/rollout/replicas"
)

func newPlanCommand(o *Options) *cobra.Command {
	var files []string
	var output string
	cmd := &cobra.Command{
		Use:   "plan -f FILE",
		Short: "Dry-run a release: the weights, routes and replica counts each step goes through",
		Long: `Print, for each Rollout of the files, what a release will go through: per canary step
the traffic weight, the replica counts the canary and stable settle at, the header and mirror
routes in force, pauses and analysis; for blue-green the preview, promotion and scale-down
phases. The files are linted first; nothing is planned when lint finds a problem.`,
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

// RolloutPlan is the dry run of one Rollout's release.
type RolloutPlan struct {
	File     string `json:"file"`
	Name     string `json:"name"`
	Strategy string `json:"strategy"` // "canary" or "blueGreen"
	Replicas int32  `json:"replicas"`
	// TrafficRouting: the canary is sized by a traffic router (no surge stepping).
	TrafficRouting bool `json:"trafficRouting,omitempty"`
	// MaxSurge and MaxUnavailable are resolved to pods (basic canary only).
	MaxSurge       *int32      `json:"maxSurge,omitempty"`
	MaxUnavailable *int32      `json:"maxUnavailable,omitempty"`
	Steps          []PlanStep  `json:"steps,omitempty"`
	Phases         []PlanPhase `json:"phases,omitempty"`
}

// PlanStep is the state a canary settles at during one step; Step 0 is "all steps done".
type PlanStep struct {
	Step         int      `json:"step"`
	Description  string   `json:"description"`
	Weight       int32    `json:"weight"`
	Canary       int32    `json:"canaryReplicas"`
	Stable       int32    `json:"stableReplicas"`
	HeaderRoutes []string `json:"headerRoutes,omitempty"`
	MirrorRoutes []string `json:"mirrorRoutes,omitempty"`
	Wait         string   `json:"wait,omitempty"`
}

// PlanPhase is one phase of a blue-green release.
type PlanPhase struct {
	Phase   string `json:"phase"`
	Active  string `json:"active"`
	Preview string `json:"preview,omitempty"`
	Detail  string `json:"detail,omitempty"`
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

func planRollout(ro *v1alpha1.Rollout) (RolloutPlan, error) {
	p := RolloutPlan{Name: ro.Name, Replicas: ro.Spec.ReplicasOrDefault()}
	switch {
	case ro.Spec.Strategy.Canary != nil:
		p.Strategy = "canary"
		return p, planCanary(&p, ro.Spec.Strategy.Canary)
	case ro.Spec.Strategy.BlueGreen != nil:
		p.Strategy = "blueGreen"
		planBlueGreen(&p, ro.Spec.Strategy.BlueGreen)
	}
	return p, nil
}

func planCanary(p *RolloutPlan, c *v1alpha1.CanaryStrategy) error {
	p.TrafficRouting = c.TrafficRouting != nil
	var surge int32
	if !p.TrafficRouting {
		s, u, err := replicas.ResolveSurgeUnavailable(p.Replicas, c.MaxSurgeOrDefault(), c.MaxUnavailableOrDefault())
		if err != nil {
			return err
		}
		surge = s
		p.MaxSurge, p.MaxUnavailable = &s, &u
	}
	sizes := func(index int32) (canary, stable int32) {
		weight := plan.WeightAt(c.Steps, index)
		if !p.TrafficRouting {
			return replicas.BasicCanaryTargets(p.Replicas, weight, surge)
		}
		in := replicas.TrafficRoutedInput{
			Replicas:             p.Replicas,
			Weight:               weight,
			MinPodsPerReplicaSet: c.MinPodsPerReplicaSet,
			DynamicStableScale:   c.DynamicStableScale,
			// Settled: the router applies the step's weight.
			Actual: &replicas.TrafficWeights{Canary: weight, Stable: 100 - weight},
		}
		if s := plan.CanaryScaleAt(c.Steps, index); s != nil {
			in.Scale = &replicas.CanaryScale{Replicas: s.Replicas, Weight: s.Weight, MatchTrafficWeight: s.MatchTrafficWeight}
		}
		return replicas.TrafficRoutedCanary(in)
	}

	headers, mirrors := map[string]string{}, map[string]string{}
	for i, s := range c.Steps {
		index := int32(i)
		step := PlanStep{Step: i + 1, Description: plan.DescribeStep(s), Weight: plan.WeightAt(c.Steps, index)}
		step.Canary, step.Stable = sizes(index)
		switch {
		case s.SetHeaderRoute != nil:
			setRoute(headers, s.SetHeaderRoute.Name, len(s.SetHeaderRoute.Match) > 0, headerMatch(s.SetHeaderRoute))
		case s.SetMirrorRoute != nil:
			setRoute(mirrors, s.SetMirrorRoute.Name, len(s.SetMirrorRoute.Match) > 0, mirrorDetail(s.SetMirrorRoute))
		case s.Pause != nil:
			if d, ok := plan.PauseDuration(s.Pause); ok {
				step.Wait = "pause " + d.String()
			} else {
				step.Wait = "pause until promoted"
			}
		case s.Analysis != nil:
			step.Wait = "analysis " + templateNames(s.Analysis.Templates) + " must pass"
		case s.Experiment != nil:
			step.Wait = experimentDetail(s.Experiment)
		case s.Plugin != nil:
			step.Wait = "plugin " + s.Plugin.Name + " must finish"
		}
		step.HeaderRoutes, step.MirrorRoutes = routeList(headers), routeList(mirrors)
		if p.TrafficRouting && (len(headers) > 0 || len(mirrors) > 0) {
			// As the controller does: a header or mirror route needs canary pods to answer.
			step.Canary = max(step.Canary, 1, ptr.Deref(c.MinPodsPerReplicaSet, 0))
		}
		p.Steps = append(p.Steps, step)
	}
	// Once every step is done the new version is the stable one, fully scaled, and the old
	// ReplicaSet is scaled away (after scaleDownDelaySeconds with traffic routing).
	done := PlanStep{Step: 0, Description: "promoted: canary becomes stable", Weight: 100, Canary: p.Replicas}
	p.Steps = append(p.Steps, done)
	return nil
}

// setRoute adds a route, or removes it when the step sets it without a match (as Argo does).
func setRoute(routes map[string]string, name string, add bool, detail string) {
	if add {
		routes[name] = detail
	} else {
		delete(routes, name)
	}
}

func routeList(routes map[string]string) []string {
	var out []string
	for name, detail := range routes {
		out = append(out, name+detail)
	}
	sort.Strings(out)
	return out
}

func headerMatch(r *v1alpha1.SetHeaderRoute) string {
	var parts []string
	for _, m := range r.Match {
		v := m.HeaderValue
		switch {
		case v == nil:
			parts = append(parts, m.HeaderName)
		case v.Exact != "":
			parts = append(parts, m.HeaderName+"="+v.Exact)
		case v.Prefix != "":
			parts = append(parts, m.HeaderName+"="+v.Prefix+"*")
		case v.Regex != "":
			parts = append(parts, m.HeaderName+"~"+v.Regex)
		}
	}
	return " (" + strings.Join(parts, ",") + ")"
}

func mirrorDetail(r *v1alpha1.SetMirrorRoute) string {
	pct := int32(100)
	if r.Percentage != nil {
		pct = *r.Percentage
	}
	return fmt.Sprintf(" (%d%%)", pct)
}

func templateNames(refs []v1alpha1.AnalysisTemplateRef) string {
	names := make([]string, len(refs))
	for i, t := range refs {
		names[i] = t.TemplateName
	}
	return strings.Join(names, ",")
}

func experimentDetail(e *v1alpha1.RolloutExperimentStep) string {
	names := make([]string, len(e.Templates))
	for i, t := range e.Templates {
		names[i] = t.Name
	}
	s := "experiment " + strings.Join(names, ",")
	if e.Duration != "" {
		s += " for " + string(e.Duration)
	} else {
		s += " until its analyses finish"
	}
	return s
}

func planBlueGreen(p *RolloutPlan, bg *v1alpha1.BlueGreenStrategy) {
	n := p.Replicas
	preview := n
	if bg.PreviewReplicaCount != nil {
		preview = *bg.PreviewReplicaCount
	}
	previewSvc := "no preview Service"
	if bg.PreviewService != "" {
		previewSvc = "Service " + bg.PreviewService
	}
	p.Phases = append(p.Phases, PlanPhase{
		Phase: "preview", Active: fmt.Sprintf("old (%d pods)", n), Preview: fmt.Sprintf("new (%d pods)", preview),
		Detail: fmt.Sprintf("new ReplicaSet scaled to %d behind %s; %s keeps the old", preview, previewSvc, bg.ActiveService),
	})
	if bg.PrePromotionAnalysis != nil {
		p.Phases = append(p.Phases, PlanPhase{
			Phase: "pre-promotion analysis", Active: fmt.Sprintf("old (%d pods)", n), Preview: fmt.Sprintf("new (%d pods)", preview),
			Detail: "analysis " + templateNames(bg.PrePromotionAnalysis.Templates) + " must pass",
		})
	}
	wait := "pause until promoted"
	switch {
	case bg.AutoPromotionSeconds > 0:
		wait = fmt.Sprintf("auto-promote after %ds", bg.AutoPromotionSeconds)
	case bg.AutoPromotionEnabledOrDefault():
		wait = "auto-promote once the new pods are available"
	}
	p.Phases = append(p.Phases, PlanPhase{
		Phase: "promotion", Active: fmt.Sprintf("new (%d pods)", n), Preview: fmt.Sprintf("new (%d pods)", n),
		Detail: fmt.Sprintf("%s; new scaled to %d, then %s switches to it", wait, n, bg.ActiveService),
	})
	if bg.PostPromotionAnalysis != nil {
		p.Phases = append(p.Phases, PlanPhase{
			Phase: "post-promotion analysis", Active: fmt.Sprintf("new (%d pods)", n),
			Detail: "analysis " + templateNames(bg.PostPromotionAnalysis.Templates) + " must pass",
		})
	}
	p.Phases = append(p.Phases, PlanPhase{
		Phase: "scale-down", Active: fmt.Sprintf("new (%d pods)", n),
		Detail: fmt.Sprintf("old ReplicaSet scaled to 0 after %ds", bg.ScaleDownDelaySecondsOrDefault()),
	})
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
	case p.MaxSurge != nil:
		fmt.Fprintf(w, ", maxSurge %d, maxUnavailable %d", *p.MaxSurge, *p.MaxUnavailable)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if p.Strategy == "blueGreen" {
		fmt.Fprintln(tw, "PHASE\tACTIVE\tPREVIEW\tDETAIL")
		for _, ph := range p.Phases {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ph.Phase, ph.Active, dash(ph.Preview), ph.Detail)
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
		fmt.Fprintf(tw, "%s\t%s\t%d%%\t%d\t%d\t%s\t%s\t%s\n", step, s.Description, s.Weight, s.Canary, s.Stable,
			dash(strings.Join(s.HeaderRoutes, " ")), dash(strings.Join(s.MirrorRoutes, " ")), dash(s.Wait))
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
