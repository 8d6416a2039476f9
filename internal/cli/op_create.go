package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// opDecodeObjects reads every YAML or JSON document of r; empty documents are skipped. Each
// object must be of the argoproj.io group, as `kubectl argo rollouts create` only creates
// Argo Rollouts kinds.
func opDecodeObjects(r io.Reader, source string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var objs []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		m := map[string]any{}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		gvk := u.GroupVersionKind()
		switch {
		case gvk.Kind == "":
			return nil, fmt.Errorf("%s: document %d: missing kind", source, doc)
		case gvk.Group != v1alpha1.GroupVersion.Group:
			return nil, fmt.Errorf("%s: document %d: creating %s is not supported: only %s kinds can be created",
				source, doc, gvk.Kind, v1alpha1.GroupVersion.Group)
		case u.GetName() == "" && u.GetGenerateName() == "":
			return nil, fmt.Errorf("%s: document %d: %s has neither metadata.name nor metadata.generateName", source, doc, gvk.Kind)
		}
		objs = append(objs, u)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%s: no objects found", source)
	}
	return objs, nil
}

func newCreateCommand(o *Options) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:     "create -f FILENAME",
		Short:   "Create a Rollout, Experiment, AnalysisTemplate, ClusterAnalysisTemplate, or AnalysisRun resource",
		Example: "  # Create an experiment and watch it\n  aviary create -f my-experiment.yaml\n\n  # Several objects, several documents\n  aviary create -f rollout.yaml -f analysis.yaml",
		Args:    opExactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errors.New("must specify -f/--filename")
			}
			var objs []*unstructured.Unstructured
			for _, f := range files {
				r := o.In
				if f != "-" {
					data, err := os.ReadFile(f)
					if err != nil {
						return err
					}
					r = bytes.NewReader(data)
				}
				got, err := opDecodeObjects(r, f)
				if err != nil {
					return err
				}
				objs = append(objs, got...)
			}
			t, err := o.opTarget()
			if err != nil {
				return err
			}
			for _, obj := range objs {
				namespaced, err := t.c.IsObjectNamespaced(obj)
				if err != nil {
					return err
				}
				if namespaced && obj.GetNamespace() == "" {
					obj.SetNamespace(t.ns)
				}
				if err := t.c.Create(c.Context(), obj); err != nil {
					return err
				}
				gvk := obj.GroupVersionKind()
				if _, err := fmt.Fprintf(o.Out, "%s.%s/%s created\n", strings.ToLower(gvk.Kind), gvk.Group, obj.GetName()); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "Files to create the resources from (- for stdin)")
	return cmd
}
