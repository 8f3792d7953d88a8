package jenkins

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argo-cred/argo-cred/internal/testenv"
)

// stackRun is one build of a Jenkinsfile against the stack, in a namespace
// of its own holding an identity (token Secret jenkins-token) with exactly
// the grants of the profiles the Jenkinsfile's for: names.
type stackRun struct {
	s     *testenv.Stack
	ns    string
	token string
}

func newStackRun(t *testing.T, jenkinsfile string) *stackRun {
	t.Helper()
	s := testenv.Get(t)
	names, err := testenv.ForProfiles(jenkinsfile)
	must(t, err)
	rules := testenv.ProfileRules(t, names...)
	r := &stackRun{s: s, ns: s.Namespace(t)}
	s.Identity(t, r.ns, "jenkins-token", rules)
	r.token = s.WaitToken(t, r.ns, "jenkins-token")
	return r
}

// pipeline is the Jenkinsfile as written but for the stack's Argo Server
// (plain HTTP: http:// sets --secure=false), the run's namespace and the
// Secret's name, with the workflow (annotated for the stand-in controller,
// so --wait ends) in the workspace, the kubeconfig as the file credential
// argo-cred-kubeconfig, and the real argo CLI in PATH.
func (r *stackRun) pipeline(t *testing.T, jenkinsfile, secret string) pipeline {
	t.Helper()
	for old, new := range map[string]string{"'argo.example.com:443'": "'http://" + r.s.ArgoServer + "'", "namespace: 'ci'": "namespace: '" + r.ns + "'",
		"secret: 'jenkins-token'": "secret: '" + secret + "'"} {
		if !strings.Contains(jenkinsfile, old) {
			t.Fatalf("the Jenkinsfile has no %s:\n%s", old, jenkinsfile)
		}
		jenkinsfile = strings.ReplaceAll(jenkinsfile, old, new)
	}
	wf, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "jenkins", "workflow.yaml"))
	must(t, err)
	wfText := strings.Replace(string(wf), "  generateName: hello-\n", "  generateName: hello-\n  annotations: {argo-cred.test/duration: 1s}\n", 1)
	return pipeline{jenkinsfile: jenkinsfile, bin: map[string]string{"argo": r.s.ArgoBin}, files: map[string]string{"workflow.yaml": wfText},
		credentials: []string{"argo-cred-kubeconfig=file:" + r.s.Kubeconfig}}
}

func example(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(), "examples", "jenkins", name))
	must(t, err)
	return string(b)
}

// (a) The example Jenkinsfiles that use the step run as written (for the
// stack's server, namespace and Secret): argoCred gets the token from the
// Secret with the kubeconfig bound by withCredentials, checks it for the
// profiles named, and the body's real argo submit --wait (and argo list)
// succeed with exactly those profiles' grants. (d) No form of the token is
// in the console, masked or not, sh -x traces included; the step's
// directory is gone.
func TestIntegrationStepExamples(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"Jenkinsfile", "Jenkinsfile.multistep"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			text := example(t, name)
			r := newStackRun(t, text)
			start := time.Now()
			b := run(t, r.pipeline(t, text, "jenkins-token"))
			t.Logf("build: %s in %s", b.result, time.Since(start).Round(time.Millisecond))
			if b.result != "SUCCESS" {
				t.Fatalf("result %s; want SUCCESS\n%s", b.result, b.console)
			}
			for _, want := range []string{"+ argo submit --wait -n " + r.ns + " workflow.yaml"} {
				if !strings.Contains(b.console, want) {
					t.Errorf("the console lacks %q:\n%s", want, b.console)
				}
			}
			if !regexp.MustCompile(`Name:\s+hello-[a-z0-9]+`).MatchString(b.console) || !regexp.MustCompile(`(?m)^hello-[a-z0-9]+ Succeeded at `).MatchString(b.console) {
				t.Errorf("no workflow submitted:\n%s", b.console)
			}
			if name == "Jenkinsfile.multistep" && !regexp.MustCompile(`(?m)^hello-[a-z0-9]+\s+Succeeded\s+\d+s\s`).MatchString(b.console) {
				t.Errorf("argo list did not list the workflow:\n%s", b.console)
			}
			if left := b.leftovers(t); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
			noTokenForm(t, b, r.token)
		})
	}
}

