package cli

// The info layer: plain objects in, the view model of `get rollout` / `get experiment` /
// `list rollouts` out. Nothing here talks to the API server or reads the clock, so the views
// can be tested from fixed objects.

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/utils/ptr"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/rollout/plan"
)

// Node and status glyphs, as Argo's CLI prints them.
const (
	glyphRollout     = "⟳"
	glyphRevision    = "#"
	glyphReplicaSet  = "⧉"
	glyphPod         = "□"
	glyphExperiment  = "Σ"
	glyphAnalysisRun = "α"

	glyphOK          = "✔"
	glyphBad         = "✖"
	glyphProgressing = "◌"
	glyphWaiting     = "◷"
	glyphWarning     = "⚠"
	glyphUnknown     = "?"
	glyphPaused      = "॥"
	glyphNeutral     = "•"
)

// Tags of a ReplicaSet's role, shown in the INFO column and after the images.
const (
	tagStable  = "stable"
	tagCanary  = "canary"
	tagActive  = "active"
	tagPreview = "preview"
)

// imageView is an image and the roles of the ReplicaSets that run it.
type imageView struct {
	Image string
	Tags  []string
}

// String is "image (tag, tag)", or the bare image when it has no tag.
func (i imageView) String() string {
	if len(i.Tags) == 0 {
		return i.Image
	}
	return fmt.Sprintf("%s (%s)", i.Image, strings.Join(i.Tags, ", "))
}

// rolloutView is what `get rollout` shows.
type rolloutView struct {
	Name, Namespace string
	Status          string // the phase: Healthy, Paused, Progressing, Degraded
	Icon            string
	Message         string
	Strategy        string // Canary or BlueGreen
	// Canary only; Step is empty when the strategy has no steps.
	Step, SetWeight, ActualWeight string
	Images                        []imageView
	Desired, Current, Updated     int32
	Ready, Available              int32
	Age                           string
	Revisions                     []revisionView
}

// revisionView groups the objects of one revision of the pod template.
type revisionView struct {
	Revision     int64
	ReplicaSets  []replicaSetView
	Experiments  []experimentView
	AnalysisRuns []analysisRunView
}

type replicaSetView struct {
	Name, Status, Icon, Age string
	Revision                int64
	Hash                    string
	Info                    []string // tags, then delay:<t>
	Images                  []string
	Desired, Available      int32
	Pods                    []podView
}

type podView struct {
	Name, Status, Icon, Age string
	Ready                   string // "x/y"
	Restarts                int32
}

// Info is Argo's INFO column for a pod: ready:x/y and, when any, restarts:n.
func (p podView) Info() []string {
	info := []string{"ready:" + p.Ready}
	if p.Restarts > 0 {
		info = append(info, fmt.Sprintf("restarts:%d", p.Restarts))
	}
	return info
}

type analysisRunView struct {
	Name, Status, Icon, Age                 string
	Revision                                int64
	Successful, Failed, Inconclusive, Error int32
}

// Info is the counts of the run's metrics: ✔ successful, ✖ failed, ? inconclusive, ⚠ error.
func (a analysisRunView) Info() []string {
	var info []string
	for _, c := range []struct {
		glyph string
		n     int32
	}{{glyphOK, a.Successful}, {glyphBad, a.Failed}, {glyphUnknown, a.Inconclusive}, {glyphWarning, a.Error}} {
		if c.n > 0 {
			info = append(info, fmt.Sprintf("%s %d", c.glyph, c.n))
		}
	}
	return info
}

// experimentView is what `get experiment` shows, and an Experiment node of the rollout tree.
type experimentView struct {
	Name, Namespace, Status, Icon, Message, Age string
	Revision                                    int64
	Images                                      []imageView
	ReplicaSets                                 []replicaSetView
	AnalysisRuns                                []analysisRunView
}

// rolloutObjects are the objects a rollout's view is computed from.
type rolloutObjects struct {
	Rollout      *v1alpha1.Rollout
	ReplicaSets  []appsv1.ReplicaSet
	Pods         []corev1.Pod
	AnalysisRuns []v1alpha1.AnalysisRun
	Experiments  []v1alpha1.Experiment
}

