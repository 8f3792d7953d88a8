package cli

import (
	"io"

	ver "github.com/argo-cred/argo-cred/internal/version"
)

// writeVersion prints `argo-cred version` (--output text or json).
func writeVersion(w io.Writer, output string) error { return ver.Write(w, output) }
