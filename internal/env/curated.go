package env

import (
	"slices"
	"strings"
)

// Curated is environ (NAME=value entries) without ARGO_*, KUBECONFIG, unset and
// whatever vars set, followed by vars and KUBECONFIG=/dev/null (argo then
// never reads a kubeconfig, whatever it finds): the environment exec gives
// COMMAND. environ is not changed.
func Curated(environ []string, vars []Var, unset ...string) []string {
	set := map[string]bool{"KUBECONFIG": true}
	for _, name := range unset {
		set[name] = true
	}
	for _, v := range vars {
		set[v.Name] = true
	}
	out := slices.DeleteFunc(slices.Clone(environ), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return set[name] || strings.HasPrefix(name, "ARGO_")
	})
	for _, v := range vars {
		out = append(out, v.Name+"="+v.Value)
	}
	return append(out, "KUBECONFIG=/dev/null")
}
