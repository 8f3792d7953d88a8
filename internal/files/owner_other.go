//go:build !unix

package files

import "io/fs"

// ownerOf: Windows has no uid; a permission error stays as it is.
func ownerOf(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }

func inContainer() bool { return false }
