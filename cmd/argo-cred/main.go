// Command argo-cred gives CI a verified, least-privilege credential for the
// Argo Workflows Server.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/argo-cred/argo-cred/internal/cli"
)

func main() {
	// SIGHUP and SIGQUIT too: a run ends cleanly (a --bind token revoked)
	// however it is asked to stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	code := cli.Run(ctx, os.Args[1:], cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
