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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
