//go:build !linux

package child

import "os"

// asInit: argo-cred is PID 1 only in its (Linux) image.
func asInit() chan os.Signal { return nil }

func reap(int) (int, bool) { return 0, false }
