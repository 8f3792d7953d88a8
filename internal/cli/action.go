package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	cred "github.com/argo-cred/argo-cred/internal/credential"
	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/export"
	"github.com/argo-cred/argo-cred/internal/files"
	"github.com/argo-cred/argo-cred/internal/redact"
)

// ActionInputs are the GitHub Action's inputs, as action.yml declares them.
// The runner passes each as INPUT_<NAME upper-cased, hyphens kept>, empty
// when the workflow does not set it; empty means "not given".
var ActionInputs = []string{"server", "namespace", "source", "secret", "secret-namespace", "service-account", "duration", "audience",
	"token", "kubeconfig", "http1", "secure", "insecure-skip-verify", "ca", "base-href", "expect", "wait", "timeout", "probe", "bind"}

// ActionOutputs are the outputs the action sets.
var ActionOutputs = []string{"server", "namespace", "token-expires-at", "probe-result"}

// postName is the program name of the action's post stage: the runner
// passes the same args to main and post and takes the entrypoint as one
// path, so the image holds argo-cred under this second name too.
const postName = "argo-cred-post"

func input(name string) string {
	return strings.TrimSpace(os.Getenv("INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))))
}

// action runs as the GitHub Action's main stage: the inputs become options,
// then env --format github runs, and the outputs are set. Any failure is
// one ::error annotation and argo-cred's exit code.
func (a *app) action(ctx context.Context, o *options) error {
	err := a.actionMain(ctx, o)
	if err != nil && os.Getenv("GITHUB_ACTIONS") == "true" {
		a.githubFailure(nil, err)
	}
	return err
}

// annotate prints err as the one ::error annotation of the run (Run then
// prints no plain error line): redacted, cleaned, with URLs defanged so
// that no server-supplied link appears on the job's page.
func (a *app) annotate(err error) {
	if a.annotated {
		return
	}
	a.annotated = true
	msg := err.Error()
	if h := exitcode.Hint(err); h != "" {
		msg += "; " + h
	}
	fmt.Fprintf(a.streams.ErrOut, "::error title=argo-cred %s (exit %d)::%s\n",
		export.CommandEscape(exitcode.Of(err).String(), true), exitcode.Of(err), export.CommandEscape(redact.Defang(a.red.Text(msg)), false))
}

func (a *app) actionMain(ctx context.Context, o *options) error {
	if os.Getenv("GITHUB_ACTIONS") != "true" || os.Getenv("GITHUB_ENV") == "" || os.Getenv("GITHUB_OUTPUT") == "" {
		return exitcode.New(exitcode.Usage, "use it as a step (uses: argo-cred/argo-cred@…); elsewhere use argo-cred env", "argo-cred action runs only as a GitHub Actions step")
	}
	if err := applyInputs(o); err != nil {
		return err
	}
	for name, set := range map[string]*string{"kubeconfig": &o.Kubeconfig, "ca": &o.CAFile} {
		v := input(name)
		if v == "" || (name == "ca" && !strings.HasPrefix(v, "-----BEGIN")) {
			if name == "ca" && v != "" {
				*set = v // a path in the workspace
			}
			continue
		}
		path, err := a.tempFile(name, v)
		if err != nil {
			return err
		}
		*set = path
	}
	if err := a.kubeconfigGiven(o); err != nil {
		return err
	}
	if tok := input("token"); tok != "" {
		// The env source, as ARGO_TOKEN in this process only.
		if err := os.Setenv("ARGO_TOKEN", tok); err != nil {
			return err
		}
	}
	o.Format, o.OutputFile = "github", ""
	a.noBundle = true
	c, report, err := a.envWith(ctx, o)
	if c == nil {
		return err
	}
	if err == nil && a.binding != nil {
		// The token dies with the job: the post stage deletes its Secret.
		b := a.binding
		state := []env.Var{{Name: "binding", Value: b.Name}, {Name: "binding-namespace", Value: b.Namespace}, {Name: "binding-uid", Value: b.UID}}
		if err = appendFile(os.Getenv("GITHUB_STATE"), func(w io.Writer) error { return export.GitHubEnv(w, state) }); err != nil {
			return err
		}
		a.binding = nil
	}
	outputs := []env.Var{{Name: "server", Value: c.settings.Server}, {Name: "namespace", Value: c.settings.Namespace}, {Name: "token-expires-at"}}
	if !c.token.Expiry.IsZero() {
		outputs[2].Value = c.token.Expiry.Format(time.RFC3339)
	}
	if report != nil {
		b, jerr := files.Render(func(w io.Writer) error { return writeJSON(w, *report, c.token, a.clusterUser) })
		if jerr != nil {
			return jerr
		}
		outputs = append(outputs, env.Var{Name: "probe-result", Value: strings.TrimSpace(string(b))})
	}
	if werr := appendFile(os.Getenv("GITHUB_OUTPUT"), func(w io.Writer) error { return export.GitHubEnv(w, outputs) }); werr != nil && err == nil {
		err = werr
	}
	return err
}

// kubeconfigGiven fails when the inputs need a kubeconfig (secret or
// service-account) and none is at hand: the kubeconfig input is empty, no
// KUBECONFIG is set and client-go finds no other. The runner passes an
// input whose expression is empty, such as a secret that is not set, as ""
// exactly like an input not given.
func (a *app) kubeconfigGiven(o *options) error {
	src, err := cred.Choose(&cred.Request{Source: o.Source, Secret: o.Secret, ServiceAccount: o.ServiceAccount, TokenFile: o.TokenFile, OIDCEnv: o.OIDCEnv, Hooks: cred.Hooks{Lookup: os.LookupEnv}})
	if err != nil || !src.Kube || o.Kubeconfig != "" || os.Getenv("KUBECONFIG") != "" {
		return nil // the source's own errors come later, in order
	}
	if _, err := a.kube(o); err == nil {
		return nil // e.g. a ~/.kube/config an earlier container step wrote
	}
	by := src.Flag
	return exitcode.New(exitcode.Usage,
		"check the name in kubeconfig: ${{ secrets.NAME }} against the repository's (or organization's, or the job environment's) Actions secrets; "+
			"a pull request from a fork gets no secrets: skip the step there, or use source: github-oidc, which needs none",
		"the kubeconfig input is empty: a secret that is not set (a misspelt name, or a fork's pull request, which gets no secrets) gives an empty value, and the %s input needs a kubeconfig", by)
}

// applyInputs sets the options the workflow gave as inputs.
func applyInputs(o *options) error {
	strs := map[string]*string{"server": &o.Server, "namespace": &o.Namespace, "source": &o.Source, "secret": &o.Secret,
		"secret-namespace": &o.SecretNS, "service-account": &o.ServiceAccount, "base-href": &o.BaseHRef}
	for name, p := range strs {
		if v := input(name); v != "" {
			*p = v
		}
	}
	bools := map[string]*bool{"http1": (*bool)(&o.HTTP1), "secure": (*bool)(&o.Secure), "insecure-skip-verify": (*bool)(&o.InsecureSkipVerify), "probe": &o.Probe, "bind": &o.Bind}
	for name, p := range bools {
		if v := input(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return exitcode.New(exitcode.Usage, "write true or false", "input %s: %q is not a boolean", name, v)
			}
			*p = b
		}
	}
	durs := map[string]*time.Duration{"duration": &o.Duration, "wait": &o.Wait, "timeout": &o.Timeout}
	for name, p := range durs {
		if v := input(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return exitcode.New(exitcode.Usage, "write a duration with a unit, e.g. 30s or 10m", "input %s: %q is not a duration", name, v)
			}
			*p = d
			if o.set != nil {
				o.set[name] = true
			}
		}
	}
	lists := map[string]*[]string{"expect": &o.Expect, "audience": &o.Audiences}
	for name, p := range lists {
		if v := input(name); v != "" {
			// As the flags read them: items trimmed, empty ones dropped.
			*p = nil
			for _, item := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
				if item = strings.TrimSpace(item); item != "" {
					*p = append(*p, item)
				}
			}
		}
	}
	return nil
}