// humanAge is kubectl's short age ("34s", "5m", "7d"), or "" for an unset time.
func humanAge(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// rolloutPhase returns the phase, its icon and the message of a rollout.
func rolloutPhase(ro *v1alpha1.Rollout) (phase, icon, message string) {
	phase = string(ro.Status.Phase)
	message = ro.Status.Message
	if phase == "" {
		phase = string(v1alpha1.RolloutPhaseProgressing)
		if message == "" {
			message = "waiting for rollout spec update to be observed"
		}
	}
	return phase, phaseGlyph(phase), message
}

// phaseGlyph maps a rollout phase, or an analysis/experiment/template phase, to its icon.
func phaseGlyph(phase string) string {
	switch phase {
	case string(v1alpha1.RolloutPhaseHealthy), string(v1alpha1.AnalysisPhaseSuccessful):
		return glyphOK
	case string(v1alpha1.RolloutPhaseDegraded), string(v1alpha1.AnalysisPhaseFailed):
		return glyphBad
	case string(v1alpha1.RolloutPhasePaused):
		return glyphPaused
	case string(v1alpha1.RolloutPhaseProgressing), string(v1alpha1.AnalysisPhaseRunning):
		return glyphProgressing
	case string(v1alpha1.AnalysisPhasePending):
		return glyphWaiting
	case string(v1alpha1.AnalysisPhaseError):
		return glyphWarning
	case string(v1alpha1.AnalysisPhaseInconclusive):
		return glyphUnknown
	case "ScaledDown":
		return glyphNeutral
	default:
		return glyphUnknown
	}
}

// strategyName is "Canary" or "BlueGreen" (a rollout without a strategy is a canary).
func strategyName(ro *v1alpha1.Rollout) string {
	if ro.Spec.Strategy.BlueGreen != nil {
		return "BlueGreen"
	}
	return "Canary"
}

// stepText is "i/N": the current step index of N canary steps; "" without steps.
func stepText(ro *v1alpha1.Rollout) string {
	c := ro.Spec.Strategy.Canary
	if ro.Spec.Strategy.BlueGreen != nil || c == nil || len(c.Steps) == 0 {
		return ""
	}
	idx := int32(0)
	if ro.Status.CurrentStepIndex != nil {
		idx = *ro.Status.CurrentStepIndex
	}
	return fmt.Sprintf("%d/%d", idx, len(c.Steps))
}

// currentSetWeight is the weight of the last setWeight step at or before the current step:
// 100 once every step is done (or without steps), 0 before the first setWeight, and 0 when
// aborted (traffic is back on the stable version).
func currentSetWeight(ro *v1alpha1.Rollout) int32 {
	c := ro.Spec.Strategy.Canary
	if c == nil || ro.Status.Abort {
		return 0
	}
	return plan.WeightAt(c.Steps, ptr.Deref(ro.Status.CurrentStepIndex, 0))
}

// actualWeight is the share of traffic the canary gets. With traffic routing it is the weight
// last set on the routers; without, the canary's share of the available pods, as a percentage.
func actualWeight(ro *v1alpha1.Rollout, rss []appsv1.ReplicaSet) int32 {
	c := ro.Spec.Strategy.Canary
	if c == nil {
		return 0
	}
	if c.TrafficRouting != nil {
		if w := ro.Status.Canary.Weights; w != nil {
			return w.Canary.Weight
		}
		return 0
	}
	var canary, total int32
	for i := range rss {
		total += rss[i].Status.AvailableReplicas
		if ro.Status.CurrentPodHash != "" && rsHash(&rss[i]) == ro.Status.CurrentPodHash {
			canary += rss[i].Status.AvailableReplicas
		}
	}
	if total == 0 {
		return 0
	}
	return canary * 100 / total
}

// rsHash is a ReplicaSet's pod-template hash, from its template when its own labels lack it.
func rsHash(rs *appsv1.ReplicaSet) string {
	if h := v1alpha1.HashOf(rs); h != "" {
		return h
	}
	return rs.Spec.Template.Labels[v1alpha1.PodTemplateHashLabel]
}

func revisionOf(obj metav1.Object) int64 { return v1alpha1.RevisionIn(obj.GetAnnotations()) }

func ownedBy(obj metav1.Object, uid types.UID) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == uid {
			return true
		}
	}
	return false
}

// replicaSetTags are the roles of a rollout's ReplicaSet, in Argo's order.
func replicaSetTags(ro *v1alpha1.Rollout, hash string) []string {
	var tags []string
	if hash == "" {
		return nil
	}
	stable := hash == ro.Status.StableRS
	if stable {
		tags = append(tags, tagStable)
	}
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		active := ro.Status.BlueGreen.ActiveSelector
		preview := ro.Status.BlueGreen.PreviewSelector
		if hash == active {
			tags = append(tags, tagActive)
		}
		if hash == preview && preview != active {
			tags = append(tags, tagPreview)
		}
		return tags
	}
	canary := !stable && hash == ro.Status.CurrentPodHash
	if canary {
		tags = append(tags, tagCanary)
	}
	if c := ro.Spec.Strategy.Canary; c != nil && c.PingPong != nil && ro.Status.Canary.StablePingPong != "" {
		switch {
		case stable:
			tags = append(tags, string(ro.Status.Canary.StablePingPong))
		case canary:
			if ro.Status.Canary.StablePingPong == v1alpha1.PPPing {
				tags = append(tags, string(v1alpha1.PPPong))
			} else {
				tags = append(tags, string(v1alpha1.PPPing))
			}
		}
	}
	return tags
}

