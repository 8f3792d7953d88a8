package profile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/argo-cred/argo-cred/internal/cli"
	"github.com/argo-cred/argo-cred/internal/profile"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

// everything in a namespace: what the measuring identities hold, so that
// the audit log shows what the server asks for, not what it was refused.
var everything = rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}

// measurement is one namespace of the stack, an identity that sets things
// up (its requests are not measured), an Argo Server and the argo CLI of
// the same version.
type measurement struct {
	s      *testenv.Stack
	ns     string
	setup  string // the setup identity's token
	server string // host:port, plain HTTP
	bin    string // the argo CLI
}

// argo runs the argo CLI against the measurement's Argo Server with token.
func (m measurement) argo(t *testing.T, token string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=/dev/null",
		"ARGO_SERVER=" + m.server, "ARGO_SECURE=false", "ARGO_TOKEN=Bearer " + token, "ARGO_NAMESPACE=" + m.ns}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// must runs argo and fails t when it fails; it returns the output. For a
// token of one verb less than its profile (tolerant) a failure is counted
// instead.
func (m measurement) must(t *testing.T, token string, args ...string) string {
	t.Helper()
	out, err := m.argo(t, token, args...)
	if err != nil && !refused(token) {
		t.Fatalf("argo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// tolerant are the tokens whose argo commands are expected to fail: each
// counts its failures.
var tolerant sync.Map // token → *atomic.Int32

// refused counts a failure of a tolerant token's command and says whether
// the token is one.
func refused(token string) bool {
	n, ok := tolerant.Load(token)
	if ok {
		n.(*atomic.Int32).Add(1)
	}
	return ok
}

// submit submits a workflow as the setup identity and returns its name;
// duration, when set, has the stand-in controller run it that long (and
// fail it with failed).
func (m measurement) submit(t *testing.T, duration string, failed bool, extra ...string) string {
	t.Helper()
	ann := ""
	if duration != "" {
		ann = "argo-cred.test/duration: " + duration
		if failed {
			ann += ", argo-cred.test/outcome: Failed"
		}
	}
	return m.must(t, m.setup, append([]string{"submit", "-o", "name", m.file(t, "wf",
		"apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: m-, annotations: {"+ann+"}}\n"+spec)}, extra...)...)
}

const spec = "spec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}\n"

func (m measurement) file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// forbidden tells whether the audit log has a request of user's that
// Kubernetes refused (403). The log is written as requests end: the
// refusal of a request just made may take a moment to appear.
func (m measurement) forbidden(t *testing.T, user string) bool {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		refused := m.s.Audit(t, func(ev testenv.AuditEvent) bool {
			return ev.User.Username == "system:serviceaccount:"+m.ns+":"+user && ev.ResponseStatus.Code == http.StatusForbidden
		})
		if len(refused) > 0 || time.Now().After(deadline) {
			return len(refused) > 0
		}
	}
}

// requests reads from the audit log what the server asked Kubernetes for
// with user's identity: the requests, merged into rules, and whether it
// made SelfSubjectAccessReviews.
func (m measurement) requests(t *testing.T, user string) (rules []profile.Rule, reviews bool) {
	t.Helper()
	seen := map[string]bool{}
	for _, ev := range m.s.Audit(t, func(ev testenv.AuditEvent) bool {
		return ev.User.Username == "system:serviceaccount:"+m.ns+":"+user
	}) {
		if seen[ev.AuditID] {
			continue
		}
		seen[ev.AuditID] = true
		ref := ev.ObjectRef
		if ref.APIGroup == "authorization.k8s.io" && ref.Resource == "selfsubjectaccessreviews" {
			reviews = true
			continue
		}
		res := ref.Resource
		if ref.Subresource != "" {
			res += "/" + ref.Subresource
		}
		rules = append(rules, profile.Rule{Group: ref.APIGroup, Resource: res, Verbs: []string{ev.Verb}})
	}
	return profile.Merge(rules), reviews
}

// The heart of the profiles: each profile's argo commands run against the
// stack's Argo Server of each measured version (profile.Versions), with
// the argo CLI of that version and a token that may do anything in its
// namespace, and the kube-apiserver's audit log says what the server asked
// for with that token. Each version's table in this package must be
// exactly that, so a new Argo version that needs more (or less) fails here.
func TestIntegrationProfilesMeasured(t *testing.T) {
	s := testenv.Get(t)
	for _, v := range profile.Versions {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			ps, measured, ok := profile.ForVersion(v)
			if !ok || measured != v {
				t.Fatalf("profile.ForVersion(%q) = %q, %v; want the table measured on %s", v, measured, ok, v)
			}
			// A namespace per version: the audit log's user names the
			// namespace, so each version's identities are its own.
			ns := s.Namespace(t)
			m := measurement{s: s, ns: ns, setup: s.ServiceAccount(t, ns, "setup", everything)}
			m.server, m.bin = argoOf(t, s, v)
			if got := m.serverVersion(t); got != v {
				t.Fatalf("the stack's Argo Server %s is %s; the table is for %s", m.server, got, v)
			}
			measure(t, m, ps, v)
		})
	}
}

