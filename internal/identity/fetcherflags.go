package identity

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"

	"github.com/spf13/pflag"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
)

// maxCA bounds a --fetcher-ca file, as probe bounds a --ca-file.
const maxCA = 1 << 20

// FetcherFlags are provision's flags for the client's fetcher.
type FetcherFlags struct {
	// Out, when set, is where the fetcher's kubeconfig goes; Model is its
	// model (FetchSecret when empty).
	Out, Model string
	// Server (an https URL) and CA (a PEM file), when set, go into the
	// kubeconfig instead of the provisioner's own: CI may reach the API
	// server at another address, through another CA. Only the kubeconfig
	// changes: provision still talks to its own cluster.
	Server, CA string
}

// AddFlags defines --kubeconfig-out, --fetcher, --fetcher-server and
// --fetcher-ca.
func (f *FetcherFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Out, "kubeconfig-out", "", "also make the client's fetcher, the identity CI stores to fetch this client's token and nothing else,\nand write its kubeconfig here (mode 0600, atomically; server and CA from --kubeconfig, or the two flags below)")
	fs.StringVar(&f.Model, "fetcher", "", "the fetcher's model: secret (get on NAME-token-current: env/exec --client; the default) or tokenrequest\n(create on NAME's serviceaccounts/token: --source tokenrequest --service-account NAME; never with --bind)")
	fs.StringVar(&f.Server, "fetcher-server", "", "the API server's https URL in the fetcher's kubeconfig, when CI reaches it at another address than --kubeconfig's\n(e.g. a public endpoint); provision itself still uses --kubeconfig's")
	fs.StringVar(&f.CA, "fetcher-ca", "", "a PEM file of the CA certificates that verify --fetcher-server, for the fetcher's kubeconfig instead of --kubeconfig's")
}

// fetcherTarget is the cluster the fetcher's kubeconfig names, where the
// flags override the provisioner's: an empty field keeps the provisioner's.
type fetcherTarget struct {
	server string
	ca     []byte
}

// check checks the fetcher's flags before anything changes: the model is
// known, the file can be written, --fetcher-server is an https URL and
// --fetcher-ca holds PEM certificates. It returns what overrides the
// provisioner's server and CA.
func (f FetcherFlags) check() (fetcherTarget, error) {
	var t fetcherTarget
	if f.Out == "" {
		for _, fl := range [][2]string{{"--fetcher", f.Model}, {"--fetcher-server", f.Server}, {"--fetcher-ca", f.CA}} {
			if fl[1] != "" {
				return t, exitcode.New(exitcode.Usage, "give --kubeconfig-out FILE: the fetcher's kubeconfig goes there", "%s goes with --kubeconfig-out", fl[0])
			}
		}
		return t, nil
	}
	if f.Model != FetchSecret && f.Model != FetchTokenRequest {
		return t, exitcode.New(exitcode.Usage, "use secret (the default) or tokenrequest", "unknown --fetcher %q", f.Model)
	}
	if err := files.Check(files.File{Path: f.Out}); err != nil {
		hint := "give --kubeconfig-out a path this user may write"
		if errors.Is(err, files.ErrNotRegular) {
			hint = "" // the error says what to give
		}
		return t, exitcode.Wrap(exitcode.Usage, hint, err)
	}
	if f.Server != "" {
		if err := checkServerURL(f.Server); err != nil {
			return t, err
		}
		t.server = f.Server
	}
	if f.CA != "" {
		ca, err := loadCA(f.CA)
		if err != nil {
			return t, err
		}
		t.ca = ca
	}
	return t, nil
}

// checkServerURL refuses a --fetcher-server that is not an https URL of a
// host: the kubeconfig carries a token, which plain http would send in the
// clear.
func checkServerURL(s string) error {
	const hint = "give the API server's URL as CI reaches it, e.g. https://k8s.example.com:6443"
	u, err := url.Parse(s)
	switch {
	case err == nil && u.User != nil: // not echoed: it may hold a password
		return exitcode.New(exitcode.Usage, hint, "--fetcher-server holds a user or password (USER@HOST): the kubeconfig's token is its credential")
	case err == nil && u.Scheme == "http":
		return exitcode.New(exitcode.Usage, "use https: the fetcher's token must not cross the network in the clear", "--fetcher-server %q is plain http", s)
	case err != nil || u.Scheme != "https" || u.Host == "" || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return exitcode.New(exitcode.Usage, hint, "--fetcher-server %q is not an https://HOST[:PORT][/PATH] URL", s)
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return exitcode.New(exitcode.Usage, hint, "--fetcher-server %q has an invalid port", s)
		}
	}
	return nil
}

// loadCA reads a --fetcher-ca file (bounded, as a --ca-file) and checks it
// holds at least one PEM certificate.
func loadCA(path string) ([]byte, error) {
	pem, err := files.Read(path, maxCA)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, "give --fetcher-ca the path of a PEM file of CA certificates", fmt.Errorf("reading --fetcher-ca: %w", err))
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return nil, exitcode.New(exitcode.Usage, "--fetcher-ca must hold PEM certificates", "no certificates in --fetcher-ca file %s", path)
	}
	return pem, nil
}
