package actions

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeArchive is a linux/amd64 release archive of version whose argo-cred
// is a script that prints its version.
func fakeArchive(t *testing.T, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	script := "#!/bin/sh\necho \"argo-cred " + version + "\"\n"
	must(t, tw.WriteHeader(&tar.Header{Name: "argo-cred_" + version + "_linux_amd64/argo-cred", Mode: 0o755, Size: int64(len(script)), Typeflag: tar.TypeReg}))
	_, err := tw.Write([]byte(script))
	must(t, err)
	must(t, tw.Close())
	must(t, gz.Close())
	return buf.Bytes()
}

// install.sh on its own, against a release server on 127.0.0.1 that
// misbehaves: the download is bounded, so a server that sends without end
// (or says it will send gigabytes) fails the step within seconds instead
// of filling the runner's disk for --max-time's five minutes.
func TestSetupDownloadBounded(t *testing.T) {
	t.Parallel()
	const version = "v1.2.3"
	name := "argo-cred_" + version + "_linux_amd64.tar.gz"
	good := fakeArchive(t, version)
	sum := sha256.Sum256(good)
	action := setupCopy(t, hex.EncodeToString(sum[:])+"  "+name+"\n")
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/good/" + version + "/" + name:
			_, _ = w.Write(good)
		case "/endless/" + version + "/" + name, "/huge/" + version + "/" + name:
			if strings.HasPrefix(r.URL.Path, "/huge/") {
				w.Header().Set("Content-Length", strconv.Itoa(10<<30))
			}
			chunk := bytes.Repeat([]byte("x"), 1<<16)
			for r.Context().Err() == nil {
				n, err := w.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ path, want string }{
		{"good", "argo-cred " + version + ": " + name + " verified"},
		{"endless", "could not download"},
		{"huge", "could not download"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			temp := t.TempDir()
			ghPath, ghOut := filepath.Join(temp, "path"), filepath.Join(temp, "output")
			cmd := exec.Command("bash", filepath.Join(action, "install.sh"))
			cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SETUP_OS=Linux", "SETUP_ARCH=X64", "SETUP_BASE_URL=" + srv.URL + "/" + tc.path,
				"RUNNER_TEMP=" + temp, "GITHUB_PATH=" + ghPath, "GITHUB_OUTPUT=" + ghOut}
			before, start := sent.Load(), time.Now()
			out, err := cmd.CombinedOutput()
			took, served := time.Since(start), sent.Load()-before
			if !strings.Contains(string(out), tc.want) || (err == nil) != (tc.path == "good") {
				t.Fatalf("%v: %s; want %q", err, out, tc.want)
			}
			if testing.Verbose() {
				t.Logf("%s", out)
			}
			if tc.path == "good" {
				return
			}
			left, _ := filepath.Glob(filepath.Join(temp, "argo-cred-setup.*"))
			added, _ := os.ReadFile(ghPath)
			if took > 30*time.Second || served > 300<<20 || len(left) > 0 || len(added) > 0 {
				t.Errorf("took %s, served %d MiB, left %q, PATH added %q; want under 30s and 300 MiB (the 200 MiB cap and what the sockets buffer), nothing left", took.Round(time.Second), served>>20, left, added)
			}
		})
	}
}

// An input the step echoes in its refusal (version, base-url) cannot add
// a workflow command: the runner reads commands from stdout and stderr
// alike, so the message is one line on each, its annotation escaped.
func TestSetupRefusalOneLine(t *testing.T) {
	t.Parallel()
	action := setupCopy(t, "")
	for name, env := range map[string]string{
		"version":  "SETUP_VERSION=v1.2.3\n::set-output name=path::/tmp/evil\r::warning::injected %0A",
		"base-url": "SETUP_BASE_URL=http://mirror.example\n::set-output name=path::/tmp/evil",
	} {
		t.Run(name, func(t *testing.T) {
			temp := t.TempDir()
			cmd := exec.Command("bash", filepath.Join(action, "install.sh"))
			cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SETUP_OS=Linux", "SETUP_ARCH=X64", "SETUP_SHA256=" + strings.Repeat("a", 64),
				"SETUP_VERSION=v1.2.3", "RUNNER_TEMP=" + temp, "GITHUB_PATH=" + filepath.Join(temp, "path"), "GITHUB_OUTPUT=" + filepath.Join(temp, "output"), env}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err == nil {
				t.Fatal("not refused")
			}
			lines := strings.FieldsFunc(stdout.String()+stderr.String(), func(r rune) bool { return r == '\n' || r == '\r' })
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "::error title=argo-cred setup::") || (name == "version" && !strings.Contains(lines[0], "injected %250A")) ||
				!strings.HasPrefix(lines[1], "argo-cred setup: ") {
				t.Errorf("want one annotation and one plain line; got %q", lines)
			}
			t.Logf("%q", lines)
		})
	}
}
