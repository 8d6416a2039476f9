// Command kubectl-aviary is the aviary binary as a kubectl plugin: on the PATH, kubectl runs it
// for `kubectl aviary <command>`.
package main

import (
	"fmt"
	"os"

	"github.com/aviary-dev/aviary/internal/app"
)

func main() {
	if err := app.NewRootCommand(app.AsKubectlPlugin()).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
