package docker

import (
	"cmp"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Front starts the relay (argo-cred's, in this process) that the
// container's argo talks to instead of the Argo Server: it listens where
// the container reaches it, and no farther (RelayListen); the container
// then gets front's settings (the relay's address and per-run value, never
// the real token). The function returned stops the relay. Where there can
// be no relay (RelayListen refuses) and fallback is set (--relay auto),
// note says so and the container gets the token itself, as before the
// relay; without fallback (--relay always) that is an error.
func (w *Wrapper) Front(ctx context.Context, fallback bool, note func(string), front func(listen string) (env.Settings, func(), error)) (func(), error) {
	listen, err := w.RelayListen(ctx)
	if err != nil && fallback {
		note("note: argo gets the token itself, not renewed: " + err.Error() + "; for a relay that renews it: --network host, or argo-cred's image")
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	s, stop, err := front(listen)
	if err != nil {
		return nil, err
	}
	w.Settings, w.relay = s, true
	return stop, nil
}

// RelayListen is the address the relay listens on: with --network host,
// this host's loopback (127.0.0.1:0). Anything else fails closed, with a
// hint: a bridge network (the per-run value would cross it in clear text),
// no network (none), another container's (container:NAME), a rootless
// engine (its networks, host included, are in its own namespace), an
// engine on another machine (DOCKER_HOST, a docker context) or in a VM
// (Docker Desktop).
func (w *Wrapper) RelayListen(ctx context.Context) (string, error) {
	network := cmp.Or(w.Network, "bridge")
	const (
		otherNetwork = "use --network host, or run argo-cred's image (it renews the token inside the container), or --relay never (argo then gets the token itself, not renewed)"
		otherEngine  = "run argo-cred's image instead, which renews the token inside the container, or use --relay never"
	)
	refuse := func(hint, why string, args ...any) (string, error) {
		return "", exitcode.New(exitcode.Usage, hint, "the container could not reach argo-cred's relay, which renews the token: "+why, args...)
	}
	for _, a := range w.Extra {
		if a == "--network" || a == "--net" || strings.HasPrefix(a, "--network=") || strings.HasPrefix(a, "--net=") {
			return "", exitcode.New(exitcode.Usage, "give the network with --network NAME", "--docker-arg %s: argo-cred must know the container's network to put its relay where the container reaches it", redact.Clean(a))
		}
	}
	switch {
	case runtime.GOOS != "linux":
		return refuse(otherEngine, "on %s the Docker engine runs in a VM, whose networks are not this host's", runtime.GOOS)
	case w.Engine.Rootless:
		return refuse(otherEngine, "the engine is rootless, and its networks (host included) are in its own namespace, not this host's")
	case network == "none":
		return refuse(otherNetwork, "--network none gives it no network")
	case strings.HasPrefix(network, "container:"):
		return refuse(otherNetwork, "--network %s is another container's, which argo-cred does not follow", redact.Clean(network))
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if host := engineHost(ctx); !local(host) {
		return refuse(otherEngine, "the Docker engine (%s) is not on this machine", redact.Clean(host))
	}
	if network != "host" {
		// On a shared bridge the per-run value would cross in clear text,
		// where another container can read it (ARP spoofing: an adversary
		// test did): until that hop has TLS of its own, not there.
		return refuse(otherNetwork, "on network %s the relay's per-run value would cross a shared bridge in clear text, where another container can read it", redact.Clean(network))
	}
	return "127.0.0.1:0", nil
}

// engineHost is where the docker CLI reaches the engine: the current
// context's endpoint (DOCKER_HOST and DOCKER_CONTEXT included), or
// DOCKER_HOST when the CLI has no contexts.
func engineHost(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}").Output()
	if err != nil {
		return os.Getenv("DOCKER_HOST")
	}
	return strings.TrimSpace(string(out))
}

// local tells whether an engine endpoint is on this machine: a Unix socket
// or a named pipe, or TCP to a loopback address (an SSH endpoint is not).
func local(host string) bool {
	u, err := url.Parse(host)
	switch {
	case host == "":
		return true
	case err != nil:
		return false
	case u.Scheme == "unix" || u.Scheme == "npipe" || u.Scheme == "fd":
		return true
	case u.Scheme == "tcp":
		ip := net.ParseIP(u.Hostname())
		return u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()
	}
	return false
}
