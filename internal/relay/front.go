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
	Auto   = "auto"
	Always = "always"
	Never  = "never"
)

// Wanted decides whether a command runs behind the relay. always and
// never say so; auto: when the token can be renewed (it expires, or a
// rotation may replace it), or when the command waits on a stream, which
// the relay keeps open across the server's watch ends.
func Wanted(mode string, renewable bool, args []string) (bool, error) {
	switch mode {
	case Always:
		return true, nil
	case Never:
		return false, nil
	case Auto, "":
		return renewable || Waits(args), nil
	}
	return false, exitcode.New(exitcode.Usage, "use auto, always or never", "unknown --relay %q", mode)
}

// Waits tells whether a command line, or a shell script in one of its
// arguments, looks like an argo command that waits on a stream: wait,
// watch, submit --wait (-w), logs --follow (-f).
func Waits(args []string) bool {
	var words []string
	for _, a := range args {
		words = append(words, strings.Fields(a)...)
	}
	has := func(w ...string) bool { return slices.ContainsFunc(words, func(x string) bool { return slices.Contains(w, x) }) }
	return has("wait", "watch", "--wait", "--follow") || (has("-w") && has("submit", "resubmit", "retry")) || (has("-f") && has("logs"))
}

// Front starts the relay in front of s's Argo Server, reached with tc, and
// the Keeper's renewal. It returns the settings the command uses (the
// relay's address, its per-run value, plain HTTP on loopback) and the
// function that stops both.
func Front(ctx context.Context, s env.Settings, tc *tls.Config, k *Keeper, listen string, log *slog.Logger, note func(string)) (env.Settings, func(), error) {
	r, err := Start(Config{Server: s.Server, Secure: s.Secure, TLS: tc, Listen: listen, Tokens: k, Log: log, Note: note})
	if err != nil {
		return s, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	k.log = log
	go k.Run(ctx)
	out := s
	out.Server, out.Authorization = r.Server(), r.Authorization()
	out.Secure, out.InsecureSkipVerify, out.CAFile, out.CABundle = false, false, "", ""
	return out, func() { cancel(); _ = r.Close() }, nil
}
