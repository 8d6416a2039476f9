package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
	"github.com/aviary-dev/aviary/internal/cli"
)

// opsCLI runs `aviary args... -n ns` against the test API server and returns stdout and the
// command's error.
func opsCLI(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	var in, out, errOut bytes.Buffer
	o := cli.NewOptions(genericiooptions.IOStreams{In: &in, Out: &out, ErrOut: &errOut})
	o.NewClient = func() (client.Client, error) { return env.Client, nil }
	root := &cobra.Command{Use: "aviary", SilenceUsage: true, SilenceErrors: true}
	cli.AddCommands(root, o)
	root.SetArgs(append(args, "-n", ns))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

// opsMustRun runs the command and checks its output.
func opsMustRun(t *testing.T, ns, wantOut string, args ...string) {
	t.Helper()
	out, err := opsCLI(t, ns, args...)
	if err != nil {
		t.Fatalf("aviary %s: %v", strings.Join(args, " "), err)
	}
	if out != wantOut {
		t.Errorf("aviary %s printed %q, want %q", strings.Join(args, " "), out, wantOut)
	}
}

// opsRollout creates the shop rollout in a new namespace with the given status written
// through the status subresource, and returns it as stored.
func opsRollout(t *testing.T, strategy v1alpha1.RolloutStrategy, spec func(*v1alpha1.Rollout), status func(*v1alpha1.RolloutStatus)) *v1alpha1.Rollout {
	t.Helper()
	ctx := t.Context()
	ro := shopRollout(2, strategy)
	ro.Namespace = newNamespace(ctx, t, "cli-ops")
	if spec != nil {
		spec(ro)
	}
	if err := env.Client.Create(ctx, ro); err != nil {
		t.Fatalf("creating the rollout: %v", err)
	}
	if status != nil {
		status(&ro.Status)
		if err := env.Client.Status().Update(ctx, ro); err != nil {
			t.Fatalf("writing the status: %v", err)
		}
	}
	return opsGet(t, ro)
}

func opsGet(t *testing.T, ro *v1alpha1.Rollout) *v1alpha1.Rollout {
	t.Helper()
	got := &v1alpha1.Rollout{}
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(ro), got); err != nil {
		t.Fatal(err)
	}
	return got
}

// opsExpect reads the rollout back and checks that its spec and status are exactly the
// before state changed by wantSpec and wantStatus.
func opsExpect(t *testing.T, before *v1alpha1.Rollout, wantSpec func(*v1alpha1.RolloutSpec), wantStatus func(*v1alpha1.RolloutStatus)) *v1alpha1.Rollout {
	t.Helper()
	want := before.DeepCopy()
	if wantSpec != nil {
		wantSpec(&want.Spec)
	}
	if wantStatus != nil {
		wantStatus(&want.Status)
	}
	got := opsGet(t, before)
	if d := cmp.Diff(want.Spec, got.Spec); d != "" {
		t.Errorf("spec (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want.Status, got.Status); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
	return got
}

func opsCanary() v1alpha1.RolloutStrategy {
	return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
		{SetWeight: ptr.To[int32](20)}, {Pause: &v1alpha1.RolloutPause{}}, {SetWeight: ptr.To[int32](50)},
	}}}
}

func opsPausedAtStep(st *v1alpha1.RolloutStatus) {
	st.CurrentStepIndex = ptr.To[int32](1)
	st.ControllerPause = true
	st.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.Now().Rfc3339Copy()}}
	st.Phase, st.Message = v1alpha1.RolloutPhasePaused, "CanaryPauseStep"
	st.CurrentPodHash, st.StableRS = "new", "old"
}