// tempFile writes an input's content to a new file under $RUNNER_TEMP and
// records it in $GITHUB_STATE for the post stage to remove.
func (a *app) tempFile(name, content string) (string, error) {
	dir := runnerTemp()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	path := filepath.Join(dir, "argo-cred-"+name+"-"+hex.EncodeToString(b))
	if err := files.Write(files.File{Path: path, Data: []byte(content + "\n")}); err != nil {
		return "", exitcode.Wrap(exitcode.Usage, "", fmt.Errorf("writing the %s input to a file: %w", name, err))
	}
	if state := os.Getenv("GITHUB_STATE"); state != "" {
		if err := appendFile(state, func(w io.Writer) error { return export.GitHubEnv(w, []env.Var{{Name: name, Value: path}}) }); err != nil {
			return "", err
		}
	}
	return path, nil
}

// runnerTemp is where the main stage writes its files.
func runnerTemp() string {
	if dir := os.Getenv("RUNNER_TEMP"); dir != "" {
		return filepath.Clean(dir)
	}
	return os.TempDir()
}

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

var tempFileName = regexp.MustCompile(`^argo-cred-(kubeconfig|ca)-[0-9a-f]{16}$`)

// stateFile returns STATE_<name> if it names a file the main stage wrote:
// argo-cred-<name>-<16 hex> directly under RUNNER_TEMP. Anything may have
// set a STATE_ value (a runner command in a log line), so nothing else is
// used.
func stateFile(name string) (string, error) {
	path := os.Getenv("STATE_" + name)
	if path == "" {
		return "", nil
	}
	base := filepath.Base(path)
	st, err := os.Lstat(path)
	if path != filepath.Join(runnerTemp(), base) || !tempFileName.MatchString(base) || !strings.HasPrefix(base, "argo-cred-"+name+"-") ||
		(err == nil && !st.Mode().IsRegular()) {
		return "", fmt.Errorf("not using STATE_%s %s: not a file the main stage wrote", name, strconv.QuoteToASCII(path))
	}
	return path, nil
}

