package cli

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// runOp runs `aviary args...` with the operation commands, a client that fails the test if a
// command reaches the API server, and returns stdout and the error.
func runOp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	o := NewOptions(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	o.NewClient = func() (client.Client, error) { return nil, errNoServer }
	root := &cobra.Command{Use: "aviary", SilenceUsage: true, SilenceErrors: true}
	o.ConfigFlags.AddFlags(root.PersistentFlags())
	root.AddCommand(operationCommands(o)...)
	root.SetArgs(append(args, "-n", "test"))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

var errNoServer = errors.New("no server in unit tests")