// argoOf is the stack's Argo Server and argo CLI of version's minor.
func argoOf(t *testing.T, s *testenv.Stack, version string) (server, bin string) {
	t.Helper()
	switch {
	case strings.HasPrefix(version, "v3.7."):
		return s.ArgoServer, s.ArgoBin
	case strings.HasPrefix(version, "v3.6."):
		return s.ArgoV36(t)
	}
	t.Fatalf("the stack has no Argo Server %s (test/stack/stack.sh)", version)
	return "", ""
}

// serverVersion is the version the measurement's Argo Server reports.
func (m measurement) serverVersion(t *testing.T) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+m.server+"/api/v1/version", nil)
	req.Header.Set("Authorization", "Bearer "+m.setup)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("reading the version of the Argo Server %s: %v", m.server, err)
	}
	defer resp.Body.Close()
	var v struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading the version of the Argo Server %s: HTTP %d, %v", m.server, resp.StatusCode, err)
	}
	return v.Version
}

// measure runs each profile of ps (the table of version) against m's
// server, as one subtest each, and compares what it measures with ps.
func measure(t *testing.T, m measurement, ps []profile.Profile, version string) {
	runs := map[string]func(t *testing.T, tok, id string){
		"submit": func(t *testing.T, tok, id string) {
			m.must(t, tok, "submit", m.file(t, "wf", "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: s-}\n"+spec))
		},
		"wait": func(t *testing.T, tok, id string) {
			a, b := m.submit(t, "3s", false), m.submit(t, "3s", false)
			m.must(t, tok, "watch", a)
			m.must(t, tok, "wait", b)
		},
		"logs": func(t *testing.T, tok, id string) {
			name := m.submit(t, "", false)
			m.logsFixture(t, name)
			// The pod has no node: the log request fails, after it was made.
			// argo logs prints nothing and exits 0 when the server may not
			// read the pod's log (the server only logs that): a refusal
			// shows in the audit log.
			if out, _ := m.argo(t, tok, "logs", name); (strings.Contains(out, "forbidden") || m.forbidden(t, id)) && !refused(tok) {
				t.Errorf("argo logs: refused\n%s", out)
			}
		},
		"read": func(t *testing.T, tok, id string) {
			name := m.submit(t, "", false)
			m.must(t, tok, "list")
			m.must(t, tok, "get", name)
		},
		"manage": func(t *testing.T, tok, id string) {
			a, b, c := m.submit(t, "60s", false), m.submit(t, "60s", false), m.submit(t, "60s", false)
			d := m.submit(t, "1s", true)
			_, _ = m.argo(t, m.setup, "wait", d) // it fails: exit 1
			m.node(t, d, "Failed")               // retry deletes the pods of failed nodes
			m.must(t, tok, "suspend", a)
			m.must(t, tok, "resume", a)
			m.must(t, tok, "stop", b)
			m.must(t, tok, "terminate", c)
			m.must(t, tok, "retry", d)
			m.must(t, tok, "resubmit", d)
			m.must(t, tok, "delete", d)
		},
		"cron": func(t *testing.T, tok, id string) {
			m.must(t, tok, "cron", "create", m.file(t, "cron", cron(id)))
			m.must(t, tok, "cron", "list")
			m.must(t, tok, "cron", "get", id)
			m.must(t, tok, "cron", "suspend", id)
			m.must(t, tok, "cron", "resume", id)
			m.must(t, tok, "cron", "delete", id)
		},
		"submit-from": func(t *testing.T, tok, id string) {
			m.must(t, m.setup, "template", "create", m.file(t, "wft",
				"apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: "+id+"}\n"+spec))
			m.must(t, m.setup, "cron", "create", m.file(t, "cron", cron(id)))
			m.must(t, tok, "submit", "--from", "workflowtemplate/"+id)
			m.must(t, tok, "submit", "--from", "cronwf/"+id)
		},
	}
	// argo submit --wait is the union of submit and wait.
	t.Run("submit --wait", func(t *testing.T) {
		t.Parallel()
		m.must(t, m.s.ServiceAccount(t, m.ns, "m-submit-wait", everything), "submit", "--wait", m.file(t, "wf",
			"apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: w-, annotations: {argo-cred.test/duration: 2s}}\n"+spec))
		rules, _ := m.requests(t, "m-submit-wait")
		var both []profile.Profile
		for _, p := range ps {
			if p.Name == "submit" || p.Name == "wait" {
				both = append(both, p)
			}
		}
		if diff := cmp.Diff(profile.Union(both), rules); diff != "" {
			t.Errorf("argo submit --wait on Argo %s: the requests differ from the profiles submit and wait (-profiles +measured):\n%s", version, diff)
		}
	})
	for _, p := range ps {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			run, ok := runs[p.Name]
			if !ok {
				t.Fatalf("profile %s has no measurement", p.Name)
			}
			user := "m-" + p.Name
			run(t, m.s.ServiceAccount(t, m.ns, user, everything), user)
			rules, reviews := m.requests(t, user)
			if diff := cmp.Diff(profile.Merge(p.Rules), rules); diff != "" {
				t.Errorf("profile %s on Argo %s: the requests the server made with the job's token differ from the table (-table +measured):\n%s",
					p.Name, version, diff)
			}
			if reviews != (len(p.Reviews) > 0) {
				t.Errorf("profile %s on Argo %s: SelfSubjectAccessReviews made: %v; the table has reviews %v", p.Name, version, reviews, p.Reviews)
			}
			// The same commands succeed with exactly the profile's grants
			// (which proves the reviews' rules too).
			run(t, m.s.ServiceAccount(t, m.ns, "g-"+p.Name, policy(p.Grants())...), "g-"+p.Name)
			if version == profile.MeasuredVersion {
				oneVerbLess(t, m, p, run)
			}
		})
	}
}

