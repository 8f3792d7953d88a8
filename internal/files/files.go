// Package files reads and writes the files argo-cred is pointed at, safely:
// it reads only regular files, bounded in size and never blocking on a FIFO;
// it writes only regular files, mode 0600, atomically (a temporary file in
// the same directory, then a rename), never through a symlink, over a
// device, FIFO or directory, and never leaves anything half-written.
package files

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrNotRegular is wrapped by errors about a path that exists and is not a
// regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by errors about a file larger than allowed.
var ErrTooLarge = errors.New("file too large")

// Read returns the contents of the regular file at path (symlinks
// followed, as for a projected token), refusing FIFOs, devices and
// directories without blocking, and files larger than max bytes.
func Read(path string, max int64) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is %s, %w", path, kind(st.Mode()), ErrNotRegular)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", path, max, ErrTooLarge)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", path, max, ErrTooLarge)
	}
	return b, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// Writable checks, without writing, that path can be written by Write: it
// does not exist, or is a regular file (not a symlink), and its directory
// exists.
func Writable(path string) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is %s, %w; give the path of a regular file", path, kind(st.Mode()), ErrNotRegular)
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return err
	}
	if !dir.IsDir() {
		return fmt.Errorf("%s is not a directory", filepath.Dir(path))
	}
	return nil
}

// File is one file to write: its path and its contents.
type File struct {
	Path string
	Data []byte
	// Owned, if not nil, tells whether an existing file at Path may be
	// replaced (for a file the user did not name, such as one argo-cred
	// writes beside it): it gets the first bytes of the existing file.
	Owned func(head []byte) bool
	// Mode is the file's mode; 0 means 0600.
	Mode os.FileMode
}

// ErrNotOwned is wrapped by errors about an existing file Write may not
// replace.
var ErrNotOwned = errors.New("not written by argo-cred")

// Write writes every file or none: all are checked, then written to
// temporary files (mode 0600) beside their paths, then renamed into place.
// If anything fails before the renames, nothing at any path changes.
func Write(list ...File) error {
	if err := Check(list...); err != nil {
		return err
	}
	var temps []string
	defer func() {
		for _, t := range temps {
			_ = os.Remove(t) // gone after a rename; left only on failure
		}
	}()
	for _, f := range list {
		t, err := writeTemp(f.Path, f.Data, f.Mode)
		if err != nil {
			return err
		}
		temps = append(temps, t)
	}
	for i, f := range list {
		if err := os.Rename(temps[i], f.Path); err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	return nil
}

// Check tells, without writing, whether Write could write every file: each
// path is Writable, and an existing file with an Owned test passes it.
func Check(list ...File) error {
	for _, f := range list {
		if err := Writable(f.Path); err != nil {
			return err
		}
		if f.Owned != nil {
			head, err := readHead(f.Path)
			if err != nil {
				return err
			}
			if head != nil && !f.Owned(head) {
				return fmt.Errorf("%s exists and argo-cred did not write it: %w", f.Path, ErrNotOwned)
			}
		}
	}
	return nil
}

func readHead(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 256)
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:n], nil
}

func writeTemp(path string, data []byte, mode os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	name := f.Name()
	if mode != 0 {
		err = f.Chmod(mode)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(name)
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return name, nil
}

// Append appends data to path in one write, creating it with mode 0600 if
// needed: for the files a CI runner hands out ($GITHUB_ENV,
// $GITHUB_STEP_SUMMARY), which must be regular files.
func Append(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return fmt.Errorf("appending to %s: %w", path, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("%s is %s, %w", path, kind(st.Mode()), ErrNotRegular)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("appending to %s: %w", path, err)
	}
	return nil
}

// Render runs write into memory, so a failing writer leaves nothing behind.
func Render(write func(io.Writer) error) ([]byte, error) {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

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
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory (a symlink or a file)", dir)
	}
	return private(dir, st)
}
