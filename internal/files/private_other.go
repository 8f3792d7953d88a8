//go:build !unix

package files

import (
	"fmt"
	"os"
)

// PrivateDir makes sure dir is a directory, creating it if it is missing.
// On Windows the user's temporary and cache directories are in the user's
// profile, which other users cannot write to.
func PrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}
