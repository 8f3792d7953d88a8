package identity

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// ExpectFor allows every verb a client's grants allow, the Argo API's
// checks first, and denies listing workflows and workflow templates unless
// granted.
func TestExpectFor(t *testing.T) {
	tests := map[string]struct {
		grants []Grant
		want   []string
	}{
		"none":              {want: []string{"deny:workflows/list", "deny:workflowtemplates/list"}},
		"provision default": {grants: []Grant{{"workflows", []string{"list", "update"}}}, want: []string{"allow:workflows/list", "allow:workflows/update", "deny:workflowtemplates/list"}},
		"oidc-config default": {grants: []Grant{{"workflows", []string{"create", "list"}}},
			want: []string{"allow:workflows/list", "allow:workflows/create", "deny:workflowtemplates/list"}},
		"templates listed": {grants: []Grant{{"workflowtemplates", []string{"get", "list"}}}, want: []string{"allow:workflowtemplates/list", "allow:workflowtemplates/get", "deny:workflows/list"}},
		"argo events":      {grants: []Grant{{"sensors", []string{"list"}}}, want: []string{"allow:sensors/list", "deny:workflows/list", "deny:workflowtemplates/list"}},
		"logs": {grants: []Grant{{"pods", []string{"list", "watch"}}, {"pods/log", []string{"get"}}},
			want: []string{"allow:pods/list", "allow:pods/watch", "allow:pods/log/get", "deny:workflows/list", "deny:workflowtemplates/list"}},
		"create only": {grants: []Grant{{"workflows", []string{"create"}}}, want: []string{"allow:workflows/create", "deny:workflows/list", "deny:workflowtemplates/list"}},
		"cron listed": {grants: []Grant{{"cronworkflows", []string{"list"}}}, want: []string{"allow:cronworkflows/list", "deny:workflows/list", "deny:workflowtemplates/list"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ExpectFor(tc.grants)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// GrantsFor is exactly the union of the profiles' grants and --allow's.
func TestGrantsFor(t *testing.T) {
	got, err := GrantsFor([]string{"sensors:list"}, []string{"submit,logs", "wait"}, "workflows:list,update")
	if err != nil {
		t.Fatal(err)
	}
	want := []Grant{{"workflows", []string{"create", "get", "watch"}}, {"sensors", []string{"list"}}, {"pods", []string{"list", "watch"}}, {"pods/log", []string{"get"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	rules := Client{Name: "ci", Namespace: "ns", Grants: got}.Objects()[0].Body["rules"].([]map[string]any)
	if g := rules[2]["apiGroups"].([]string); len(g) != 1 || g[0] != "" {
		t.Errorf("the rule on pods has apiGroups %q; want the core group only", g)
	}
	if _, err := GrantsFor(nil, []string{"templates"}, ""); err == nil || exitcode.Of(err) != exitcode.Usage {
		t.Errorf("an unknown profile: %v; want a usage error", err)
	}
}

// ParseGrants reads each --allow, the default when none is given, and
// fails with a usage error on the first bad one.
func TestParseGrants(t *testing.T) {
	tests := map[string]struct {
		allow   []string
		want    []Grant
		wantErr string
	}{
		"default":                 {want: []Grant{{"workflows", []string{"list", "update"}}}},
		"given":                   {allow: []string{"workflows:get", "sensors:list,get"}, want: []Grant{{"workflows", []string{"get"}}, {"sensors", []string{"get", "list"}}}},
		"bad verb":                {allow: []string{"workflows:get", "workflows:own"}, wantErr: `invalid --allow "workflows:own": unknown verb "own"`},
		"no verbs":                {allow: []string{"workflows"}, wantErr: `invalid --allow "workflows": missing :VERBS`},
		"bad thing":               {allow: []string{"secrets:get"}, wantErr: `invalid --allow "secrets:get": unknown resource "secrets"`},
		"core, a profile's verbs": {allow: []string{"pods:list,watch", "pods/log:get"}, want: []Grant{{"pods", []string{"list", "watch"}}, {"pods/log", []string{"get"}}}},
		"core, wider":             {allow: []string{"pods:get"}, wantErr: `invalid --allow "pods:get": verb "get" cannot be granted on core pods (only delete, list, watch`},
		"core, create a log":      {allow: []string{"pods/log:create"}, wantErr: `verb "create" cannot be granted on core pods/log (only get`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseGrants(tc.allow, "workflows:update,list")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitcode.Of(err) != exitcode.Usage {
					t.Fatalf("got %v (exit %d); want a usage error with %q", err, exitcode.Of(err), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAndList(t *testing.T) {
	tests := map[string]struct {
		in   []string
		want string
	}{
		"none":  {want: ""},
		"one":   {in: []string{"role"}, want: "role"},
		"two":   {in: []string{"rolebinding", "role"}, want: "rolebinding and role"},
		"three": {in: []string{"rolebinding", "role", "serviceaccount"}, want: "rolebinding, role and serviceaccount"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := andList(tc.in); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestSubjectText(t *testing.T) {
	tests := map[string]struct {
		in   []Subject
		want string
	}{
		"none": {want: ""},
		"sa":   {in: []Subject{{Kind: "ServiceAccount", Name: "ci", Namespace: "argo"}}, want: "serviceaccount/ci"},
		"two":  {in: []Subject{{Kind: "User", Name: "gha:x"}, {Kind: "Group", Name: "g"}}, want: "user/gha:x group/g"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := subjectText(tc.in); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// verdict is ok, or the exit code's name and number.
func TestVerdict(t *testing.T) {
	rejected := exitcode.New(exitcode.TokenRejected, "", "rejected")
	if got, want := verdict(nil), "ok"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
	if got, want := verdict(rejected), "token rejected (exit 5)"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
	if got := verdict(errors.New("plain")); !strings.HasSuffix(got, ")") || got == "ok" {
		t.Errorf("got %q for a plain error", got)
	}
}

// withBindings gives per-run Secrets of a client with a row to that row
// (nothing added), and those of other ServiceAccounts one row each.
func TestWithBindings(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	rows := []ClientRow{{Client: "ci"}}
	got := withBindings(rows, []secret{
		{Name: "ci-run-a", Client: "ci", Binding: true},
		{Name: "deploy-run-a", Client: "deploy", Binding: true, Created: created, Expires: "2025-01-02T04:04:05Z"},
		{Name: "deploy-run-b", Client: "deploy", Binding: true},
	})
	want := []ClientRow{{Client: "ci"}, {Client: "deploy (not provisioned)", Secrets: []ClientSecret{
		{Name: "deploy-run-a", Created: created, Binding: true, TokenExpires: "2025-01-02T04:04:05Z"},
		{Name: "deploy-run-b", Binding: true},
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// ProvisionerRBAC is the provisioner's ServiceAccount, Role and RoleBinding
// in the namespace, the grantable ClusterRole (every resource and verb a
// grant may name, the core ones of the job profiles included) bound in the
// namespace, and the admission policy.
func TestProvisionerRBAC(t *testing.T) {
	out := ProvisionerRBAC("ci-clients")
	if !strings.Contains(out, "argo-cred provision --print-rbac --namespace ci-clients | kubectl apply -f -") {
		t.Errorf("no apply line for the namespace in:\n%s", out)
	}
	type doc struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Rules []struct {
			APIGroups []string `json:"apiGroups"`
			Resources []string `json:"resources"`
			Verbs     []string `json:"verbs"`
		} `json:"rules"`
	}
	var got []string
	var grantable doc
	for _, s := range strings.Split(out, "\n---\n") {
		var d doc
		if err := yaml.Unmarshal([]byte(s), &d); err != nil {
			t.Fatalf("%v in:\n%s", err, s)
		}
		got = append(got, d.Kind+" "+d.Metadata.Namespace+"/"+d.Metadata.Name)
		if d.Kind == "ClusterRole" {
			grantable = d
		}
	}
	want := []string{
		"ServiceAccount ci-clients/argo-cred-provisioner",
		"Role ci-clients/argo-cred-provisioner",
		"RoleBinding ci-clients/argo-cred-provisioner",
		"ClusterRole /argo-cred-grantable",
		"RoleBinding ci-clients/argo-cred-provisioner-grantable",
		"ValidatingAdmissionPolicy /argo-cred-provisioner",
		"ValidatingAdmissionPolicyBinding /argo-cred-provisioner",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	// The core rules of the job profiles first, exactly their verbs; the
	// argoproj.io rule last.
	if len(grantable.Rules) != 3 {
		t.Fatalf("grantable rules: %+v", grantable.Rules)
	}
	for i, want := range []struct{ res, verbs string }{{"pods", "delete,list,watch"}, {"pods/log", "get"}} {
		r := grantable.Rules[i]
		got := strings.Join(r.APIGroups, ",") + " " + strings.Join(r.Resources, ",") + " " + strings.Join(r.Verbs, ",")
		if w := " " + want.res + " " + want.verbs; got != w {
			t.Errorf("grantable rule %d: got %q; want %q", i, got, w)
		}
	}
	if !strings.Contains(out, `(r.resources == ["pods"] && r.verbs.all(v, v in ["delete", "list", "watch"]))`) {
		t.Errorf("the admission policy does not hold a client's pods rule to the profiles' verbs:\n%s", out)
	}
	r := grantable.Rules[2]
	if diff := cmp.Diff([]string{"argoproj.io"}, r.APIGroups); diff != "" {
		t.Errorf("apiGroups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Resources, r.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Verbs, r.Verbs); diff != "" {
		t.Errorf("verbs (-want +got):\n%s", diff)
	}
}

// Manifest is what provision --dry-run prints: the Role, ServiceAccount,
// RoleBinding and first token Secret, each after "---".
func TestManifest(t *testing.T) {
	m, err := Client{Name: "ci", Namespace: "argo", Grants: []Grant{{"workflows", []string{"list"}}, {"workflows", []string{"update"}}}}.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range strings.Split(m, "---\n")[1:] {
		var d struct{ Kind, Type string }
		if err := yaml.Unmarshal([]byte(s), &d); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, d.Kind+d.Type)
	}
	if diff := cmp.Diff([]string{"Role", "ServiceAccount", "RoleBinding", "Secretkubernetes.io/service-account-token"}, kinds); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(m, "---\n") || !strings.Contains(m, "verbs:\n  - list\n  - update\n") {
		t.Errorf("manifest:\n%s", m)
	}
}

// The table has a line per Secret ("-" for a client without), its state
// (current, retiring until when, OVERDUE once that has passed), CHECK only
// with --check, and per-run Secrets marked.
func ExampleWriteClientsTable() {
	rows := []ClientRow{
		{Client: "ci", Grants: []string{"workflows:list,update"}, Subjects: []Subject{{Kind: "ServiceAccount", Name: "ci", Namespace: "argo"}},
			Secrets: []ClientSecret{{Name: "ci-token-7z7kz4m2qp", State: "retiring", RetireAfter: "2025-01-02T04:04:05Z", LastUsed: "2025-01-02"}, {Name: "ci-token-x2b4c9dfgh", State: "current"}},
			Check:   map[string]string{"ci-token-7z7kz4m2qp": "ok", "ci-token-x2b4c9dfgh": "ok"}},
		{Client: "cd", Grants: []string{"workflows:list"}, Secrets: []ClientSecret{{Name: "cd-token-2bqk5m8nzr", State: "retiring", RetireAfter: "2025-01-02T04:04:05Z", Overdue: true},
			{Name: "cd-token-tvw4x6cd9j", State: "current"}, {Name: "cd-token-x2b4c"}}},
		{Client: "gha-repo", Grants: []string{"workflows:create,list"}, Subjects: []Subject{{Kind: "User", Name: "gha:repo"}}},
		{Client: "deploy (not provisioned)", Secrets: []ClientSecret{{Name: "deploy-run-x", Binding: true, TokenExpires: "2025-01-02T04:04:05Z"}}},
	}
	_ = WriteClientsTable(os.Stdout, rows, true)
	// Output:
	// CLIENT                    GRANTS                 SECRET                                                    STATE                                         AGE  LAST-USED   INVALID-SINCE  CHECK  SUBJECT
	// ci                        workflows:list,update  ci-token-7z7kz4m2qp                                       retiring until 2025-01-02T04:04:05Z           -    2025-01-02  -              ok     serviceaccount/ci
	// ci                        workflows:list,update  ci-token-x2b4c9dfgh                                       current                                       -    -           -              ok     serviceaccount/ci
	// cd                        workflows:list         cd-token-2bqk5m8nzr                                       retiring, OVERDUE since 2025-01-02T04:04:05Z  -    -           -              -      -
	// cd                        workflows:list         cd-token-tvw4x6cd9j                                       current                                       -    -           -              -      -
	// cd                        workflows:list         cd-token-x2b4c                                            -                                             -    -           -              -      -
	// gha-repo                  workflows:create,list  -                                                         -                                             -    -           -              -      user/gha:repo
	// deploy (not provisioned)  -                      deploy-run-x (per-run, token until 2025-01-02T04:04:05Z)  -                                             -    -           -              -      -
}

func ExampleWriteClientsJSON() {
	_ = WriteClientsJSON(os.Stdout, []ClientRow{{Client: "ci", Grants: []string{"workflows:list"},
		Secrets: []ClientSecret{{Name: "ci-token-7z7kz4m2qp", State: "retiring", RetireAfter: "2025-01-02T04:04:05Z", Overdue: true}, {Name: "ci-token-x2b4c9dfgh", State: "current"}}}})
	// Output:
	// [
	//   {
	//     "client": "ci",
	//     "grants": [
	//       "workflows:list"
	//     ],
	//     "subjects": null,
	//     "secrets": [
	//       {
	//         "name": "ci-token-7z7kz4m2qp",
	//         "created": "0001-01-01T00:00:00Z",
	//         "state": "retiring",
	//         "retireAfter": "2025-01-02T04:04:05Z",
	//         "overdue": true
	//       },
	//       {
	//         "name": "ci-token-x2b4c9dfgh",
	//         "created": "0001-01-01T00:00:00Z",
	//         "state": "current"
	//       }
	//     ]
	//   }
	// ]
}

func TestTarget(t *testing.T) {
	for name, tc := range map[string]struct {
		client, ns, kubeNS string
		need               bool
		want               string // the error, or the namespace In picks
	}{
		"no client, needed":     {need: true, want: "no client given"},
		"no client, not needed": {kubeNS: "k", want: "k"},
		"reserved":              {client: "default", need: true, want: `invalid --client "default": the namespace's default ServiceAccount is reserved`},
		"a fetcher's name":      {client: "ci-fetcher", need: true, want: `invalid --client "ci-fetcher": the name of client ci's fetcher (provision --kubeconfig-out)`},
		"fetcher alone":         {client: "fetcher", ns: "n", need: true, want: "n"},
		"bad namespace":         {client: "c", ns: "Bad_NS", need: true, want: `invalid --namespace "Bad_NS"`},
		"--namespace wins":      {client: "c", ns: "n", kubeNS: "k", need: true, want: "n"},
		"no namespace at all":   {client: "c", need: true, want: "no namespace: the kubeconfig names none"},
	} {
		t.Run(name, func(t *testing.T) {
			got := ""
			err := Target(tc.client, tc.ns, tc.need)
			if err == nil {
				var c Client
				c, err = In(tc.client, tc.ns, tc.kubeNS)
				got = c.Namespace
			}
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
	if got := OrPlaceholder(""); got != "NAMESPACE" {
		t.Errorf("OrPlaceholder(\"\") = %q", got)
	}
}
