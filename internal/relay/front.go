package relay

import (
	"context"
	"crypto/tls"
	"log/slog"
	"slices"
	"strings"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// Modes of --relay.
const (
	Auto   Mode = "auto"
	Always Mode = "always"
	Never  Mode = "never"
)

// Mode is --relay's value. It checks itself when it is set, by a flag
// (pflag.Value) or the environment (envconfig.Decoder).
type Mode string

// Set takes auto, always or never.
func (m *Mode) Set(s string) error {
	switch Mode(s) {
	case Auto, Always, Never:
		*m = Mode(s)
		return nil
	}
	return exitcode.New(exitcode.Usage, "use auto, always or never", "unknown --relay %q", s)
}

// Decode is Set, for envconfig.
func (m *Mode) Decode(s string) error { return m.Set(s) }

func (m *Mode) String() string { return string(*m) }

// Type names the value in help.
func (m *Mode) Type() string { return "mode" }

// Wanted decides whether a command runs behind the relay. always and
// never say so; auto: when the token can be renewed (it expires, or a
// rotation may replace it), or when the command waits on a stream, which
// the relay keeps open across the server's watch ends.
func Wanted(mode Mode, renewable bool, args []string) bool {
	switch mode {
	case Always:
		return true
	case Never:
		return false
	}
	return renewable || Waits(args)
}

// Waits tells whether a command line, or a shell script in one of its
// arguments, looks like an argo command that waits on a stream: wait,
// watch, submit --wait (-w), logs --follow (-f).
func Waits(args []string) bool {
	var words []string
	for _, a := range args {
		words = append(words, strings.Fields(a)...)
	}
	has := func(w ...string) bool {
		return slices.ContainsFunc(words, func(x string) bool { return slices.Contains(w, x) })
	}
	return has("wait", "watch", "--wait", "--follow") || (has("-w") && has("submit", "resubmit", "retry")) || (has("-f") && has("logs"))
}

// Front starts the relay in front of s's Argo Server, reached with tc, and
// the Keeper's renewal. It returns the settings the command uses (the
// relay's address, its per-run value, plain HTTP on loopback) and the
// function that stops both.
func Front(ctx context.Context, s env.Settings, tc *tls.Config, k *Keeper, listen string, log *slog.Logger, note func(string)) (env.Settings, func(), error) {
	if log != nil {
		k.log = log
	}
	r, err := Start(Config{Server: s.Server, Secure: s.Secure, TLS: tc, Listen: listen, Tokens: k, Log: log, Note: note})
	if err != nil {
		return s, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	go k.Run(ctx)
	out := s
	out.Server, out.Authorization = r.Server(), r.Authorization()
	out.Secure, out.InsecureSkipVerify, out.CAFile, out.CABundle = false, false, "", ""
	return out, func() { cancel(); _ = r.Close() }, nil
}
