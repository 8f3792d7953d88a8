//go:build unix

package files

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// PrivateDir makes sure dir is a directory only this user can write to: it
// creates it 0700 if it is missing, and refuses one that is a symlink,
// belongs to another user, or that others may write to (another local
// user could otherwise plant or swap what argo-cred writes there).
func PrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case st.Mode()&fs.ModeType != fs.ModeDir:
		return fmt.Errorf("%s is not a directory (a symlink or a file)", dir)
	case ok && int(sys.Uid) != os.Getuid():
		return fmt.Errorf("%s belongs to uid %d, not to this user (uid %d)", dir, sys.Uid, os.Getuid())
	case st.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s may be written by others (mode %04o)", dir, st.Mode().Perm())
	}
	return nil
}
