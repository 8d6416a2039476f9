package plan

import (
	"fmt"
	"sort"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// announceWrites records an Event for each write of the plan that people follow with
// `kubectl describe`: a ReplicaSet scaled, a Service switched, an AnalysisRun created. The
// reconciler records a plan's Events only once all its writes are made.
func announceWrites(p *Plan, o Observed) {
	for _, rs := range o.all() {
		want, ok := p.Replicas[rs.Name]
		have := specReplicas(rs)
		if !ok || want == have {
			continue
		}
		direction := "up"
		if want < have {
			direction = "down"
		}
		p.normal(ReasonScalingReplicaSet, fmt.Sprintf("Scaled %s ReplicaSet %s (revision %d) from %d to %d",
			direction, rs.Name, v1alpha1.RevisionOf(rs), have, want))
	}
	names := make([]string, 0, len(p.Selectors))
	for name := range p.Selectors {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		from := ""
		if svc := o.Services[name]; svc != nil {
			from = svc.Spec.Selector[v1alpha1.PodTemplateHashLabel]
		}
		if to := p.Selectors[name]; from != to {
			p.normal(ReasonSwitchService, fmt.Sprintf("Switched selector for service '%s' from '%s' to '%s'", name, from, to))
		}
	}
	for _, run := range p.Analysis.Create {
		p.normal(ReasonAnalysisRunCreated, "Created AnalysisRun "+run.Name)
	}
}
