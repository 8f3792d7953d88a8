package github

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/files"
)

// Inputs are the action's inputs, as action.yml declares them. The runner
// passes each as INPUT_<NAME upper-cased, hyphens kept>, empty when the
// workflow does not set it; empty means "not given".
var Inputs = []string{"server", "namespace", "source", "secret", "client", "secret-namespace", "service-account", "duration", "audience",
	"token", "kubeconfig", "http1", "secure", "insecure-skip-verify", "ca", "base-href", "expect", "for", "wait", "timeout", "probe", "bind", "strict", "job-timeout"}

// Outputs are the outputs the action sets.
var Outputs = []string{"server", "namespace", "token-expires-at", "probe-result"}

// ActionShort and ActionLong are the help of the command the action runs
// (argo-cred action), which says what it reads and writes of the runner's.
const (
	ActionShort = "Run as the GitHub Action (action.yml): inputs from INPUT_*, settings to $GITHUB_ENV"
	ActionLong  = `Runs as the GitHub Action's main stage: reads the inputs (INPUT_<NAME>), gets and checks the
credential as env --format github does, and sets the outputs server, namespace, token-expires-at and
probe-result. With --post (or run as argo-cred-post) it is the post stage: it removes the files the
main stage wrote.`
)

// PostName is the program name of the action's post stage: the runner
// passes the same args to main and post and takes the entrypoint as one
// path, so the image holds argo-cred under this second name too.
const PostName = "argo-cred-post"

// TempFile writes an input's content to a new private file under
// $RUNNER_TEMP and saves its path in $GITHUB_STATE for the post stage to
// remove.
func (r *Runtime) TempFile(name, content string) (string, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	path := filepath.Join(r.runnerTemp(), "argo-cred-"+name+"-"+hex.EncodeToString(b))
	if err := files.Write(files.File{Path: path, Data: []byte(content + "\n")}); err != nil {
		return "", exitcode.Wrap(exitcode.Usage, "", fmt.Errorf("writing the %s input to a file: %w", name, err))
	}
	if r.get("GITHUB_STATE") != "" {
		if err := r.AppendState([]env.Var{{Name: name, Value: path}}); err != nil {
			return "", err
		}
	}
	return path, nil
}

// runnerTemp is where the main stage writes its files.
func (r *Runtime) runnerTemp() string {
	if dir := r.get("RUNNER_TEMP"); dir != "" {
		return filepath.Clean(dir)
	}
	return os.TempDir()
}

var tempFileName = regexp.MustCompile(`^argo-cred-(kubeconfig|ca)-[0-9a-f]{16}$`)

// StateFile returns STATE_<name> if it names a file TempFile wrote:
// argo-cred-<name>-<16 hex> directly under RUNNER_TEMP; "" if it is not
// set. Anything may have set a STATE_ value (a runner command in a log
// line), so nothing else is used.
func (r *Runtime) StateFile(name string) (string, error) {
	path := r.get("STATE_" + name)
	if path == "" {
		return "", nil
	}
	base := filepath.Base(path)
	st, err := os.Lstat(path)
	if path != filepath.Join(r.runnerTemp(), base) || !tempFileName.MatchString(base) || !strings.HasPrefix(base, "argo-cred-"+name+"-") ||
		(err == nil && !st.Mode().IsRegular()) {
		return "", fmt.Errorf("not using STATE_%s %s: not a file the main stage wrote", name, strconv.QuoteToASCII(path))
	}
	return path, nil
}

// Binding is the per-run Secret of a --bind token, which the post stage
// deletes.
type Binding struct{ Namespace, Name, UID string }

// SaveBinding saves b for the post stage.
func (r *Runtime) SaveBinding(b Binding) error {
	return r.AppendState([]env.Var{{Name: "binding", Value: b.Name}, {Name: "binding-namespace", Value: b.Namespace}, {Name: "binding-uid", Value: b.UID}})
}

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// SavedBinding returns the binding the main stage saved; ok is false when
// there is none. Anything may have set a STATE_ value, so err says when
// one is not what SaveBinding writes (a namespace, a Secret's name, a UID).
func (r *Runtime) SavedBinding() (b Binding, ok bool, err error) {
	b = Binding{Name: r.get("STATE_binding"), Namespace: r.get("STATE_binding-namespace"), UID: r.get("STATE_binding-uid")}
	if b.Name == "" {
		return b, false, nil
	}
	if len(validation.IsDNS1123Label(b.Namespace)) > 0 || len(validation.IsDNS1123Subdomain(b.Name)) > 0 || !uuid.MatchString(b.UID) {
		err = errors.New("STATE_binding, STATE_binding-namespace or STATE_binding-uid is not what the main stage writes")
	}
	return b, true, err
}
