package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/golden"
)

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Compare(t, filepath.Join("testdata", name), []byte(got))
}

var treeFixtures = []struct {
	name string
	objs func() []client.Object
}{
	{"canary-mid-update", fxCanaryMidUpdate},
	{"bluegreen-preview", fxBlueGreenPreview},
	{"degraded-aborted", fxDegradedAborted},
}

func TestGetRolloutGolden(t *testing.T) {
	for _, fx := range treeFixtures {
		for _, color := range []bool{false, true} {
			name := "get-rollout-" + fx.name + ".txt"
			if color {
				name = "get-rollout-" + fx.name + ".color.txt"
			}
			t.Run(name, func(t *testing.T) {
				v := buildRolloutView(fxObjects(fx.objs()), fixtureNow)
				var b bytes.Buffer
				if err := renderRollout(&b, &v, color); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, name, b.String())
			})
		}
	}
}

func TestGetExperimentGolden(t *testing.T) {
	in := fxObjects(fxCanaryMidUpdate())
	v := buildExperimentView(&in.Experiments[0], in.ReplicaSets, in.Pods, in.AnalysisRuns, fixtureNow)
	var b bytes.Buffer
	if err := renderExperiment(&b, &v, false); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "get-experiment.txt", b.String())
}

func allFixtureRollouts() []v1alpha1.Rollout {
	var ros []v1alpha1.Rollout
	for _, fx := range treeFixtures {
		ro := fxObjects(fx.objs()).Rollout
		ros = append(ros, *ro)
	}
	other := fxObjects(fxBlueGreenPreview()).Rollout
	other.Namespace = "prod"
	other.Status = v1alpha1.RolloutStatus{Phase: v1alpha1.RolloutPhaseHealthy, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
	ros = append(ros, *other)
	// The order listRollouts returns: by namespace, then name.
	sort.Slice(ros, func(i, j int) bool {
		if ros[i].Namespace != ros[j].Namespace {
			return ros[i].Namespace < ros[j].Namespace
		}
		return ros[i].Name < ros[j].Name
	})
	return ros
}

func TestListGolden(t *testing.T) {
	var rows []listRow
	for _, ro := range allFixtureRollouts() {
		rows = append(rows, buildListRow(&ro))
	}
	for _, all := range []bool{false, true} {
		name := "list-rollouts.txt"
		if all {
			name = "list-rollouts-all-namespaces.txt"
		}
		shown := rows
		if !all {
			shown = nil
			for _, r := range rows {
				if r.Namespace == "default" {
					shown = append(shown, r)
				}
			}
		}
		var b bytes.Buffer
		if err := renderList(&b, shown, all); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, name, b.String())
	}
}

func TestStepAndWeights(t *testing.T) {
	ro := fxObjects(fxCanaryMidUpdate()).Rollout
	steps := func(idx *int32) *v1alpha1.Rollout {
		r := ro.DeepCopy()
		r.Status.CurrentStepIndex = idx
		return r
	}
	for _, tc := range []struct {
		idx         *int32
		step        string
		weight      int32
		description string
	}{
		{nil, "0/6", 20, "no index yet: step 0, the first setWeight"},
		{ptr.To[int32](0), "0/6", 20, "at the first setWeight"},
		{ptr.To[int32](1), "1/6", 20, "paused after setWeight 20"},
		{ptr.To[int32](3), "3/6", 40, "pause after setWeight 40"},
		{ptr.To[int32](6), "6/6", 100, "all steps done"},
	} {
		r := steps(tc.idx)
		if got := stepText(r); got != tc.step {
			t.Errorf("%s: step = %q, want %q", tc.description, got, tc.step)
		}
		if got := currentSetWeight(r); got != tc.weight {
			t.Errorf("%s: setWeight = %d, want %d", tc.description, got, tc.weight)
		}
	}
	noSteps := ro.DeepCopy()
	noSteps.Spec.Strategy.Canary.Steps = nil
	if s, w := stepText(noSteps), currentSetWeight(noSteps); s != "" || w != 100 {
		t.Errorf("without steps: step %q weight %d, want \"\" and 100", s, w)
	}
	aborted := steps(ptr.To[int32](3))
	aborted.Status.Abort = true
	if w := currentSetWeight(aborted); w != 0 {
		t.Errorf("aborted: setWeight = %d, want 0", w)
	}
	bg := fxObjects(fxBlueGreenPreview()).Rollout
	if s := stepText(bg); s != "" {
		t.Errorf("blue-green step = %q, want empty", s)
	}
}