func TestCLIPromote(t *testing.T) {
	t.Run("paused at a pause step: clears pauseConditions, keeps controllerPause", func(t *testing.T) {
		ro := opsRollout(t, opsCanary(), nil, opsPausedAtStep)
		opsMustRun(t, ro.Namespace, "rollout 'shop' promoted\n", "promote", "shop")
		opsExpect(t, ro, nil, func(st *v1alpha1.RolloutStatus) { st.PauseConditions = nil })
	})
	t.Run("paused by hand and at a step: unpauses too", func(t *testing.T) {
		ro := opsRollout(t, opsCanary(), func(r *v1alpha1.Rollout) { r.Spec.Paused = true }, opsPausedAtStep)
		opsMustRun(t, ro.Namespace, "rollout 'shop' promoted\n", "promote", "shop")
		opsExpect(t, ro, func(s *v1alpha1.RolloutSpec) { s.Paused = false }, func(st *v1alpha1.RolloutStatus) { st.PauseConditions = nil })
	})
	t.Run("in a step: skips it", func(t *testing.T) {
		ro := opsRollout(t, opsCanary(), nil, func(st *v1alpha1.RolloutStatus) { st.CurrentStepIndex = ptr.To[int32](0) })
		opsMustRun(t, ro.Namespace, "rollout 'shop' promoted\n", "promote", "shop")
		opsExpect(t, ro, nil, func(st *v1alpha1.RolloutStatus) { st.CurrentStepIndex = ptr.To[int32](1) })
	})
	t.Run("blue-green paused for promotion", func(t *testing.T) {
		bg := v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "shop-active", AutoPromotionEnabled: ptr.To(false)}}
		ro := opsRollout(t, bg, nil, func(st *v1alpha1.RolloutStatus) {
			st.ControllerPause = true
			st.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonBlueGreenPause, StartTime: metav1.Now().Rfc3339Copy()}}
		})
		opsMustRun(t, ro.Namespace, "rollout 'shop' promoted\n", "promote", "shop")
		opsExpect(t, ro, nil, func(st *v1alpha1.RolloutStatus) { st.PauseConditions = nil })
	})
	t.Run("--full", func(t *testing.T) {
		ro := opsRollout(t, opsCanary(), nil, opsPausedAtStep)
		opsMustRun(t, ro.Namespace, "rollout 'shop' fully promoted\n", "promote", "shop", "--full")
		opsExpect(t, ro, nil, func(st *v1alpha1.RolloutStatus) { st.PromoteFull = true })
	})
	t.Run("not found", func(t *testing.T) {
		ns := newNamespace(t.Context(), t, "cli-ops")
		_, err := opsCLI(t, ns, "promote", "nope")
		if err == nil || err.Error() != `rollouts.argoproj.io "nope" not found` {
			t.Errorf("got %v", err)
		}
	})
}

func TestCLIAbortRetryPause(t *testing.T) {
	ro := opsRollout(t, opsCanary(), nil, opsPausedAtStep)
	opsMustRun(t, ro.Namespace, "rollout 'shop' aborted\n", "abort", "shop")
	ro = opsExpect(t, ro, nil, func(st *v1alpha1.RolloutStatus) { st.Abort = true })
	opsMustRun(t, ro.Namespace, "rollout 'shop' retried\n", "retry", "rollout", "shop")
	ro = opsExpect(t, ro, nil, func(st *v1alpha1.RolloutStatus) { st.Abort = false })
	opsMustRun(t, ro.Namespace, "rollout 'shop' paused\n", "pause", "shop")
	opsExpect(t, ro, func(s *v1alpha1.RolloutSpec) { s.Paused = true }, nil)
	for _, args := range [][]string{{"abort", "nope"}, {"retry", "rollout", "nope"}, {"pause", "nope"}} {
		if _, err := opsCLI(t, ro.Namespace, args...); err == nil || err.Error() != `rollouts.argoproj.io "nope" not found` {
			t.Errorf("%v: got %v", args, err)
		}
	}
}

