// Command aviary is Aviary's single binary: the controller manager and, as subcommands, the
// rest of the project's tools.
package main

import (
	"fmt"
	"os"

	"github.com/aviary-dev/aviary/internal/app"
)

func main() {
	if err := app.NewRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}
