package identity

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/kube"
)

var (
	t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

// The current token Secret is the one CLIENT-token-current copies; without
// a copy, the newest annotated current; a client from before has none.
func TestCurrent(t *testing.T) {
	a := secret{Name: "ci-token-aaaa", Created: t0, State: stateCurrent}
	b := secret{Name: "ci-token-bbbb", Created: t1, State: stateCurrent}
	tests := map[string]struct {
		secrets []secret
		source  string
		want    string // "" for none
	}{
		"none":                          {},
		"the copy's source":             {secrets: []secret{a, b}, source: "ci-token-aaaa", want: "ci-token-aaaa"},
		"the copy's source, no state":   {secrets: []secret{{Name: "ci-token-x2b4c"}}, source: "ci-token-x2b4c", want: "ci-token-x2b4c"},
		"a copy of a Secret now gone":   {secrets: []secret{a, b}, source: "ci-token-gone"},
		"no copy: the newest current":   {secrets: []secret{b, a}, want: "ci-token-bbbb"},
		"no copy, a retiring one":       {secrets: []secret{{Name: "ci-token-r", State: stateRetiring}}},
		"from before: no state at all":  {secrets: []secret{{Name: "ci-token"}, {Name: "ci-token-x2b4c"}}},
		"a per-run Secret is not a one": {secrets: []secret{{Name: "ci-run-x", State: stateCurrent, Binding: true}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := current(tc.secrets, tc.source)
			if ok != (tc.want != "") || got.Name != tc.want {
				t.Errorf("current: %q, %t; want %q", got.Name, ok, tc.want)
			}
		})
	}
}

// argo-cred's annotations: only its two states count; a retiring token's
// grace ends at retire-after, or at once when that is not a time.
func TestStateOf(t *testing.T) {
	tests := map[string]struct {
		ann       map[string]string
		wantState string
		wantAfter time.Time
	}{
		"none":             {},
		"current":          {ann: map[string]string{stateKey: "current"}, wantState: stateCurrent},
		"retiring":         {ann: map[string]string{stateKey: "retiring", retireAfterKey: "2025-01-02T03:04:05Z"}, wantState: stateRetiring, wantAfter: t0},
		"retiring, no end": {ann: map[string]string{stateKey: "retiring", retireAfterKey: "soon"}, wantState: stateRetiring},
		"unknown state":    {ann: map[string]string{stateKey: "##[set-output]x", retireAfterKey: "2025-01-02T03:04:05Z"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			state, after := stateOf(kube.Meta{Annotations: tc.ann})
			if state != tc.wantState || !after.Equal(tc.wantAfter) {
				t.Errorf("got %q, %s; want %q, %s", state, after, tc.wantState, tc.wantAfter)
			}
		})
	}
	now := t0.Add(time.Minute)
	secrets := []secret{{Name: "due", State: stateRetiring, RetireAfter: t0}, {Name: "not yet", State: stateRetiring, RetireAfter: t1},
		{Name: "no end", State: stateRetiring}, {Name: "current", State: stateCurrent}, {Name: "legacy"}}
	if diff := cmp.Diff([]string{"due", "no end"}, secretNames(overdue(secrets, now))); diff != "" {
		t.Errorf("overdue (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"due", "not yet", "no end"}, secretNames(retiring(secrets))); diff != "" {
		t.Errorf("retiring (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"current", "legacy"}, secretNames(without(secrets, retiring(secrets)))); diff != "" {
		t.Errorf("without (-want +got):\n%s", diff)
	}
	if got, want := describe("argo", secrets[:3]), "argo/due (retiring until 2025-01-02T03:04:05Z), argo/not yet (retiring until 2025-01-02T04:04:05Z), argo/no end (retiring)"; got != want {
		t.Errorf("describe: %q; want %q", got, want)
	}
}

// Only argo-cred's copy for the client counts as one: Opaque, its labels,
// not a per-run Secret.
func TestIsCopy(t *testing.T) {
	ours := labels("ci")
	ours[currentLabel] = "true"
	binding := labels("ci")
	binding[currentLabel], binding[bindingLabel] = "true", "run"
	for name, tc := range map[string]struct {
		typ    string
		labels map[string]string
		want   bool
	}{
		"ours":              {typ: "Opaque", labels: ours, want: true},
		"another client's":  {typ: "Opaque", labels: map[string]string{managedBy: managedByValue, clientLabel: "cd", currentLabel: "true"}},
		"no copy label":     {typ: "Opaque", labels: labels("ci")},
		"a per-run Secret":  {typ: "Opaque", labels: binding},
		"a token Secret":    {typ: tokenType, labels: ours},
		"not argo-cred's":   {typ: "Opaque", labels: map[string]string{currentLabel: "true", clientLabel: "ci"}},
		"no labels at all:": {typ: "Opaque"},
	} {
		if got := isCopy(tc.typ, kube.Meta{Labels: tc.labels}, "ci"); got != tc.want {
			t.Errorf("%s: %t; want %t", name, got, tc.want)
		}
	}
}

// jwt is an unsigned JWT with subject sub: what the reader reads of a
// token (the Argo Server checks it).
func jwt(sub string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(`{"sub":"`+sub+`"}`)) + ".c2ln"
}

// CurrentToken reads the copy by one get (never a list); it takes only
// argo-cred's copy for the client, holding a token of the client's
// ServiceAccount, and says what to do when there is none.
func TestCurrentToken(t *testing.T) {
	ours := labels("ci")
	ours[currentLabel] = "true"
	copySecret := func(typ corev1.SecretType, lbl map[string]string, tok string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ci-token-current", Namespace: "argo", Labels: lbl},
			Type: typ, Data: map[string][]byte{"token": []byte(tok)}}
	}
	good := jwt("system:serviceaccount:argo:ci")
	tests := map[string]struct {
		objs    []runtime.Object
		wantErr string // "" for the token good
	}{
		"the copy":                    {objs: []runtime.Object{copySecret("Opaque", ours, good)}},
		"none (a client from before)": {wantErr: "client ci has no current token: no secret argo/ci-token-current"},
		"not argo-cred's":             {objs: []runtime.Object{copySecret("Opaque", labels("ci"), good)}, wantErr: "is not argo-cred's copy of client ci's current token"},
		"a token Secret of that name": {objs: []runtime.Object{copySecret(corev1.SecretTypeServiceAccountToken, ours, good)}, wantErr: "is not argo-cred's copy"},
		"another account's token":     {objs: []runtime.Object{copySecret("Opaque", ours, jwt("system:serviceaccount:argo:admin"))}, wantErr: "holds no token of ServiceAccount argo/ci"},
		"not a JWT":                   {objs: []runtime.Object{copySecret("Opaque", ours, "opaque-token")}, wantErr: "holds no token of ServiceAccount argo/ci"},
		"empty":                       {objs: []runtime.Object{copySecret("Opaque", ours, "")}, wantErr: "token is empty"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset(tc.objs...)
			got, err := CurrentToken(t.Context(), cs.CoreV1().Secrets("argo"), "argo", "ci")
			if tc.wantErr == "" {
				if err != nil || got.Raw() != good || got.Source != "client" {
					t.Fatalf("got %v, %v; want the copy's token", got, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitcode.Of(err) != exitcode.TokenUnavailable {
				t.Fatalf("got %v (exit %d); want exit 3, %q", err, exitcode.Of(err), tc.wantErr)
			}
			if strings.HasPrefix(name, "none") && !strings.Contains(exitcode.Hint(err), "argo-cred rotate --client ci makes it, or use --secret") {
				t.Errorf("hint %q", exitcode.Hint(err))
			}
			var verbs []string
			for _, a := range cs.Actions() {
				verbs = append(verbs, a.GetVerb()+" "+a.GetResource().Resource)
			}
			if diff := cmp.Diff([]string{"get secrets"}, verbs); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// What provision --dry-run prints of the token Secret: one of the
// client's ServiceAccount, named by the API server.
func TestTokenSecretBody(t *testing.T) {
	c := Client{Name: "ci", Namespace: "argo"}
	objs := c.Objects()
	md := objs[len(objs)-1].Body["metadata"].(map[string]any)
	if md["generateName"] != "ci-token-" || md["name"] != nil || md["annotations"].(map[string]string)[saNameKey] != "ci" || !owned(kube.Meta{Labels: md["labels"].(map[string]string)}, "ci") {
		t.Errorf("provision's token Secret: %v", md)
	}
	if md := c.tokenSecret("ci-token").Body["metadata"].(map[string]any); md["name"] != "ci-token" || md["generateName"] != nil {
		t.Errorf("a named token Secret: %v", md)
	}
}

// rotate's last line says which Secret is current and until when the old
// token stays valid.
func TestRotateSummary(t *testing.T) {
	c := Client{Name: "ci", Namespace: "argo"}
	tests := map[string]struct {
		r    RotateResult
		want string
	}{
		"grace": {r: RotateResult{Created: "ci-token-bbbb", Retiring: []string{"ci-token-aaaa"}, RetireAfter: t0},
			want: "secret argo/ci-token-bbbb is current (its token in ci-token-current); the old token (secret ci-token-aaaa) stays valid until 2025-01-02T03:04:05Z, then the next lifecycle command for the client deletes it (rotate --finish does now)"},
		"no grace": {r: RotateResult{Created: "ci-token-bbbb", Deleted: []string{"ci-token-x2b4c"}}, want: "secret argo/ci-token-bbbb is current (its token in ci-token-current); the old token is deleted and rejected"},
		"no old":   {r: RotateResult{Created: "ci-token-bbbb"}, want: "secret argo/ci-token-bbbb is current (its token in ci-token-current)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.r.summary(c); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}