// actionPost runs as the action's post stage: it revokes a --bind token
// and removes the files the main stage wrote (their names arrive as
// STATE_<name>, each checked before use).
func (a *app) actionPost(o *options) error {
	var errs []error
	if name, ns, uid := os.Getenv("STATE_binding"), os.Getenv("STATE_binding-namespace"), os.Getenv("STATE_binding-uid"); name != "" {
		errs = append(errs, a.postRevoke(o, ns, name, uid))
	}
	for _, name := range []string{"kubeconfig", "ca"} {
		path, err := stateFile(name)
		if path == "" {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(a.streams.ErrOut, "post: removed the %s file\n", name)
	}
	return errors.Join(errs...)
}

// postRevoke deletes the per-run Secret of the job's --bind token, with the
// kubeconfig the main stage wrote (still there): only a Secret that carries
// argo-cred's binding labels and the UID the main stage recorded.
func (a *app) postRevoke(o *options, ns, name, uid string) error {
	fail := func(err error) error {
		return fmt.Errorf("could not revoke the job's token (secret %s/%s): %w", strconv.QuoteToASCII(ns), strconv.QuoteToASCII(name), err)
	}
	if len(validNamespace(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 || !uuid.MatchString(uid) {
		return fail(errors.New("STATE_binding, STATE_binding-namespace or STATE_binding-uid is not what the main stage writes"))
	}
	kubeconfig, err := stateFile("kubeconfig")
	if err != nil {
		return fail(err)
	}
	o.Kubeconfig = kubeconfig
	kc, err := a.kube(o)
	if err != nil {
		return fail(err)
	}
	a.binding = cred.BindingOf(kc, ns, name, uid)
	if a.dropBinding(); a.binding != nil {
		a.binding = nil
		return fail(errors.New("see the warning above"))
	}
	return nil
}
