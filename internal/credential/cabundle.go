package credential

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
)

// systemRoots are the files Go's crypto/x509 reads the system roots from on
// Linux, in its order.
var systemRoots = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

const bundleMarker = "# argo-cred CA bundle: the system roots and --ca-file"

// CABundle writes, once per content, a PEM bundle of the roots in use (the
// SSL_CERT_FILE already set, else the system's) and the certificates of
// caFile, and returns its path. SSL_CERT_FILE replaces Go's roots for every
// later TLS client of the job; with the bundle, argo trusts the Argo
// Server's CA and git or curl still trust public hosts. The file holds only
// public certificates: mode 0644, so a container user can read it mounted.
func CABundle(caFile string, lookup func(string) (string, bool)) (string, error) {
	ca, err := files.Read(caFile, 1<<20)
	if err != nil {
		return "", exitcode.Wrap(exitcode.Usage, "check --ca-file", err)
	}
	base := systemRoots
	if cur, _ := lookup("SSL_CERT_FILE"); cur != "" {
		base = []string{cur}
	}
	var roots []byte
	for _, p := range base {
		if b, err := files.Read(p, 4<<20); err == nil {
			roots = b
			break
		}
	}
	var out bytes.Buffer
	out.WriteString(bundleMarker + "\n")
	seen := map[string]bool{}
	for _, src := range [][]byte{roots, ca} {
		for rest := src; ; {
			var block *pem.Block
			if block, rest = pem.Decode(rest); block == nil {
				break
			}
			if block.Type != "CERTIFICATE" || seen[string(block.Bytes)] {
				continue
			}
			seen[string(block.Bytes)] = true
			_ = pem.Encode(&out, &pem.Block{Type: block.Type, Bytes: block.Bytes})
		}
	}
	dir, err := bundleDir()
	if err != nil {
		return "", exitcode.Wrap(exitcode.Usage, "set XDG_CACHE_HOME to a writable directory of yours", fmt.Errorf("writing the CA bundle: %w", err))
	}
	sum := sha256.Sum256(out.Bytes())
	path := filepath.Join(dir, "ca-"+hex.EncodeToString(sum[:8])+".pem")
	if b, err := files.Read(path, int64(out.Len())); err == nil && bytes.Equal(b, out.Bytes()) {
		return path, nil
	}
	if err := files.Write(files.File{Path: path, Data: out.Bytes(), Mode: 0o644}); err != nil {
		return "", exitcode.Wrap(exitcode.Usage, "set XDG_CACHE_HOME to a writable directory", fmt.Errorf("writing the CA bundle: %w", err))
	}
	return path, nil
}

// bundleDir is the user's own directory for CA bundles: under the user's
// cache directory when that is the user's (owned by the user or root, not
// writable by others unless sticky), else (HOME unset, or a cache
// directory another user owns) a directory of the user's id under the
// temporary directory; either must be the user's and not writable by
// others.
func bundleDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	// The cache directory's own directory must be the user's too: another
	// user who owns it (a HOME shared in an image) could swap ours out.
	if err == nil && files.Safe(dir) {
		dir = filepath.Join(dir, "argo-cred")
	} else {
		dir = filepath.Join(os.TempDir(), "argo-cred-"+strconv.Itoa(os.Getuid()))
	}
	return dir, files.PrivateDir(dir)
}
