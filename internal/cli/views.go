package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// viewClock is the clock of the views' ages and delays; tests replace it.
var viewClock = time.Now

// viewPollInterval is how often watch modes re-read the objects.
var viewPollInterval = time.Second

// clearScreen moves the cursor home and clears the screen, for watch redraws.
const clearScreen = "\x1b[H\x1b[2J"

// viewCommands lists the commands of this file's group: get and list.
func viewCommands(o *Options) []*cobra.Command {
	return []*cobra.Command{newGetCommand(o), newListCommand(o)}
}

// viewFlags are the flags the view commands share.
type viewFlags struct {
	watch          bool
	noColor        bool
	timeoutSeconds int
	output         string
}

func (f *viewFlags) add(cmd *cobra.Command, color bool) {
	cmd.Flags().BoolVarP(&f.watch, "watch", "w", false, "watch for changes and redraw in place")
	if color {
		cmd.Flags().BoolVar(&f.noColor, "no-color", false, "do not colourise the output")
		cmd.Flags().IntVar(&f.timeoutSeconds, "timeout-seconds", 0, "stop watching after this many seconds (0: never)")
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "print the object(s) instead: json or yaml")
}

// viewTarget checks the view flags and returns the namespace and client a view reads from.
func (o *Options) viewTarget(f *viewFlags) (string, client.Client, error) {
	if err := f.validate(); err != nil {
		return "", nil, err
	}
	ns, err := o.Namespace()
	if err != nil {
		return "", nil, err
	}
	c, err := o.NewClient()
	return ns, c, err
}

func (f *viewFlags) validate() error {
	switch f.output {
	case "", "json", "yaml":
	default:
		return fmt.Errorf("unknown output format %q: use json or yaml", f.output)
	}
	if f.output != "" && f.watch {
		return fmt.Errorf("--watch cannot be used with --output")
	}
	return nil
}

// watchContext is the command's context, cancelled on Ctrl-C and after --timeout-seconds.
func watchContext(cmd *cobra.Command, timeoutSeconds int) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	if timeoutSeconds <= 0 {
		return ctx, stop
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(timeoutSeconds)*time.Second)
	return ctx, func() { cancel(); stop() }
}

// watchRedraw renders with draw every poll interval and, whenever the output changed, clears
// the screen and prints it; it stops without error when ctx ends.
func watchRedraw(ctx context.Context, out io.Writer, draw func(ctx context.Context, w io.Writer) error) error {
	var last string
	for {
		var b bytes.Buffer
		if err := watchEnded(ctx, draw(ctx, &b)); err != nil || ctx.Err() != nil {
			return err
		}
		if s := b.String(); s != last {
			if _, err := io.WriteString(out, clearScreen+s); err != nil {
				return err
			}
			last = s
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(viewPollInterval):
		}
	}
}

// watchEnded is err, or nil once ctx ended (Ctrl-C or --timeout-seconds end a watch normally,
// and cancel the request in flight).
func watchEnded(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil //nolint:nilerr // a watch ended by Ctrl-C or its timeout is a success
	}
	return err
}

// printObject prints an object as json or yaml, with its apiVersion and kind, without
// managed fields (as kubectl does).
func printObject(w io.Writer, obj client.Object, format string) error {
	gvk, err := apiutil.GVKForObject(obj, Scheme())
	if err != nil {
		return err
	}
	obj = obj.DeepCopyObject().(client.Object)
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	obj.SetManagedFields(nil)
	return printData(w, obj, format)
}

func printData(w io.Writer, obj any, format string) error {
	var data []byte
	var err error
	if format == "yaml" {
		data, err = yaml.Marshal(obj)
	} else {
		data, err = json.MarshalIndent(obj, "", "    ")
		data = append(data, '\n')
	}
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// listInNamespace lists objects in a namespace, optionally by a label selector.
func listInNamespace(ctx context.Context, c client.Client, list client.ObjectList, ns string, sel labels.Selector) error {
	opts := []client.ListOption{client.InNamespace(ns)}
	if sel != nil {
		opts = append(opts, client.MatchingLabelsSelector{Selector: sel})
	}
	return c.List(ctx, list, opts...)
}

// fetchRolloutObjects reads a rollout and the ReplicaSets, pods, AnalysisRuns and Experiments
// the tree shows: ReplicaSets and pods by the rollout's selector (all of the namespace when
// the rollout has experiments, whose pods it may not select); ownership is checked by the
// info layer.
func fetchRolloutObjects(ctx context.Context, c client.Client, ns, name string) (rolloutObjects, error) {
	var objs rolloutObjects
	ro := &v1alpha1.Rollout{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ro); err != nil {
		return objs, err
	}
	objs.Rollout = ro
	var exps v1alpha1.ExperimentList
	if err := listInNamespace(ctx, c, &exps, ns, nil); err != nil {
		return objs, err
	}
	for i := range exps.Items {
		if ownedBy(&exps.Items[i], ro.UID) {
			objs.Experiments = append(objs.Experiments, exps.Items[i])
		}
	}
	var sel labels.Selector
	if ro.Spec.Selector != nil && len(objs.Experiments) == 0 {
		s, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
		if err != nil {
			return objs, fmt.Errorf("rollout %s/%s: %w", ns, name, err)
		}
		sel = s
	}
	var rss appsv1.ReplicaSetList
	if err := listInNamespace(ctx, c, &rss, ns, sel); err != nil {
		return objs, err
	}
	objs.ReplicaSets = rss.Items
	var pods corev1.PodList
	if err := listInNamespace(ctx, c, &pods, ns, sel); err != nil {
		return objs, err
	}
	objs.Pods = pods.Items
	var ars v1alpha1.AnalysisRunList
	if err := listInNamespace(ctx, c, &ars, ns, nil); err != nil {
		return objs, err
	}
	objs.AnalysisRuns = ars.Items
	return objs, nil
}

// fetchExperimentObjects reads an experiment and the ReplicaSets, pods and AnalysisRuns it owns.
func fetchExperimentObjects(ctx context.Context, c client.Client, ns, name string) (*v1alpha1.Experiment, []appsv1.ReplicaSet, []corev1.Pod, []v1alpha1.AnalysisRun, error) {
	ex := &v1alpha1.Experiment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ex); err != nil {
		return nil, nil, nil, nil, err
	}
	var rss appsv1.ReplicaSetList
	var pods corev1.PodList
	var ars v1alpha1.AnalysisRunList
	for _, l := range []client.ObjectList{&rss, &pods, &ars} {
		if err := listInNamespace(ctx, c, l, ns, nil); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	return ex, rss.Items, pods.Items, ars.Items, nil
}
