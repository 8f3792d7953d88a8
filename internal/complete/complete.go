// Package complete computes the values a shell offers for argo-cred's
// flags: fixed choices, the grammar of --expect, --allow and --for, and the
// clients and contexts a kubeconfig names.
//
// The shell scripts (argo-cred completion bash|zsh|fish|powershell) call
// the hidden command __complete with the words typed so far; cobra parses
// the flags given before the one being completed, then calls the function
// Flags registered for it.
package complete

import (
	"strings"

	"github.com/spf13/cobra"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/keyless"
)

// noValueFiles are flags whose values are not files: the shell offers no
// file names for them.
var noValueFiles = []string{"secret", "secret-namespace", "service-account", "duration", "audience", "oidc-env", "min-lifetime",
	"wait", "namespace", "server", "base-href", "header", "timeout", "binding", "stale-bindings",
	"github-repo", "github-owner-id", "github-repo-id", "ref", "environment", "issuer"}

// Flags are the completion functions of the flags of the command named
// command, by flag name: the caller registers those its command has.
// cluster returns, when a value is completed, the kubeconfig and namespace
// the flags given so far name.
func Flags(command string, cluster func() Cluster) map[string]cobra.CompletionFunc {
	var formats []cobra.Completion
	for _, f := range export.Formats() {
		formats = append(formats, cobra.CompletionWithDesc(f.Name, f.Help))
	}
	var sources []cobra.Completion
	for _, s := range cred.Sources {
		sources = append(sources, cobra.CompletionWithDesc(s.Name, s.About))
	}
	outputs := []cobra.Completion{cobra.CompletionWithDesc("table", "for people"), cobra.CompletionWithDesc("json", "for machines")}
	if command == "version" {
		outputs = outputs[1:]
	}
	funcs := map[string]cobra.CompletionFunc{
		"format": fixed(formats...),
		"source": fixed(sources...),
		"output": fixed(outputs...),
		"only":   fixed(keyless.Parts...),
		"expect": func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return Expect(toComplete), cobra.ShellCompDirectiveNoFileComp
		},
		"allow": func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			// No space follows, so another ",VERB" can.
			return Allow(toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		},
		"for": func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			// No space follows, so another ",PROFILE" can.
			return For(toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		},
		"client": func(c *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cl := cluster()
			cl.Tokens = c.Flags().Lookup("secret-namespace") != nil // a token source: env, exec, probe, docker
			return WithPrefix(Clients(c.Context(), cl), toComplete), cobra.ShellCompDirectiveNoFileComp
		},
		"context": func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return WithPrefix(Contexts(cluster()), toComplete), cobra.ShellCompDirectiveNoFileComp
		},
		// docker --mount names a directory of this host.
		"mount": func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
	}
	for _, name := range noValueFiles {
		funcs[name] = cobra.NoFileCompletions
	}
	return funcs
}

// fixed completes one of choices (each "value\tdescription" or a value).
func fixed(choices ...cobra.Completion) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return WithPrefix(choices, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// WithPrefix keeps the choices whose value starts with prefix.
func WithPrefix(choices []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range choices {
		value, _, _ := strings.Cut(c, "\t")
		if strings.HasPrefix(value, prefix) {
			out = append(out, c)
		}
	}
	return out
}