// buildReplicaSetView computes a ReplicaSet node and its pods.
func buildReplicaSetView(rs *appsv1.ReplicaSet, tags []string, pods []corev1.Pod, now time.Time) replicaSetView {
	desired := int32(1)
	if rs.Spec.Replicas != nil {
		desired = *rs.Spec.Replicas
	}
	v := replicaSetView{
		Name:      rs.Name,
		Age:       humanAge(rs.CreationTimestamp, now),
		Revision:  revisionOf(rs),
		Hash:      rsHash(rs),
		Info:      append([]string(nil), tags...),
		Desired:   desired,
		Available: rs.Status.AvailableReplicas,
	}
	switch {
	case desired == 0 && rs.Status.Replicas == 0:
		v.Status = "ScaledDown"
	case rs.Status.AvailableReplicas < desired || rs.Status.Replicas > desired:
		v.Status = "Progressing"
	default:
		v.Status = "Healthy"
	}
	v.Icon = phaseGlyph(v.Status)
	if v.Status == "Progressing" {
		v.Icon = glyphProgressing
	}
	if d, ok := rs.Annotations[v1alpha1.ScaleDownDeadlineAnnotation]; ok && desired > 0 {
		if t, err := time.Parse(time.RFC3339, d); err == nil {
			if left := t.Sub(now).Truncate(time.Second); left > 0 {
				v.Info = append(v.Info, "delay:"+left.String())
			} else {
				v.Info = append(v.Info, "delay:passed")
			}
		}
	}
	for _, c := range rs.Spec.Template.Spec.Containers {
		v.Images = append(v.Images, c.Image)
	}
	for i := range pods {
		if ownedBy(&pods[i], rs.UID) {
			v.Pods = append(v.Pods, buildPodView(&pods[i], now))
		}
	}
	sort.Slice(v.Pods, func(i, j int) bool { return v.Pods[i].Name < v.Pods[j].Name })
	return v
}

func buildAnalysisRunView(ar *v1alpha1.AnalysisRun, now time.Time) analysisRunView {
	phase := string(ar.Status.Phase)
	if phase == "" {
		phase = string(v1alpha1.AnalysisPhasePending)
	}
	s := ar.Status.RunSummary
	return analysisRunView{
		Name: ar.Name, Status: phase, Icon: phaseGlyph(phase),
		Age:        humanAge(ar.CreationTimestamp, now),
		Revision:   revisionOf(ar),
		Successful: s.Successful, Failed: s.Failed, Inconclusive: s.Inconclusive, Error: s.Error,
	}
}

// buildExperimentView computes an Experiment node from the experiment and the ReplicaSets,
// pods and AnalysisRuns it owns (others in the lists are ignored).
func buildExperimentView(ex *v1alpha1.Experiment, rss []appsv1.ReplicaSet, pods []corev1.Pod,
	ars []v1alpha1.AnalysisRun, now time.Time) experimentView {
	phase := string(ex.Status.Phase)
	if phase == "" {
		phase = string(v1alpha1.AnalysisPhasePending)
	}
	v := experimentView{
		Name: ex.Name, Namespace: ex.Namespace, Status: phase, Icon: phaseGlyph(phase),
		Message: ex.Status.Message, Age: humanAge(ex.CreationTimestamp, now), Revision: revisionOf(ex),
	}
	seen := map[string]bool{}
	for i := range rss {
		if !ownedBy(&rss[i], ex.UID) {
			continue
		}
		rv := buildReplicaSetView(&rss[i], nil, pods, now)
		v.ReplicaSets = append(v.ReplicaSets, rv)
		for _, img := range rv.Images {
			if !seen[img] {
				seen[img] = true
				v.Images = append(v.Images, imageView{Image: img})
			}
		}
	}
	sort.Slice(v.ReplicaSets, func(i, j int) bool { return v.ReplicaSets[i].Name < v.ReplicaSets[j].Name })
	for i := range ars {
		if ownedBy(&ars[i], ex.UID) {
			v.AnalysisRuns = append(v.AnalysisRuns, buildAnalysisRunView(&ars[i], now))
		}
	}
	sort.Slice(v.AnalysisRuns, func(i, j int) bool { return v.AnalysisRuns[i].Name < v.AnalysisRuns[j].Name })
	return v
}

