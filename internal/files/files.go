// Package files reads and writes the files argo-cred is pointed at, safely:
// it reads regular files, bounded in size, and only where asked a FIFO or
// pipe, bounded in size and time, never blocking past either; it writes
// only regular files, mode 0600, atomically (a temporary file in the same
// directory, then a rename), never through a symlink, over a device, FIFO
// or directory, and never leaves anything half-written.
package files

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// ErrNotRegular is wrapped by errors about a path that exists and is not a
// regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by errors about a file larger than allowed.
var ErrTooLarge = errors.New("file too large")

// ErrTimeout is wrapped by errors about a FIFO or pipe that did not end in
// time (a *TimeoutError).
var ErrTimeout = errors.New("no end of data in time")

// Read returns the contents of the regular file at path (symlinks
// followed, as for a projected token), refusing FIFOs, devices and
// directories without blocking, and files larger than max bytes. A file
// this process may not read is an *UnreadableError naming whose it is.
func Read(path string, max int64) ([]byte, error) {
	return read(context.Background(), path, max, 0)
}

// ReadStream is Read that also reads a FIFO or a pipe to its end, such as
// a shell's process substitution (--token-file <(vault kv get …)): at most
// max bytes, within timeout and until ctx ends, never blocking past them.
// A FIFO no writer has opened yet is waited for; one that does not end in
// time is a *TimeoutError. Devices, sockets and directories are refused.
func ReadStream(ctx context.Context, path string, max int64, timeout time.Duration) ([]byte, error) {
	return read(ctx, path, max, timeout)
}

func read(ctx context.Context, path string, max int64, timeout time.Duration) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, explain(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode()&fs.ModeNamedPipe != 0 && timeout > 0 && runtime.GOOS != "windows" {
		return readPipe(ctx, f, path, max, timeout)
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

// TimeoutError is a FIFO or pipe that did not end within the time allowed.
type TimeoutError struct {
	Path    string
	Timeout time.Duration
	// Writer says what its writer did: "no writer has opened it …",
	// "its writer has written nothing and not closed it", ….
	Writer string
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s did not end within %s: a FIFO %s", e.Path, e.Timeout, e.Writer)
}

// Is makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// readPipe reads f, a FIFO or pipe opened non-blocking, to its end. Where
// the runtime polls pipes (Linux), a read waits for data until the
// deadline; elsewhere it returns EAGAIN at once and the loop waits. A FIFO
// no writer has opened reads as its end: for a named FIFO that means
// waiting for a writer, for a pipe (/dev/fd/N of a process substitution,
// whose writer was there from the start) it is the end.
func readPipe(ctx context.Context, f *os.File, path string, max int64, timeout time.Duration) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	_ = f.SetReadDeadline(deadline) // not supported everywhere: the loop checks too
	// A signal ends the wait at once (the read returns ErrDeadlineExceeded).
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Now()) })
	defer stop()
	anonymous := isPipe(path)
	var out []byte
	buf := make([]byte, 16<<10)
	pause := 5 * time.Millisecond
	silent := false // the last read waited on a writer that wrote nothing
	for {
		if time.Now().After(deadline) {
			e := &TimeoutError{Path: path, Timeout: timeout, Writer: "no writer has opened (or its writer closed it having written nothing)"}
			switch {
			case len(out) > 0:
				e.Writer = fmt.Sprintf("whose writer wrote %d bytes and has not closed it", len(out))
			case silent:
				e.Writer = "whose writer has written nothing and not closed it"
			}
			return nil, e
		}
		n, err := f.Read(buf[:min(int64(len(buf)), max+1-int64(len(out)))])
		out = append(out, buf[:n]...)
		if int64(len(out)) > max {
			return nil, fmt.Errorf("%s is a FIFO that gave more than %d bytes: %w", path, max, ErrTooLarge)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF):
			if len(out) > 0 || anonymous {
				return out, nil
			}
			silent = false // no writer yet: wait for one
		case errors.Is(err, os.ErrDeadlineExceeded):
			silent = true // the runtime waited for data until the deadline
			continue
		case errors.Is(err, syscall.EAGAIN):
			silent = true // a writer, and no data yet
		default:
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(pause, time.Until(deadline))):
		}
		pause = min(pause*2, 100*time.Millisecond)
	}
}

// isPipe tells whether path names an anonymous pipe through /dev/fd or
// /proc (Linux: the link reads "pipe:[inode]"), as a shell's process
// substitution <(…) gives.
func isPipe(path string) bool {
	target, err := os.Readlink(path)
	return err == nil && strings.HasPrefix(target, "pipe:")
}

// UnreadableError is a file this process may not read, with whose it is:
// in a container, the usual cause is a mounted file of the host's user and
// a process of another uid (argo-cred's image runs as 8737).
type UnreadableError struct {
	Path string
	UID  int // this process's
	// Owner, Group and Mode are the file's, or of the first directory on
	// the way this process may not search (Dir true).
	Owner, Group int
	Mode         fs.FileMode
	Dir          string
	Err          error
}

func (e *UnreadableError) Error() string {
	what := e.Path + " is not readable"
	if e.Dir != "" {
		what = "its directory " + e.Dir + " may not be searched"
	}
	return fmt.Sprintf("%s: %s by uid %d (argo-cred's): it belongs to uid %d (gid %d), mode %04o",
		e.Err, what, e.UID, e.Owner, e.Group, e.Mode.Perm())
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// Hint says what to do: in a container, run it as the file's owner.
func (e *UnreadableError) Hint() string {
	if inContainer() {
		return fmt.Sprintf("run the container as the file's owner (uid %d): docker run --user \"$(id -u):$(id -g)\" …; or make the file readable by uid %d", e.Owner, e.UID)
	}
	return fmt.Sprintf("make it readable by uid %d (chmod or chown), or run argo-cred as uid %d", e.UID, e.Owner)
}

// Hint returns the hint of an *UnreadableError in err, or "".
func Hint(err error) string {
	var u *UnreadableError
	if errors.As(err, &u) {
		return u.Hint()
	}
	return ""
}

// Readable checks, without reading, that this process may open path for
// reading; an *UnreadableError says whose the file is.
func Readable(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return explain(path, err)
	}
	return f.Close()
}

// explain turns a permission error opening path into an *UnreadableError.
func explain(path string, err error) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	uid := os.Geteuid()
	st, serr := os.Stat(path)
	dir := ""
	for d := filepath.Dir(path); serr != nil; d = filepath.Dir(d) {
		// Not even its status: the nearest directory whose status this
		// process may read is the one it may not search.
		if st, serr = os.Stat(d); serr == nil {
			dir = d
		} else if d == filepath.Dir(d) {
			return err
		}
	}
	owner, group, ok := ownerOf(st)
	if !ok || uid < 0 {
		return err
	}
	return &UnreadableError{Path: path, UID: uid, Owner: owner, Group: group, Mode: st.Mode(), Dir: dir, Err: err}
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

// writable checks, without writing, that path can be written by Write: it
// does not exist, or is a regular file (not a symlink), and its directory
// exists.
func writable(path string) error {
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
		if err := writable(f.Path); err != nil {
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

// WriteWhole writes what build makes to w, in one write, once check has
// passed: nothing refused or half-made ever reaches w.
func WriteWhole(w io.Writer, check func() error, build func(*bytes.Buffer)) error {
	if err := check(); err != nil {
		return err
	}
	var b bytes.Buffer
	build(&b)
	_, err := w.Write(b.Bytes())
	return err
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
