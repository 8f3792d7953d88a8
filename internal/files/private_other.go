//go:build !unix

package files

import "io/fs"

// private: on Windows the user's temporary and cache directories are in
// the user's profile, which other users cannot write to.
func private(string, fs.FileInfo) error { return nil }

// Safe: on Windows the user's profile directories are the user's own.
func Safe(dir string) bool { return true }