// buildRolloutView computes what `get rollout` shows from a rollout and its objects, at now.
// Objects not owned by the rollout (or, for ReplicaSets, pods and AnalysisRuns, by one of its
// experiments or ReplicaSets) are ignored.
func buildRolloutView(objs rolloutObjects, now time.Time) rolloutView {
	ro := objs.Rollout
	v := rolloutView{
		Name: ro.Name, Namespace: ro.Namespace, Strategy: strategyName(ro),
		Current: ro.Status.Replicas, Updated: ro.Status.UpdatedReplicas,
		Ready: ro.Status.ReadyReplicas, Available: ro.Status.AvailableReplicas,
		Age: humanAge(ro.CreationTimestamp, now), Desired: 1,
	}
	if ro.Spec.Replicas != nil {
		v.Desired = *ro.Spec.Replicas
	}
	v.Status, v.Icon, v.Message = rolloutPhase(ro)

	var own []appsv1.ReplicaSet
	for i := range objs.ReplicaSets {
		if ownedBy(&objs.ReplicaSets[i], ro.UID) {
			own = append(own, objs.ReplicaSets[i])
		}
	}
	if v.Strategy == "Canary" {
		v.Step = stepText(ro)
		v.SetWeight = strconv.Itoa(int(currentSetWeight(ro)))
		v.ActualWeight = strconv.Itoa(int(actualWeight(ro, own)))
	}

	revs := map[int64]*revisionView{}
	rev := func(n int64) *revisionView {
		if r, ok := revs[n]; ok {
			return r
		}
		r := &revisionView{Revision: n}
		revs[n] = r
		return r
	}
	hashRevision := map[string]int64{}
	for i := range own {
		tags := replicaSetTags(ro, rsHash(&own[i]))
		rv := buildReplicaSetView(&own[i], tags, objs.Pods, now)
		hashRevision[rv.Hash] = rv.Revision
		r := rev(rv.Revision)
		r.ReplicaSets = append(r.ReplicaSets, rv)
	}
	// An AnalysisRun or Experiment without a revision annotation belongs to the revision of
	// the pod-template hash it was started for.
	objRevision := func(obj metav1.Object) int64 {
		if n := revisionOf(obj); n != 0 {
			return n
		}
		return hashRevision[obj.GetLabels()[v1alpha1.PodTemplateHashLabel]]
	}
	for i := range objs.Experiments {
		ex := &objs.Experiments[i]
		if !ownedBy(ex, ro.UID) {
			continue
		}
		ev := buildExperimentView(ex, objs.ReplicaSets, objs.Pods, objs.AnalysisRuns, now)
		ev.Revision = objRevision(ex)
		r := rev(ev.Revision)
		r.Experiments = append(r.Experiments, ev)
	}
	for i := range objs.AnalysisRuns {
		ar := &objs.AnalysisRuns[i]
		if !ownedBy(ar, ro.UID) {
			continue
		}
		av := buildAnalysisRunView(ar, now)
		av.Revision = objRevision(ar)
		r := rev(av.Revision)
		r.AnalysisRuns = append(r.AnalysisRuns, av)
	}
	for _, r := range revs {
		sort.Slice(r.ReplicaSets, func(i, j int) bool { return r.ReplicaSets[i].Name < r.ReplicaSets[j].Name })
		sort.Slice(r.Experiments, func(i, j int) bool { return r.Experiments[i].Name < r.Experiments[j].Name })
		sort.Slice(r.AnalysisRuns, func(i, j int) bool { return r.AnalysisRuns[i].Name < r.AnalysisRuns[j].Name })
		v.Revisions = append(v.Revisions, *r)
	}
	sort.Slice(v.Revisions, func(i, j int) bool { return v.Revisions[i].Revision > v.Revisions[j].Revision })

	// Images: those of the tagged ReplicaSets, newest revision first, with their roles.
	idx := map[string]int{}
	for _, r := range v.Revisions {
		for _, rs := range r.ReplicaSets {
			var tags []string
			for _, t := range rs.Info {
				if !strings.HasPrefix(t, "delay:") {
					tags = append(tags, t)
				}
			}
			if len(tags) == 0 {
				continue
			}
			for _, img := range rs.Images {
				i, ok := idx[img]
				if !ok {
					i = len(v.Images)
					idx[img] = i
					v.Images = append(v.Images, imageView{Image: img})
				}
				for _, t := range tags {
					if !slices.Contains(v.Images[i].Tags, t) {
						v.Images[i].Tags = append(v.Images[i].Tags, t)
					}
				}
			}
		}
	}
	return v
}
