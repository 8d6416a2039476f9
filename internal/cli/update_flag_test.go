package cli

import "flag"

// update rewrites golden files instead of comparing with them: go test ./internal/cli -update.
// Shared by every golden test of the package; define no other -update flag.
var update = flag.Bool("update", false, "rewrite the golden files under testdata")
