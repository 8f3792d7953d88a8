package cli

import (
	"cmp"
	"os"

	"github.com/spf13/cobra"

	"github.com/argo-cred/argo-cred/internal/complete"
)

// completeFlags registers the completion of cmd's flag values: each that
// cmd has. The values depend on the flags given before the one completed,
// which cobra has parsed into o by then.
func completeFlags(cmd *cobra.Command, o *Options) {
	cluster := func() complete.Cluster {
		ns := o.Namespace
		if cmd.Flags().Lookup("secret-namespace") != nil { // env, exec, probe, docker: --client is there
			ns = cmp.Or(o.SecretNS, ns)
		}
		return complete.Cluster{Kubeconfig: o.Kubeconfig, Context: o.Context, Namespace: ns,
			LookupEnv: os.LookupEnv, UserAgent: userAgent() + " (completion)"}
	}
	for name, f := range complete.Flags(cmd.Name(), cluster) {
		if cmd.Flags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, f)
		}
	}
}
