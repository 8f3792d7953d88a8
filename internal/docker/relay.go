package docker

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
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
// the real token). The function returned stops the relay.
func (w *Wrapper) Front(ctx context.Context, front func(listen string) (env.Settings, func(), error)) (func(), error) {
	listen, err := w.RelayListen(ctx)
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
// this host's loopback (127.0.0.1:0); on a bridge network (by default
// docker's bridge), the network's gateway, this host's own address on that
// network. Anything else fails closed, with a hint: no network (none),
// another container's (container:NAME), a network whose gateway is not on
// this host (macvlan, ipvlan, overlay), a rootless engine (its networks,
// host included, are in its own namespace), an engine on another machine
// (DOCKER_HOST, a docker context) or in a VM (Docker Desktop).
func (w *Wrapper) RelayListen(ctx context.Context) (string, error) {
	network := cmp.Or(w.Network, "bridge")
	const (
		otherNetwork = "use --network host or a bridge network, or --relay never (argo then gets the token itself, not renewed)"
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
	if network == "host" {
		return "127.0.0.1:0", nil
	}
	out, err := exec.CommandContext(ctx, "docker", "network", "inspect", "--format", "{{json .}}", "--", network).Output()
	var n Network
	if err == nil {
		err = json.Unmarshal(out, &n)
	}
	if err != nil {
		line := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			line, _, _ = strings.Cut(strings.TrimSpace(string(bytes.TrimPrefix(ee.Stderr, []byte("Error response from daemon: ")))), "\n")
		}
		return refuse(otherNetwork, "inspecting network %s: %s", redact.Clean(network), redact.Clean(line))
	}
	addrs, _ := net.InterfaceAddrs()
	ip, err := n.Gateway(addrs)
	if err != nil {
		return refuse(otherNetwork, "%v", err)
	}
	return net.JoinHostPort(ip.String(), "0"), nil
}

// Network is what `docker network inspect` says of a network.
type Network struct {
	Name   string
	Driver string
	IPAM   struct {
		Config []struct{ Subnet, Gateway string }
	}
}

// Gateway is the address of this host (one of addrs) on a bridge network
// n: its gateway, or when the engine does not say (the default bridge of
// some versions) this host's address in its subnet; IPv4 first.
func (n Network) Gateway(addrs []net.Addr) (net.IP, error) {
	if n.Driver != "bridge" {
		return nil, fmt.Errorf("network %s has driver %s, whose gateway is not on this host", redact.Clean(n.Name), redact.Clean(n.Driver))
	}
	var found []net.IP
	for _, c := range n.IPAM.Config {
		_, subnet, _ := net.ParseCIDR(c.Subnet)
		gw := net.ParseIP(c.Gateway)
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if ok && (ipn.IP.Equal(gw) || gw == nil && subnet != nil && subnet.Contains(ipn.IP)) {
				found = append(found, ipn.IP)
			}
		}
	}
	for _, ip := range found {
		if ip.To4() != nil {
			return ip, nil
		}
	}
	if len(found) > 0 {
		return found[0], nil
	}
	return nil, fmt.Errorf("network %s: this host has no address on it (is the engine rootless, remote or in a VM?)", redact.Clean(n.Name))
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
