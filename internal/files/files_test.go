package files

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small := write("small", "token")
	big := write("big", strings.Repeat("x", 11))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		path    string
		want    string
		wantErr error
	}{
		"regular":         {path: small, want: "token"},
		"symlink to one":  {path: link, want: "token"},
		"too large":       {path: big, wantErr: ErrTooLarge},
		"FIFO, no writer": {path: fifo, wantErr: ErrNotRegular},
		"directory":       {path: dir, wantErr: ErrNotRegular},
		"missing":         {path: filepath.Join(dir, "nope"), wantErr: os.ErrNotExist},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Read(tc.path, 10)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v; want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	owned := func(head []byte) bool { return strings.HasPrefix(string(head), "#mine") }
	if err := os.WriteFile(a, []byte("old a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("#theirs"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Write(File{Path: a, Data: []byte("new a")}, File{Path: b, Data: []byte("#mine new b"), Owned: owned})
	if !errors.Is(err, ErrNotOwned) {
		t.Fatalf("error %v; want ErrNotOwned", err)
	}
	for p, want := range map[string]string{a: "old a", b: "#theirs"} {
		if got, _ := os.ReadFile(p); string(got) != want {
			t.Errorf("%s = %q after a refused write; want %q", p, got, want)
		}
	}
	if err := os.WriteFile(b, []byte("#mine old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(File{Path: a, Data: []byte("new a")}, File{Path: b, Data: []byte("#mine new b"), Owned: owned}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d entries; want no temporary file left", len(entries))
	}
	for p, want := range map[string]string{a: "new a", b: "#mine new b"} {
		st, _ := os.Stat(p)
		if got, _ := os.ReadFile(p); string(got) != want || st.Mode().Perm() != 0o600 {
			t.Errorf("%s = %q, mode %v; want %q, 0600", p, got, st.Mode().Perm(), want)
		}
	}
}

func TestWritableRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "target"), link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, link, dir} {
		if err := writable(p); !errors.Is(err, ErrNotRegular) {
			t.Errorf("writable(%s) = %v; want ErrNotRegular", p, err)
		}
	}
	if err := writable(filepath.Join(dir, "missing", "x")); err == nil {
		t.Error("a missing directory is writable")
	}
	if err := writable(filepath.Join(dir, "new")); err != nil {
		t.Errorf("a new file: %v", err)
	}
}

