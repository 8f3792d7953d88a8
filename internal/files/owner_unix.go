//go:build unix

package files

import (
	"io/fs"
	"os"
	"syscall"
)

// ownerOf returns the uid and gid a file belongs to.
func ownerOf(st fs.FileInfo) (uid, gid int, ok bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(sys.Uid), int(sys.Gid), true
}

// inContainer tells whether this process runs in a container (Docker's
// /.dockerenv, Podman's /run/.containerenv).
func inContainer() bool {
	for _, p := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}