// (b) A Secret that does not exist: the build fails with argo-cred's one
// error line and its exit class (3, token unavailable), the body never
// runs, and the step's directory is gone.
func TestIntegrationStepWrongSecret(t *testing.T) {
	t.Parallel()
	text := strings.Replace(example(t, "Jenkinsfile"), "            sh 'argo submit", "            sh 'touch body-ran'\n            sh 'argo submit", 1)
	r := newStackRun(t, text)
	b := run(t, r.pipeline(t, text, "no-such-token"))
	if b.result != "FAILURE" {
		t.Fatalf("result %s; want FAILURE\n%s", b.result, b.console)
	}
	m := regexp.MustCompile(`(?m)^error: .*$`).FindString(b.console) // argo-cred's own line, as it printed it
	t.Logf("argo-cred: %s", m)
	if m == "" || !strings.Contains(m, "no-such-token") {
		t.Fatalf("argo-cred printed no error line naming the Secret:\n%s", b.console)
	}
	if want := "ERROR: argoCred: argo-cred exit 3 (token unavailable): " + m; !strings.Contains(b.console, want) {
		t.Errorf("the console lacks %q:\n%s", want, b.console)
	}
	if _, err := os.Stat(filepath.Join(b.ws, "body-ran")); err == nil {
		t.Error("the body ran")
	}
	if left := b.leftovers(t); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	noTokenForm(t, b, r.token)
}

// (c) An abort in the middle of the body (a sleep 30 after the body
// started, and after it dumped its environment and tried argo auth token):
// the sleep is killed, the build ends ABORTED within seconds, the step's
// directory is gone, and the body's environment and console hold no form
// of the token.
func TestIntegrationStepAbort(t *testing.T) {
	t.Parallel()
	text := strings.Replace(example(t, "Jenkinsfile"), `            sh 'argo submit --wait -n "$ARGO_NAMESPACE" workflow.yaml'`,
		`            sh 'env | sort; argo auth token || true'
            sh 'argo submit --wait -n "$ARGO_NAMESPACE" workflow.yaml'
            sh 'touch body-started; sleep 30; touch body-ended'`, 1)
	r := newStackRun(t, text)
	p := r.pipeline(t, text, "jenkins-token")
	p.abortWhen = func(ws string) bool {
		_, err := os.Stat(filepath.Join(ws, "body-started"))
		return err == nil
	}
	b := run(t, p)
	t.Logf("aborted: build ended %s after the abort", b.aborted.Round(time.Millisecond))
	if b.result != "ABORTED" {
		t.Fatalf("result %s; want ABORTED\n%s", b.result, b.console)
	}
	if b.aborted > 10*time.Second {
		t.Errorf("the build ended %s after the abort; want the body's processes killed at once", b.aborted)
	}
	if _, err := os.Stat(filepath.Join(b.ws, "body-ended")); err == nil {
		t.Error("the body's sleep ran to its end")
	}
	if !strings.Contains(b.console, "+ rm -rf "+b.ws+"@tmp/argo-cred-") {
		t.Errorf("the step did not clean up after the abort:\n%s", b.console)
	}
	if left := b.leftovers(t); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if !strings.Contains(b.console, "ARGO_SERVER="+r.s.ArgoServer) || regexp.MustCompile(`(?m)^ARGO_TOKEN=`).MatchString(b.console) {
		t.Errorf("want the body's environment with ARGO_SERVER and without ARGO_TOKEN:\n%s", b.console)
	}
	// The kubeconfig's path, bound by withCredentials, is masked in the
	// env dump: the masking the console went through works.
	if !strings.Contains(b.console, "KUBECONFIG=****") || !strings.Contains(b.raw, "KUBECONFIG="+b.ws+"@tmp/secretFiles/") {
		t.Errorf("want KUBECONFIG masked in the console, not in the raw log:\n%s", b.console)
	}
	noTokenForm(t, b, r.token)
}