// A FIFO or pipe is read to its end by ReadStream, bounded in size and
// time; Read still refuses it.
func TestReadStream(t *testing.T) {
	t.Parallel()
	const timeout = 700 * time.Millisecond
	fifo := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// writer opens path for writing after delay, writes each chunk, then
	// closes it, or holds it open until the test ends when hold.
	writer := func(t *testing.T, path string, delay time.Duration, hold bool, chunks ...string) {
		done := make(chan struct{})
		t.Cleanup(func() { close(done) })
		go func() {
			time.Sleep(delay)
			w, err := os.OpenFile(path, os.O_WRONLY, 0) // blocks until the reader opens
			if err != nil {
				return
			}
			defer w.Close()
			for _, c := range chunks {
				if _, err := w.WriteString(c); err != nil {
					return
				}
			}
			if hold {
				<-done
			}
		}()
	}
	endless := func(t *testing.T, path string) {
		done := make(chan struct{})
		t.Cleanup(func() { close(done) })
		go func() {
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer w.Close()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := w.WriteString(strings.Repeat("x", 4096)); err != nil {
					return
				}
			}
		}()
	}
	tests := map[string]struct {
		setup     func(t *testing.T, path string)
		want      string
		wantErr   error
		errHas    string
		atTimeout bool // returns at the timeout, not before
	}{
		"writer writes and closes":             {setup: func(t *testing.T, p string) { writer(t, p, 0, false, "to", "ken\n") }, want: "token\n"},
		"writer opens late":                    {setup: func(t *testing.T, p string) { writer(t, p, 200*time.Millisecond, false, "token") }, want: "token"},
		"writer pauses between writes":         {setup: func(t *testing.T, p string) { writer(t, p, 0, false, "to", "", "ken") }, want: "token"},
		"no writer":                            {setup: func(*testing.T, string) {}, wantErr: ErrTimeout, errHas: "no writer has opened", atTimeout: true},
		"writer never writes":                  {setup: func(t *testing.T, p string) { writer(t, p, 0, true) }, wantErr: ErrTimeout, errHas: "whose writer has written nothing and not closed it", atTimeout: true},
		"writer never closes":                  {setup: func(t *testing.T, p string) { writer(t, p, 0, true, "tok") }, wantErr: ErrTimeout, errHas: "whose writer wrote 3 bytes and has not closed it", atTimeout: true},
		"writer never ends: the size bound":    {setup: endless, wantErr: ErrTooLarge, errHas: "a FIFO that gave more than 65536 bytes"},
		"writer closes having written nothing": {setup: func(t *testing.T, p string) { writer(t, p, 0, false) }, wantErr: ErrTimeout, atTimeout: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := fifo(t)
			tc.setup(t, p)
			start := time.Now()
			got, err := ReadStream(context.Background(), p, 64<<10, timeout)
			took := time.Since(start)
			if !errors.Is(err, tc.wantErr) || (err != nil && !strings.Contains(err.Error(), tc.errHas)) {
				t.Fatalf("error %v; want %v containing %q", err, tc.wantErr, tc.errHas)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if took > timeout+500*time.Millisecond || (tc.atTimeout && took < timeout) {
				t.Errorf("took %s; timeout %s", took, timeout)
			}
		})
	}
	t.Run("Read refuses a FIFO", func(t *testing.T) {
		t.Parallel()
		p := fifo(t)
		writer(t, p, 0, true, "token")
		if _, err := Read(p, 10); !errors.Is(err, ErrNotRegular) {
			t.Errorf("error %v; want ErrNotRegular", err)
		}
	})
	t.Run("a device is still refused", func(t *testing.T) {
		t.Parallel()
		if _, err := ReadStream(context.Background(), os.DevNull, 10, timeout); !errors.Is(err, ErrNotRegular) {
			t.Errorf("error %v; want ErrNotRegular", err)
		}
	})
	t.Run("a signal ends the wait", func(t *testing.T) {
		t.Parallel()
		for _, hold := range []bool{false, true} { // no writer; a writer that writes nothing
			p := fifo(t)
			if hold {
				writer(t, p, 0, true)
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			_, err := ReadStream(ctx, p, 10, time.Minute)
			if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
				t.Errorf("writer held %t: error %v after %s; want context.Canceled at once", hold, err, time.Since(start))
			}
		}
	})
	// A process substitution: /dev/fd/N of a pipe whose writer was there
	// from the start; its end is the end, even with nothing written.
	t.Run("pipe through /proc/self/fd", func(t *testing.T) {
		t.Parallel()
		if runtime.GOOS != "linux" {
			t.Skip("/proc/self/fd is Linux's")
		}
		for _, data := range []string{"token", ""} {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			go func() { _, _ = w.WriteString(data); w.Close() }()
			start := time.Now()
			got, err := ReadStream(context.Background(), fmt.Sprintf("/proc/self/fd/%d", r.Fd()), 10, time.Minute)
			r.Close()
			if err != nil || string(got) != data || time.Since(start) > 2*time.Second {
				t.Errorf("got %q, %v after %s; want %q at once", got, err, time.Since(start), data)
			}
		}
	})
}

// A permission error names whose the file is; root reads everything, so
// the error is made here and explained as a real open would be.
func TestExplainPermission(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := explain(p, &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES})
	var u *UnreadableError
	if !errors.As(err, &u) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("error %v; want an *UnreadableError wrapping the permission error", err)
	}
	want := fmt.Sprintf("open %s: permission denied: %s is not readable by uid %d (argo-cred's): it belongs to uid %d (gid %d), mode 0600",
		p, p, os.Geteuid(), os.Getuid(), os.Getgid())
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if h := Hint(err); !strings.Contains(h, "uid") {
		t.Errorf("hint %q", h)
	}
	if err := explain(p, os.ErrNotExist); err != os.ErrNotExist {
		t.Errorf("another error changed: %v", err)
	}
	if err := Readable(p); err != nil {
		t.Errorf("Readable: %v", err)
	}
}
