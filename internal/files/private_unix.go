//go:build unix

package files

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// private checks that a directory belongs to this user and that others
// may not write to it.
func private(dir string, st fs.FileInfo) error {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("%s belongs to uid %d, not to this user (uid %d)", dir, sys.Uid, os.Getuid())
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s may be written by others (mode %04o)", dir, st.Mode().Perm())
	}
	return nil
}

// Safe tells whether dir can hold a private directory: it belongs to this
// user (or to root), and others may not write to it unless its sticky bit
// keeps them from renaming what is not theirs.
func Safe(dir string) bool {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if ok && int(sys.Uid) != os.Getuid() && sys.Uid != 0 {
		return false
	}
	return st.Mode().Perm()&0o022 == 0 || st.Mode()&fs.ModeSticky != 0
}