// oneVerbLess: for each verb of the profile, a token with all the
// profile's grants but that verb. argo-cred probe --for the profile fails
// with exit 6 naming that verb (the cluster asked with the token for what
// the Argo API cannot probe: --kubeconfig is named), and at least one of
// the profile's argo commands fails too: the probe and reality agree.
func oneVerbLess(t *testing.T, m measurement, p profile.Profile, run func(t *testing.T, tok, id string)) {
	for _, g := range p.Grants() {
		for _, verb := range g.Verbs {
			name := g.Resource + "/" + verb
			t.Run("without "+name, func(t *testing.T) {
				t.Parallel()
				var less []profile.Rule
				for _, r := range p.Grants() {
					if r.Resource == g.Resource && r.Group == g.Group {
						r.Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == verb })
					}
					if len(r.Verbs) > 0 {
						less = append(less, r)
					}
				}
				user := "x-" + p.Name + "-" + strings.ReplaceAll(g.Resource, "/", "-") + "-" + verb
				tok := m.s.ServiceAccount(t, m.ns, user, policy(less)...)
				tokFile := filepath.Join(t.TempDir(), "token")
				if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
					t.Fatal(err)
				}
				var stdout, stderr bytes.Buffer
				code := cli.Run(context.Background(), []string{"probe", "--server", m.server, "--secure=false", "--namespace", m.ns,
					"--token-file", tokFile, "--kubeconfig", m.s.Kubeconfig, "--for", p.Name}, cli.IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr})
				if code != 6 || !strings.Contains(stderr.String(), "error: "+name+": expected allowed, got denied") {
					t.Errorf("argo-cred probe --for %s without %s: exit %d; want 6 naming %s\n%s", p.Name, name, code, name, stderr.String())
				}
				var failed atomic.Int32
				tolerant.Store(tok, &failed)
				run(t, tok, user)
				if failed.Load() == 0 {
					t.Errorf("profile %s without %s: every argo command succeeded; the profile holds a verb it does not need", p.Name, name)
				}
			})
		}
	}
}

func cron(name string) string {
	return "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: " + name + "}\n" +
		"spec: {schedules: ['0 0 1 1 *'], workflowSpec: {entrypoint: main, templates: [{name: main, container: {image: busybox}}]}}\n"
}

// logsFixture makes, with the admin client, a Pod of the workflow name (no
// node: it never runs) marked Running, and a node status of the workflow
// naming it, so that argo logs asks for the pod and its log for real.
func (m measurement) logsFixture(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	pods := m.s.Client.CoreV1().Pods(m.ns)
	pod, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"workflows.argoproj.io/workflow": name},
			Annotations: map[string]string{"workflows.argoproj.io/node-name": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err == nil {
		pod.Status.Phase = corev1.PodRunning
		_, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("making the pod of workflow %s: %v", name, err)
	}
	m.node(t, name, "Running")
}

// node gives the workflow name, with the admin client, a Pod node of its
// own name (the pod's name) in phase, and that phase.
func (m measurement) node(t *testing.T, name, phase string) {
	t.Helper()
	patch := `{"status":{"phase":"` + phase + `","nodes":{"` + name + `":{"id":"` + name + `","name":"` + name +
		`","displayName":"` + name + `","type":"Pod","templateName":"main","phase":"` + phase + `"}}}}`
	err := m.s.Client.Discovery().RESTClient().Patch(types.MergePatchType).
		AbsPath("/apis/argoproj.io/v1alpha1/namespaces", m.ns, "workflows", name).Body([]byte(patch)).Do(context.Background()).Error()
	if err != nil {
		t.Fatalf("writing the node of workflow %s: %v", name, err)
	}
}

// policy is rules as a Role's rules.
func policy(rules []profile.Rule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		out = append(out, rbacv1.PolicyRule{APIGroups: []string{r.Group}, Resources: []string{r.Resource}, Verbs: r.Verbs})
	}
	return out
}