func TestActualWeight(t *testing.T) {
	ro := fxObjects(fxCanaryMidUpdate()).Rollout
	rs := func(hash string, available int32) appsv1.ReplicaSet {
		r := appsv1.ReplicaSet{Status: appsv1.ReplicaSetStatus{AvailableReplicas: available}}
		r.Labels = map[string]string{v1alpha1.PodTemplateHashLabel: hash}
		return r
	}
	for _, tc := range []struct {
		rss  []appsv1.ReplicaSet
		want int32
	}{
		{[]appsv1.ReplicaSet{rs("6cbccd9f99", 1), rs("877894d5b", 4)}, 20},
		{[]appsv1.ReplicaSet{rs("6cbccd9f99", 1), rs("877894d5b", 2)}, 33},
		{[]appsv1.ReplicaSet{rs("6cbccd9f99", 0), rs("877894d5b", 5)}, 0},
		{[]appsv1.ReplicaSet{rs("6cbccd9f99", 5), rs("877894d5b", 0)}, 100},
		{nil, 0},
	} {
		if got := actualWeight(ro, tc.rss); got != tc.want {
			t.Errorf("actualWeight = %d, want %d", got, tc.want)
		}
	}
	routed := ro.DeepCopy()
	routed.Spec.Strategy.Canary.TrafficRouting = &v1alpha1.RolloutTrafficRouting{}
	routed.Status.Canary.Weights = &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{Weight: 7}}
	if got := actualWeight(routed, []appsv1.ReplicaSet{rs("6cbccd9f99", 1), rs("877894d5b", 4)}); got != 7 {
		t.Errorf("with traffic routing: actualWeight = %d, want the routers' 7", got)
	}
}

func TestIcons(t *testing.T) {
	for phase, want := range map[string]string{
		"Healthy": glyphOK, "Paused": glyphPaused, "Progressing": glyphProgressing, "Degraded": glyphBad,
		"Successful": glyphOK, "Failed": glyphBad, "Running": glyphProgressing, "Pending": glyphWaiting,
		"Error": glyphWarning, "Inconclusive": glyphUnknown, "ScaledDown": glyphNeutral, "what": glyphUnknown,
	} {
		if got := phaseGlyph(phase); got != want {
			t.Errorf("phaseGlyph(%q) = %q, want %q", phase, got, want)
		}
	}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs", UID: "rs"}, Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](1)}}
	rs.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c"}}
	for _, tc := range []struct {
		ready      bool
		waiting    string
		status     string
		icon       string
		terminated bool
	}{
		{true, "", "Running", glyphOK, false},
		{false, "", "Running", glyphProgressing, false},
		{false, "ImagePullBackOff", "ImagePullBackOff", glyphWarning, false},
		{false, "CrashLoopBackOff", "CrashLoopBackOff", glyphWarning, false},
		{false, "ContainerCreating", "ContainerCreating", glyphProgressing, false},
		{true, "", "Terminating", glyphProgressing, true},
	} {
		pod := fxPod(rs, "p", tc.ready, tc.waiting, 0, time.Minute)
		if tc.terminated {
			pod.DeletionTimestamp = ptr.To(ago(time.Second))
		}
		if s, i := podStatus(pod); s != tc.status || i != tc.icon {
			t.Errorf("pod %+v: got %s %s, want %s %s", tc, i, s, tc.icon, tc.status)
		}
	}
	pending := fxPod(rs, "p", false, "", 0, time.Minute)
	pending.Status = corev1.PodStatus{Phase: corev1.PodPending}
	if s, i := podStatus(pending); s != "Pending" || i != glyphWaiting {
		t.Errorf("pending pod: %s %s", i, s)
	}
}

func TestReplicaSetTags(t *testing.T) {
	v := buildRolloutView(fxObjects(fxDegradedAborted()), fixtureNow)
	var infos []string
	for _, r := range v.Revisions {
		for _, rs := range r.ReplicaSets {
			infos = append(infos, rs.Status+":"+strings.Join(rs.Info, ","))
		}
	}
	want := []string{"Progressing:canary,delay:30s", "Healthy:stable", "ScaledDown:"}
	if diff := cmp.Diff(want, infos); diff != "" {
		t.Errorf("ReplicaSet status and INFO (-want +got):\n%s", diff)
	}
	bg := buildRolloutView(fxObjects(fxBlueGreenPreview()), fixtureNow)
	if got := bg.Images[0].String() + " | " + bg.Images[1].String(); got != "argoproj/rollouts-demo:green (preview) | argoproj/rollouts-demo:blue (stable, active)" {
		t.Errorf("blue-green images: %s", got)
	}
	promoted := fxObjects(fxBlueGreenPreview())
	promoted.Rollout.Status.BlueGreen.PreviewSelector = promoted.Rollout.Status.BlueGreen.ActiveSelector
	if tags := replicaSetTags(promoted.Rollout, promoted.Rollout.Status.BlueGreen.ActiveSelector); strings.Join(tags, ",") != "stable,active" {
		t.Errorf("promoted blue-green tags = %v, want stable,active", tags)
	}
}

