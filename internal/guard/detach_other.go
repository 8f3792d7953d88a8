//go:build !unix && !windows

package guard

import "os/exec"

// detach: nothing to do here.
func detach(*exec.Cmd) {}