func TestCLIRestart(t *testing.T) {
	ro := opsRollout(t, opsCanary(), nil, nil)
	for _, tc := range []struct {
		args []string
		in   time.Duration
		out  string
	}{
		{[]string{"restart", "shop"}, 0, "rollout 'shop' restarts in 0s\n"},
		{[]string{"restart", "shop", "--in", "1h"}, time.Hour, "rollout 'shop' restarts in 1h\n"},
	} {
		start := time.Now().Truncate(time.Second)
		opsMustRun(t, ro.Namespace, tc.out, tc.args...)
		got := opsGet(t, ro)
		if got.Spec.RestartAt == nil {
			t.Fatalf("%v: restartAt not set", tc.args)
		}
		if at := got.Spec.RestartAt.Time; at.Before(start.Add(tc.in)) || at.After(time.Now().Add(tc.in)) {
			t.Errorf("%v: restartAt %s, want now+%s", tc.args, at, tc.in)
		}
		ro = opsExpect(t, ro, func(s *v1alpha1.RolloutSpec) { s.RestartAt = got.Spec.RestartAt }, nil)
	}
}

func TestCLISetImage(t *testing.T) {
	ro := opsRollout(t, opsCanary(), func(r *v1alpha1.Rollout) {
		pod := &r.Spec.Template.Spec
		pod.InitContainers = []corev1.Container{{Name: "migrate", Image: "acme/migrate:1"}}
		pod.Containers = append(pod.Containers, corev1.Container{Name: "proxy", Image: "envoyproxy/envoy:v1.30"})
	}, nil)
	opsMustRun(t, ro.Namespace, "rollout \"shop\" image updated\n", "set", "image", "shop", "shop=argoproj/rollouts-demo:green")
	ro = opsExpect(t, ro, func(s *v1alpha1.RolloutSpec) {
		s.Template.Spec.Containers[0].Image = "argoproj/rollouts-demo:green"
	}, nil)
	opsMustRun(t, ro.Namespace, "rollout \"shop\" image updated\n", "set", "image", "shop", "*=acme/all:2")
	ro = opsExpect(t, ro, func(s *v1alpha1.RolloutSpec) {
		s.Template.Spec.InitContainers[0].Image = "acme/all:2"
		s.Template.Spec.Containers[0].Image = "acme/all:2"
		s.Template.Spec.Containers[1].Image = "acme/all:2"
	}, nil)
	if _, err := opsCLI(t, ro.Namespace, "set", "image", "shop", "db=postgres"); err == nil || err.Error() != `unable to find container named "db"` {
		t.Errorf("unknown container: %v", err)
	}
	opsExpect(t, ro, nil, nil)
}

func TestCLIUndo(t *testing.T) {
	ctx := t.Context()
	ro := opsRollout(t, opsCanary(), func(r *v1alpha1.Rollout) {
		r.Spec.Template.Spec.Containers[0].Image = "argoproj/rollouts-demo:yellow"
	}, nil)
	// Three revisions as the controller would leave them: blue (1), green (2), yellow (3).
	for i, image := range []string{"blue", "green", "yellow"} {
		hash := "h" + image
		tmpl := ro.Spec.Template.DeepCopy()
		tmpl.Labels = map[string]string{"app": "shop", v1alpha1.PodTemplateHashLabel: hash}
		tmpl.Spec.Containers[0].Image = "argoproj/rollouts-demo:" + image
		if image == "blue" {
			tmpl.Annotations = map[string]string{"note": "first"}
		}
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{
				Name: "shop-" + hash, Namespace: ro.Namespace, Labels: tmpl.Labels,
				Annotations:     map[string]string{v1alpha1.RevisionAnnotation: strconv.Itoa(i + 1)},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
			},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: ptr.To[int32](0),
				Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels},
				Template: *tmpl,
			},
		}
		if err := env.Client.Create(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	// Undo copies the ReplicaSet's template as stored (with the API server's pod defaults, as
	// Argo's does), without the hash label.
	template := func(image string) func(*v1alpha1.RolloutSpec) {
		rs := &appsv1.ReplicaSet{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ro.Namespace, Name: "shop-h" + image}, rs); err != nil {
			t.Fatal(err)
		}
		want := rs.Spec.Template.DeepCopy()
		delete(want.Labels, v1alpha1.PodTemplateHashLabel)
		return func(s *v1alpha1.RolloutSpec) { s.Template = want }
	}

	opsMustRun(t, ro.Namespace, "rollout 'shop' undo\n", "undo", "shop")
	ro = opsExpect(t, ro, template("green"), nil)
	opsMustRun(t, ro.Namespace, "rollout 'shop' undo\n", "undo", "shop", "--to-revision", "1")
	ro = opsExpect(t, ro, template("blue"), nil)
	if ro.Spec.Template.Annotations["note"] != "first" || ro.Spec.Template.Spec.Containers[0].Image != "argoproj/rollouts-demo:blue" {
		t.Errorf("undo to revision 1 left %+v", ro.Spec.Template.ObjectMeta)
	}
	opsMustRun(t, ro.Namespace, "skipped rollback (current template already matches revision 1)\n", "undo", "shop", "--to-revision=1")
	ro = opsExpect(t, ro, nil, nil)
	if _, err := opsCLI(t, ro.Namespace, "undo", "shop", "--to-revision", "9"); err == nil || err.Error() != "unable to find specified revision 9 in history" {
		t.Errorf("missing revision: %v", err)
	}
	opsExpect(t, ro, nil, nil)
}

