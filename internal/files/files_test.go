package files

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

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
		if err := Writable(p); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Writable(%s) = %v; want ErrNotRegular", p, err)
		}
	}
	if err := Writable(filepath.Join(dir, "missing", "x")); err == nil {
		t.Error("a missing directory is writable")
	}
	if err := Writable(filepath.Join(dir, "new")); err != nil {
		t.Errorf("a new file: %v", err)
	}
}
