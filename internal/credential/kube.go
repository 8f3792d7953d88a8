package credential

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/kube"
)

// Kube returns a Kubernetes client following client-go's loading rules,
// after refusing a kubeconfig that cannot work.
func Kube(kubeconfig, context string, timeout time.Duration, h Hooks) (*kube.Client, error) {
	if err := KubeconfigProblem(kubeconfig, h.Lookup); err != nil {
		return nil, err
	}
	c, err := kube.Load(kubeconfig, context, h.UserAgent, timeout)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, "set --kubeconfig, KUBECONFIG or --context, or run in a pod", err)
	}
	if h.Log != nil {
		h.Log.Debug("kubernetes", "host", c.Host, "namespace", c.Namespace)
	}
	return c, nil
}

// KubeconfigProblem names a kubeconfig that cannot work before client-go
// skips it silently and falls back to localhost:8080: /dev/null (which
// older argo-cred exported), or files that do not exist.
func KubeconfigProblem(explicit string, lookup func(string) (string, bool)) error {
	env := ""
	if lookup != nil {
		env, _ = lookup("KUBECONFIG")
	}
	name, paths := "--kubeconfig", []string{explicit}
	if explicit == "" {
		name, paths = "KUBECONFIG", filepath.SplitList(env)
	}
	if explicit == "" && len(paths) == 0 {
		if home, err := os.UserHomeDir(); err == nil {
			paths = []string{filepath.Join(home, ".kube", "config")} // client-go's default, if it exists
		}
	}
	var devnull, missing []string
	usable := false
	for _, p := range paths {
		switch st, err := os.Stat(p); {
		case p == "":
		case p == os.DevNull:
			devnull = append(devnull, p)
		case err != nil:
			if explicit != "" || env != "" {
				missing = append(missing, p)
			}
		case !st.Mode().IsRegular():
			// client-go reads every file of the list with no time limit: a
			// FIFO without a writer would block it (and argo-cred) forever.
			return exitcode.New(exitcode.Usage, "give a regular file",
				"the kubeconfig %s (%s) is not a regular file", strconv.QuoteToASCII(p), name)
		default:
			// client-go fails on a file it may not read: say whose it is.
			if err := files.Readable(p); err != nil {
				return exitcode.Wrap(exitcode.Usage, files.Hint(err), fmt.Errorf("reading the kubeconfig (%s): %w", name, err))
			}
			usable = true // one usable file is enough; the others are still checked
		}
	}
	if usable {
		return nil
	}
	switch {
	case len(devnull) > 0:
		return exitcode.New(exitcode.Usage, "unset KUBECONFIG (an earlier eval of argo-cred env may have set it) or point it at a kubeconfig",
			"%s is /dev/null, which holds no cluster", name)
	case len(missing) > 0:
		return exitcode.New(exitcode.Usage, "point it at an existing kubeconfig, or unset it to use ~/.kube/config or the pod's service account",
			"%s names %s: no such file", name, strings.Join(missing, ", "))
	}
	return nil
}
