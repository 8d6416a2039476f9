// Package cli is the `kubectl argo rollouts` command set, served as `aviary <command>` and as
// the kubectl plugin `kubectl aviary <command>`: same commands, output and exit codes, with
// kubectl's flags (--kubeconfig, --context, -n, -A, -o).
package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-dev/aviary/api/v1alpha1"
)

// Options are the kubectl-style flags and the streams every command shares.
type Options struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	// NewClient builds the client; tests replace it to point at their API server.
	NewClient func() (client.Client, error)
}

// NewOptions returns Options bound to kubectl's standard flags and the given streams.
func NewOptions(streams genericiooptions.IOStreams) *Options {
	o := &Options{ConfigFlags: genericclioptions.NewConfigFlags(true), IOStreams: streams}
	o.NewClient = o.defaultClient
	return o
}

// Scheme knows the argoproj.io types and the built-in Kubernetes ones.
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err) // static registration; cannot fail
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

func (o *Options) defaultClient() (client.Client, error) {
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	return client.New(cfg, client.Options{Scheme: Scheme()})
}

// Namespace is the namespace of -n, or of the kubeconfig's context.
func (o *Options) Namespace() (string, error) {
	ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

// AddCommands adds the command set, and kubectl's flags, to a root command.
func AddCommands(root *cobra.Command, o *Options) {
	o.ConfigFlags.AddFlags(root.PersistentFlags())
	root.AddCommand(operationCommands(o)...)
	root.AddCommand(viewCommands(o)...)
	root.AddCommand(lintCommands(o)...)
}