// newViewTestOptions runs the commands against a fake API server holding objs, at fixtureNow.
func newViewTestOptions(t *testing.T, objs ...client.Object) (*Options, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(Scheme()).WithObjects(objs...).Build()
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	o := NewOptions(genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut})
	o.NewClient = func() (client.Client, error) { return c, nil }
	ns := "default"
	o.ConfigFlags.Namespace = &ns
	old := viewClock
	viewClock = func() time.Time { return fixtureNow }
	t.Cleanup(func() { viewClock = old })
	return o, out, errOut
}

func runView(t *testing.T, o *Options, args ...string) error {
	t.Helper()
	return runViewContext(context.Background(), o, args...)
}

func TestGetRolloutCommand(t *testing.T) {
	for _, fx := range treeFixtures {
		t.Run(fx.name, func(t *testing.T) {
			o, out, _ := newViewTestOptions(t, fx.objs()...)
			ro := fxObjects(fx.objs()).Rollout
			if err := runView(t, o, "get", "rollout", ro.Name, "--no-color"); err != nil {
				t.Fatal(err)
			}
			// Read through the client, the output is the golden of the same objects.
			checkGolden(t, "get-rollout-"+fx.name+".txt", out.String())
		})
	}
}

func TestGetRolloutCommandOutputAndErrors(t *testing.T) {
	o, out, _ := newViewTestOptions(t, fxCanaryMidUpdate()...)
	if err := runView(t, o, "get", "ro", "canary-demo", "-o", "yaml"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: argoproj.io/v1alpha1\n", "kind: Rollout\n", "name: canary-demo\n", "phase: Paused\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-o yaml lacks %q:\n%s", want, out)
		}
	}
	out.Reset()
	if err := runView(t, o, "get", "rollout", "canary-demo", "-o", "json"); err != nil || !strings.Contains(out.String(), `"kind": "Rollout"`) {
		t.Errorf("-o json: %v\n%s", err, out)
	}
	if err := runView(t, o, "get", "rollout", "nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing rollout: err = %v", err)
	}
	if err := runView(t, o, "get", "rollout", "canary-demo", "-o", "wide"); err == nil {
		t.Error("-o wide: no error")
	}
	out.Reset()
	if err := runView(t, o, "get", "experiment", "canary-demo-6cbccd9f99-2-0", "--no-color"); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "get-experiment.txt", out.String())
}

func TestGetRolloutWatch(t *testing.T) {
	o, out, _ := newViewTestOptions(t, fxCanaryMidUpdate()...)
	oldPoll := viewPollInterval
	viewPollInterval = 10 * time.Millisecond
	t.Cleanup(func() { viewPollInterval = oldPoll })
	c, _ := o.NewClient()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runViewContext(ctx, o, "get", "rollout", "canary-demo", "-w", "--no-color", "--timeout-seconds", "1")
	}()
	time.Sleep(100 * time.Millisecond)
	ro := &v1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "canary-demo"}, ro); err != nil {
		t.Fatal(err)
	}
	ro.Status.Phase, ro.Status.Message = v1alpha1.RolloutPhaseHealthy, ""
	if err := c.Update(ctx, ro); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	frames := strings.Split(out.String(), clearScreen)
	// "" before the first clear, the Paused frame, then the Healthy one: one redraw per change.
	if len(frames) != 3 || !strings.Contains(frames[1], "॥ Paused") || !strings.Contains(frames[2], "✔ Healthy") {
		t.Errorf("watch frames = %d:\n%q", len(frames), out.String())
	}
}

func TestListRolloutsCommand(t *testing.T) {
	var objs []client.Object
	for _, ro := range allFixtureRollouts() {
		objs = append(objs, ro.DeepCopy())
	}
	o, out, _ := newViewTestOptions(t, objs...)
	if err := runView(t, o, "list", "rollouts"); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "list-rollouts.txt", out.String())
	out.Reset()
	if err := runView(t, o, "list", "rollouts", "-A"); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "list-rollouts-all-namespaces.txt", out.String())
	out.Reset()
	if err := runView(t, o, "list", "rollouts", "-o", "json", "--name", "canary-demo"); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, `"kind": "RolloutList"`) || strings.Count(s, `"kind": "Rollout"`) != 1 {
		t.Errorf("-o json --name:\n%s", s)
	}
	o, out, errOut := newViewTestOptions(t, objs...)
	ns := "empty"
	o.ConfigFlags.Namespace = &ns
	if err := runView(t, o, "list", "rollouts"); err != nil || out.Len() != 0 || errOut.String() != "No resources found.\n" {
		t.Errorf("empty namespace: err %v, out %q, stderr %q", err, out, errOut)
	}
}
