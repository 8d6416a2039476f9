package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

func newListCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list rollouts",
		Short: "List rollouts",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newListRolloutsCommand(o))
	return cmd
}

func newListRolloutsCommand(o *Options) *cobra.Command {
	f := &viewFlags{}
	var all bool
	var name string
	cmd := &cobra.Command{
		Use:     "rollouts",
		Aliases: []string{"ro", "rollout"},
		Short:   "List rollouts: strategy, status, step, set weight and replica counts",
		Example: `  # List the rollouts of the current namespace
  kubectl aviary list rollouts

  # Of every namespace, printing a row whenever a rollout changes
  kubectl aviary list rollouts -A -w`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, c, err := o.viewTarget(f)
			if err != nil {
				return err
			}
			if all {
				ns = ""
			}
			ctx, cancel := watchContext(cmd, 0)
			defer cancel()
			list, err := listRollouts(ctx, c, ns, name)
			if err != nil {
				return err
			}
			if f.output != "" {
				list.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("RolloutList"))
				for i := range list.Items {
					list.Items[i].SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Rollout"))
					list.Items[i].SetManagedFields(nil)
				}
				return printData(o.Out, list, f.output)
			}
			if len(list.Items) == 0 && !f.watch {
				_, err := fmt.Fprintln(o.ErrOut, "No resources found.")
				return err
			}
			rows := make([]listRow, len(list.Items))
			for i := range list.Items {
				rows[i] = buildListRow(&list.Items[i])
			}
			if !f.watch {
				return renderList(o.Out, rows, all)
			}
			return watchList(ctx, o.Out, rows, all, func(ctx context.Context) ([]listRow, error) {
				list, err := listRollouts(ctx, c, ns, name)
				if err != nil {
					return nil, err
				}
				rows := make([]listRow, len(list.Items))
				for i := range list.Items {
					rows[i] = buildListRow(&list.Items[i])
				}
				return rows, nil
			})
		},
	}
	f.add(cmd, false)
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list the rollouts of every namespace")
	cmd.Flags().StringVar(&name, "name", "", "only the rollout of this name")
	return cmd
}

// listRollouts lists the rollouts of a namespace ("" for all), sorted by namespace and name.
func listRollouts(ctx context.Context, c client.Client, ns, name string) (*v1alpha1.RolloutList, error) {
	list := &v1alpha1.RolloutList{}
	var opts []client.ListOption
	if ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		return nil, err
	}
	if name != "" {
		kept := list.Items[:0]
		for _, ro := range list.Items {
			if ro.Name == name {
				kept = append(kept, ro)
			}
		}
		list.Items = kept
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return list, nil
}

// watchList prints the table, then, as Argo does, one more row each time a rollout changes
// (or appears), with the column widths of the first table.
func watchList(ctx context.Context, w io.Writer, rows []listRow, all bool,
	poll func(context.Context) ([]listRow, error)) error {
	widths := listWidths(rows, all)
	last := map[string]listRow{}
	if _, err := io.WriteString(w, formatListRow(listHeader(), widths, all)); err != nil {
		return err
	}
	for {
		for _, r := range rows {
			key := r.Namespace + "/" + r.Name
			if prev, ok := last[key]; ok && prev == r {
				continue
			}
			last[key] = r
			if _, err := io.WriteString(w, formatListRow(r.cells(), widths, all)); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(viewPollInterval):
		}
		var err error
		rows, err = poll(ctx)
		if err = watchEnded(ctx, err); err != nil || ctx.Err() != nil {
			return err
		}
	}
}

func listWidths(rows []listRow, all bool) []int {
	cells := listHeader()
	widths := make([]int, len(cells))
	for i, c := range cells {
		widths[i] = len(c)
	}
	for _, r := range rows {
		for i, c := range r.cells() {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	if !all {
		widths[0] = 0
	}
	return widths
}

func formatListRow(cells []string, widths []int, all bool) string {
	var b strings.Builder
	for i, c := range cells {
		if i == 0 && !all {
			continue
		}
		b.WriteString(c)
		if i < len(cells)-1 {
			b.WriteString(strings.Repeat(" ", max(widths[i]-utf8.RuneCountInString(c), 0)+2))
		}
	}
	return strings.TrimRight(b.String(), " ") + "\n"
}

// listRow is one row of `list rollouts`.
type listRow struct {
	Namespace, Name, Strategy, Status, Step, SetWeight, Ready string
	Desired, UpToDate, Available                              int32
}

func buildListRow(ro *v1alpha1.Rollout) listRow {
	phase, _, _ := rolloutPhase(ro)
	r := listRow{
		Namespace: ro.Namespace, Name: ro.Name, Strategy: strategyName(ro), Status: phase,
		Step: "-", SetWeight: "-", Desired: 1,
		UpToDate: ro.Status.UpdatedReplicas, Available: ro.Status.AvailableReplicas,
	}
	if ro.Spec.Replicas != nil {
		r.Desired = *ro.Spec.Replicas
	}
	r.Ready = fmt.Sprintf("%d/%d", ro.Status.ReadyReplicas, r.Desired)
	if r.Strategy == "Canary" {
		if s := stepText(ro); s != "" {
			r.Step = s
		}
		r.SetWeight = strconv.Itoa(int(currentSetWeight(ro)))
	}
	return r
}