const opsObjects = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: smoke
spec:
  metrics:
    - name: success-rate
      interval: 30s
      successCondition: result[0] >= 0.99
      provider:
        prometheus:
          address: http://prometheus.monitoring:9090
          query: vector(1)
---
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata:
  name: trial
spec:
  templates:
    - name: v2
      replicas: 1
      selector:
        matchLabels: {app: search, variant: v2}
      template:
        metadata:
          labels: {app: search, variant: v2}
        spec:
          containers:
            - name: search
              image: ghcr.io/acme/search:2
---
apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata:
  generateName: cli-ops-
spec:
  metrics:
    - name: up
      provider:
        prometheus:
          address: http://prometheus.monitoring:9090
          query: vector(1)
`

func TestCLICreateTerminateRetryExperiment(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(ctx, t, "cli-ops")
	file := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(file, []byte(opsObjects), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := opsCLI(t, ns, "create", "-f", file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || lines[0] != "analysisrun.argoproj.io/smoke created" || lines[1] != "experiment.argoproj.io/trial created" ||
		!strings.HasPrefix(lines[2], "clusteranalysistemplate.argoproj.io/cli-ops-") {
		t.Fatalf("create printed %q", out)
	}
	cat := &v1alpha1.ClusterAnalysisTemplate{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: strings.Fields(strings.TrimPrefix(lines[2], "clusteranalysistemplate.argoproj.io/"))[0]}, cat); err != nil {
		t.Errorf("the cluster-scoped template: %v", err)
	} else {
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), cat) })
	}
	if _, err := opsCLI(t, ns, "create", "-f", file); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("creating again: %v", err)
	}

	ar := &v1alpha1.AnalysisRun{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "smoke"}, ar); err != nil {
		t.Fatal(err)
	}
	opsMustRun(t, ns, "analysisrun 'smoke' terminated\n", "terminate", "analysisrun", "smoke")
	gotAR := &v1alpha1.AnalysisRun{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ar), gotAR); err != nil {
		t.Fatal(err)
	}
	ar.Spec.Terminate = true
	if d := cmp.Diff(ar.Spec, gotAR.Spec); d != "" {
		t.Errorf("analysisrun spec (-want +got):\n%s", d)
	}

	ex := &v1alpha1.Experiment{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "trial"}, ex); err != nil {
		t.Fatal(err)
	}
	ex.Status = v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseFailed, Message: "analysis failed"}
	if err := env.Client.Status().Update(ctx, ex); err != nil {
		t.Fatal(err)
	}
	opsMustRun(t, ns, "experiment 'trial' retried\n", "retry", "experiment", "trial")
	gotEx := &v1alpha1.Experiment{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ex), gotEx); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(v1alpha1.ExperimentStatus{}, gotEx.Status); d != "" {
		t.Errorf("retried experiment status (-want +got):\n%s", d)
	}
	if d := cmp.Diff(ex.Spec, gotEx.Spec); d != "" {
		t.Errorf("retry changed the experiment spec (-want +got):\n%s", d)
	}
	opsMustRun(t, ns, "experiment 'trial' terminated\n", "terminate", "experiment", "trial")
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ex), gotEx); err != nil {
		t.Fatal(err)
	}
	ex.Spec.Terminate = true
	if d := cmp.Diff(ex.Spec, gotEx.Spec); d != "" {
		t.Errorf("experiment spec (-want +got):\n%s", d)
	}
	if _, err := opsCLI(t, ns, "terminate", "experiment", "nope"); err == nil || err.Error() != `experiments.argoproj.io "nope" not found` {
		t.Errorf("not found: %v", err)
	}
}

func TestCLIStatus(t *testing.T) {
	phase := func(p v1alpha1.RolloutPhase, msg string) func(*v1alpha1.RolloutStatus) {
		return func(st *v1alpha1.RolloutStatus) {
			st.ObservedGeneration = "1"
			st.Phase, st.Message = p, msg
		}
	}
	healthy := opsRollout(t, opsCanary(), nil, phase(v1alpha1.RolloutPhaseHealthy, ""))
	opsMustRun(t, healthy.Namespace, "Healthy\n", "status", "shop")
	opsMustRun(t, healthy.Namespace, "Healthy\n", "status", "shop", "-w=false")

	degraded := opsRollout(t, opsCanary(), nil, phase(v1alpha1.RolloutPhaseDegraded, "RolloutAborted: aborted by the user"))
	out, err := opsCLI(t, degraded.Namespace, "status", "shop", "-t", "10s")
	if err == nil || err.Error() != "The rollout is in a degraded state with message: RolloutAborted: aborted by the user" {
		t.Errorf("degraded: %v", err)
	}
	if out != "Degraded - RolloutAborted: aborted by the user\n" {
		t.Errorf("degraded printed %q", out)
	}

	progressing := opsRollout(t, opsCanary(), nil, phase(v1alpha1.RolloutPhaseProgressing, "more replicas need to be updated"))
	start := time.Now()
	out, err = opsCLI(t, progressing.Namespace, "status", "shop", "-t", "1s")
	if err == nil || err.Error() != "Rollout progress exceeded timeout" {
		t.Errorf("progressing: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a 1s timeout took %s", took)
	}
	if out != "Progressing - more replicas need to be updated\n" {
		t.Errorf("progressing printed %q", out)
	}
	opsMustRun(t, progressing.Namespace, "Progressing - more replicas need to be updated\n", "status", "shop", "--watch=false")

	// Paused is printed and watched through: it ends when the rollout becomes Healthy.
	paused := opsRollout(t, opsCanary(), nil, phase(v1alpha1.RolloutPhasePaused, "CanaryPauseStep"))
	go func() {
		time.Sleep(1500 * time.Millisecond)
		ro := &v1alpha1.Rollout{}
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(paused), ro)
		if err == nil {
			phase(v1alpha1.RolloutPhaseHealthy, "")(&ro.Status)
			err = env.Client.Status().Update(context.Background(), ro)
		}
		if err != nil {
			t.Error(err)
		}
	}()
	opsMustRun(t, paused.Namespace, "Paused - CanaryPauseStep\nHealthy\n", "status", "shop", "-t", "20s")

	if _, err := opsCLI(t, paused.Namespace, "status", "nope"); err == nil || err.Error() != `rollouts.argoproj.io "nope" not found` {
		t.Errorf("not found: %v", err)
	}
}