// A Secret replaced in the middle of the body (it and its ServiceAccount
// deleted, so the token is refused, and made again with a new token: what
// a rotation's end does):
// the body's next argo gets the new token, because the wrapper runs argo
// through argo-cred exec, which reads the Secret again (waiting for the
// token controller) instead of reusing the token the step read.
func TestIntegrationStepSecretReplaced(t *testing.T) {
	t.Parallel()
	text := strings.Replace(example(t, "Jenkinsfile"), `            sh 'argo submit --wait -n "$ARGO_NAMESPACE" workflow.yaml'`,
		`            sh 'argo submit -n "$ARGO_NAMESPACE" workflow.yaml'
            sh 'touch replace-now; while [ ! -e replaced ]; do sleep 0.1; done'
            sh 'argo submit --wait -n "$ARGO_NAMESPACE" workflow.yaml'`, 1)
	r := newStackRun(t, text)
	p := r.pipeline(t, text, "jenkins-token")
	var newToken string
	p.abortWhen = func(ws string) bool { // never aborts: replaces the Secret once the body asks
		if _, err := os.Stat(filepath.Join(ws, "replace-now")); err != nil || newToken != "" {
			return false
		}
		// A legacy token names its Secret and ServiceAccount (by uid), no
		// time: only a new ServiceAccount makes a new token.
		ctx, c := context.Background(), r.s.Client.CoreV1()
		must(t, c.Secrets(r.ns).Delete(ctx, "jenkins-token", metav1.DeleteOptions{}))
		must(t, c.ServiceAccounts(r.ns).Delete(ctx, "jenkins-token", metav1.DeleteOptions{}))
		for _, err := c.ServiceAccounts(r.ns).Get(ctx, "jenkins-token", metav1.GetOptions{}); err == nil; _, err = c.ServiceAccounts(r.ns).Get(ctx, "jenkins-token", metav1.GetOptions{}) {
			time.Sleep(50 * time.Millisecond)
		}
		_, err := c.ServiceAccounts(r.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "jenkins-token"}}, metav1.CreateOptions{})
		must(t, err)
		for _, err := c.Secrets(r.ns).Get(ctx, "jenkins-token", metav1.GetOptions{}); err == nil; _, err = c.Secrets(r.ns).Get(ctx, "jenkins-token", metav1.GetOptions{}) {
			time.Sleep(50 * time.Millisecond)
		}
		r.s.TokenSecret(t, r.ns, "jenkins-token", "jenkins-token")
		newToken = r.s.WaitToken(t, r.ns, "jenkins-token")
		// Until the Argo Server refuses the old token (kube-apiserver caches
		// a token check for up to 10 s): the body's next argo must not get it.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			req, _ := http.NewRequest("GET", "http://"+r.s.ArgoServer+"/api/v1/workflows/"+r.ns, nil)
			req.Header.Set("Authorization", "Bearer "+r.token)
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusUnauthorized {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Errorf("the Argo Server still takes the old token after 30 s")
				break
			}
		}
		must(t, os.WriteFile(filepath.Join(ws, "replaced"), nil, 0o644))
		return false
	}
	b := run(t, p)
	if b.result != "SUCCESS" {
		t.Fatalf("result %s; want SUCCESS (the argo after the Secret was replaced failed?)\n%s", b.result, b.console)
	}
	if newToken == "" || newToken == r.token {
		t.Fatalf("the Secret was not replaced with a new token:\n%s", b.console)
	}
	if !regexp.MustCompile(`(?m)^hello-[a-z0-9]+ Succeeded at `).MatchString(b.console) {
		t.Errorf("no workflow submitted after the Secret was replaced:\n%s", b.console)
	}
	noTokenForm(t, b, r.token)
	noTokenForm(t, b, newToken)
}
