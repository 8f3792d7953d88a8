package cli

import (
	"context"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/identity"
	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// Shell completion of flag values. The shell scripts (argo-cred completion
// bash|zsh|fish|powershell) call the hidden command __complete with the
// words typed so far; cobra parses the flags given before the one being
// completed into the options, then calls the function registered for it.

// tokenSources are the values of --source, with what each reads.
var tokenSources = []struct{ name, from string }{
	{"secret", "a service-account-token Secret (--secret)"},
	{"tokenrequest", "a new token of a ServiceAccount (--service-account)"},
	{"file", "a file (--token-file)"},
	{"env", "ARGO_TOKEN"},
	{"github-oidc", "the GitHub Actions job's own OIDC token"},
	{"oidc-env", "a CI OIDC token in a variable (--oidc-env)"},
}

// clientListTimeout bounds the Kubernetes requests that complete --client:
// a shell waits for them.
const clientListTimeout = 3 * time.Second

// noValueFiles are flags whose values are not files: the shell offers no
// file names for them.
var noValueFiles = []string{"secret", "secret-namespace", "service-account", "duration", "audience", "oidc-env", "min-lifetime",
	"wait", "namespace", "server", "base-href", "header", "timeout", "binding", "stale-bindings",
	"github-repo", "github-owner-id", "github-repo-id", "ref", "environment", "issuer"}

// completeFlags registers the completion of cmd's flag values: each that
// cmd has.
func completeFlags(cmd *cobra.Command, o *Options) {
	var formats []cobra.Completion
	for _, f := range export.Formats() {
		formats = append(formats, cobra.CompletionWithDesc(f.Name, f.Help))
	}
	var sources []cobra.Completion
	for _, s := range tokenSources {
		sources = append(sources, cobra.CompletionWithDesc(s.name, s.from))
	}
	outputs := []cobra.Completion{cobra.CompletionWithDesc("table", "for people"), cobra.CompletionWithDesc("json", "for machines")}
	if cmd.Name() == "version" {
		outputs = outputs[1:]
	}
	funcs := map[string]cobra.CompletionFunc{
		"format": fixed(formats...),
		"source": fixed(sources...),
		"output": fixed(outputs...),
		"only":   fixed(oidcParts...),
		"expect": completeExpect,
		"allow":  completeAllow,
		"client": func(c *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return withPrefix(clientNames(c.Context(), o), toComplete), cobra.ShellCompDirectiveNoFileComp
		},
		"context": func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return withPrefix(contexts(o), toComplete), cobra.ShellCompDirectiveNoFileComp
		},
	}
	// docker --mount names a directory of this host.
	funcs["mount"] = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	for _, name := range noValueFiles {
		funcs[name] = cobra.NoFileCompletions
	}
	for name, f := range funcs {
		if cmd.Flags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, f)
		}
	}
}

// fixed completes one of choices (each "value\tdescription" or a value).
func fixed(choices ...cobra.Completion) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix(choices, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// withPrefix keeps the choices whose value starts with prefix.
func withPrefix(choices []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range choices {
		value, _, _ := strings.Cut(c, "\t")
		if strings.HasPrefix(value, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// completeExpect completes allow:RESOURCE/VERB and deny:RESOURCE/VERB
// (probe's grammar: list on every resource, create on workflows only),
// the last item of a comma-separated list.
func completeExpect(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	done, last := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		done, last = toComplete[:i+1], toComplete[i+1:]
	}
	var all []cobra.Completion
	for _, verdict := range []string{"allow", "deny"} {
		for _, r := range probe.Resources {
			all = append(all, done+verdict+":"+r+"/list")
			if r == "workflows" {
				all = append(all, done+verdict+":"+r+"/create")
			}
		}
	}
	return withPrefix(all, done+last), cobra.ShellCompDirectiveNoFileComp
}

// completeAllow completes RESOURCE:VERB[,VERB…] from the resources and verbs
// a grant may name: first the resource (and its colon), then each verb not
// yet given. No space follows, so another ",VERB" can.
func completeAllow(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	const directive = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	resource, verbs, ok := strings.Cut(toComplete, ":")
	if !ok {
		var all []cobra.Completion
		for _, r := range identity.Resources {
			all = append(all, r+":")
		}
		return withPrefix(all, toComplete), directive
	}
	if !slices.Contains(identity.Resources, resource) {
		return nil, directive
	}
	given := strings.Split(verbs, ",")
	done := resource + ":" + strings.Join(given[:len(given)-1], ",")
	if len(given) > 1 {
		done += ","
	}
	var all []cobra.Completion
	for _, v := range identity.Verbs {
		if !slices.Contains(given[:len(given)-1], v) {
			all = append(all, done+v)
		}
	}
	return withPrefix(all, toComplete), directive
}

// clientNames completes --client with the clients in the namespace of
// --namespace (or the kubeconfig's): the names of the ServiceAccounts and
// Roles argo-cred made. Without a usable kubeconfig, or when the cluster
// does not answer within clientListTimeout, it offers nothing and says
// nothing: completion must not print errors into the command line.
func clientNames(ctx context.Context, o *Options) []cobra.Completion {
	if ctx == nil {
		ctx = context.Background()
	}
	if cred.KubeconfigProblem(o.Kubeconfig, os.LookupEnv) != nil || needsPlugin(o) {
		return nil
	}
	kc, err := kube.Load(o.Kubeconfig, o.Context, "argo-cred/"+version()+" (completion)", clientListTimeout)
	if err != nil {
		return nil
	}
	ns := o.Namespace
	if ns == "" {
		ns = kc.Namespace
	}
	if ns == "" || len(validNamespace(ns)) > 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, clientListTimeout)
	defer cancel()
	var names []cobra.Completion
	for _, kind := range []kube.Kind{kube.ServiceAccountKind, kube.RoleKind} {
		found, err := identity.Names(ctx, kc, kind, ns, "")
		if err != nil {
			continue // e.g. a provisioner that may not list roles
		}
		for _, n := range found {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	return names
}

// needsPlugin tells whether the kubeconfig's user gets its credential from
// a plugin (exec, auth-provider): it may be slow or ask on the terminal,
// which completion must never wait for.
func needsPlugin(o *Options) bool {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cfg, err := rules.Load()
	if err != nil {
		return true
	}
	name := o.Context
	if name == "" {
		name = cfg.CurrentContext
	}
	c, ok := cfg.Contexts[name]
	if !ok {
		return false
	}
	u := cfg.AuthInfos[c.AuthInfo]
	return u != nil && (u.Exec != nil || u.AuthProvider != nil)
}

// contexts completes --context with the kubeconfig's contexts.
func contexts(o *Options) []cobra.Completion {
	if cred.KubeconfigProblem(o.Kubeconfig, os.LookupEnv) != nil {
		return nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.Kubeconfig
	cfg, err := rules.Load()
	if err != nil {
		return nil
	}
	var names []cobra.Completion
	for name := range cfg.Contexts {
		if redact.Clean(name) == name && !strings.ContainsAny(name, " \t") {
			names = append(names, name) // one a line, as the shells read them
		}
	}
	slices.Sort(names)
	return names
}
