package identity

import (
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

// The slot a rotate fills is the one that is not current: b after a, a
// after b, and a for a client with none current (new, or from before
// slots); of two current (for a moment, mid-rotate), the newer counts.
func TestSlotChoice(t *testing.T) {
	cur := func(name string, created time.Time) secret {
		return secret{Name: name, Created: created, State: stateCurrent, Client: "ci"}
	}
	tests := map[string]struct {
		secrets     []secret
		wantCurrent string // "" for none
		wantNext    string
	}{
		"none":                   {wantNext: "ci-token-a"},
		"a current":              {secrets: []secret{cur("ci-token-a", t0)}, wantCurrent: "ci-token-a", wantNext: "ci-token-b"},
		"b current, a retiring":  {secrets: []secret{{Name: "ci-token-a", Created: t0, State: stateRetiring}, cur("ci-token-b", t1)}, wantCurrent: "ci-token-b", wantNext: "ci-token-a"},
		"both current: newer":    {secrets: []secret{cur("ci-token-a", t1), cur("ci-token-b", t0)}, wantCurrent: "ci-token-a", wantNext: "ci-token-b"},
		"from before slots":      {secrets: []secret{{Name: "ci-token", Created: t0}, {Name: "ci-token-x2b4c", Created: t1}}, wantNext: "ci-token-a"},
		"legacy named current":   {secrets: []secret{{Name: "ci-token-x2b4c", State: stateCurrent}}, wantNext: "ci-token-a"},
		"slot without a state":   {secrets: []secret{{Name: "ci-token-b", Created: t0}}, wantNext: "ci-token-a"},
		"a per-run Secret":       {secrets: []secret{{Name: "ci-token-a", State: stateCurrent, Binding: true}}, wantNext: "ci-token-a"},
		"another client's names": {secrets: []secret{cur("cd-token-a", t0)}, wantNext: "ci-token-a"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := current("ci", tc.secrets)
			if ok != (tc.wantCurrent != "") || got.Name != tc.wantCurrent {
				t.Errorf("current: %q, %t; want %q", got.Name, ok, tc.wantCurrent)
			}
			if next := nextSlot("ci", tc.secrets); next != tc.wantNext {
				t.Errorf("next slot: %q; want %q", next, tc.wantNext)
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
}

// The token Secret argo-cred writes: a token Secret of the client's
// ServiceAccount, its labels, and the state annotations given.
func TestTokenSecretBody(t *testing.T) {
	c := Client{Name: "ci", Namespace: "argo"}
	o := c.tokenSecret("ci-token-b", map[string]string{stateKey: stateRetiring, retireAfterKey: "2025-01-02T03:04:05Z"})
	md := o.Body["metadata"].(map[string]any)
	want := map[string]string{saNameKey: "ci", stateKey: "retiring", retireAfterKey: "2025-01-02T03:04:05Z"}
	if diff := cmp.Diff(want, md["annotations"]); diff != "" || o.Body["type"] != tokenType || !owned(kube.Meta{Labels: md["labels"].(map[string]string)}, "ci") {
		t.Errorf("body %v; annotations (-want +got):\n%s", o.Body, diff)
	}
	objs := c.Objects()
	first := objs[len(objs)-1].Body["metadata"].(map[string]any)
	if first["name"] != "ci-token-a" || first["annotations"].(map[string]string)[stateKey] != stateCurrent {
		t.Errorf("provision's token Secret: %v; want ci-token-a, current", first)
	}
}

// CurrentSlot reads the two slots by get only (never a list), passes over
// Secrets of those names that are not the client's, and says what is
// wrong when there is no current token.
func TestCurrentSlot(t *testing.T) {
	tokenSecret := func(name, state, sa string, labelled bool, created time.Time) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argo", CreationTimestamp: metav1.NewTime(created),
			Annotations: map[string]string{saNameKey: sa}}, Type: corev1.SecretTypeServiceAccountToken}
		if state != "" {
			s.Annotations[stateKey] = state
		}
		if labelled {
			s.Labels = labels("ci")
		}
		return s
	}
	tests := map[string]struct {
		objs     []runtime.Object
		want     string
		wantErr  string
		wantCode exitcode.Code
	}{
		"a current": {objs: []runtime.Object{tokenSecret("ci-token-a", stateCurrent, "ci", true, t0)}, want: "ci-token-a"},
		"b current, a retiring": {objs: []runtime.Object{tokenSecret("ci-token-a", stateRetiring, "ci", true, t0), tokenSecret("ci-token-b", stateCurrent, "ci", true, t1)},
			want: "ci-token-b"},
		"both current: the newer": {objs: []runtime.Object{tokenSecret("ci-token-a", stateCurrent, "ci", true, t1), tokenSecret("ci-token-b", stateCurrent, "ci", true, t0)},
			want: "ci-token-a"},
		"not argo-cred's": {objs: []runtime.Object{tokenSecret("ci-token-a", stateCurrent, "ci", false, t0), tokenSecret("ci-token-b", stateCurrent, "other", true, t1)},
			wantErr: "client ci has no token secret ci-token-a or ci-token-b of argo-cred's in namespace argo", wantCode: exitcode.TokenUnavailable},
		"none (provisioned before slots)": {objs: []runtime.Object{tokenSecret("ci-token", "", "ci", true, t0)},
			wantErr: "client ci has no token secret ci-token-a or ci-token-b", wantCode: exitcode.TokenUnavailable},
		"only retiring": {objs: []runtime.Object{tokenSecret("ci-token-b", stateRetiring, "ci", true, t0)},
			wantErr: "client ci has no current token in namespace argo: argo/ci-token-b (retiring)", wantCode: exitcode.TokenUnavailable},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cs := fake.NewClientset(tc.objs...)
			got, err := CurrentSlot(t.Context(), cs.CoreV1().Secrets("argo"), "argo", "ci")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || exitcode.Of(err) != tc.wantCode {
					t.Fatalf("got %q, %v (exit %d); want exit %d, %q", got, err, exitcode.Of(err), tc.wantCode, tc.wantErr)
				}
				if tc.wantCode == exitcode.TokenUnavailable && strings.Contains(name, "before slots") && !strings.Contains(exitcode.Hint(err), "argo-cred rotate --client ci moves it to slots, or use --secret") {
					t.Errorf("hint %q", exitcode.Hint(err))
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			var verbs []string
			for _, a := range cs.Actions() {
				verbs = append(verbs, a.GetVerb()+" "+a.GetResource().Resource)
			}
			if diff := cmp.Diff([]string{"get secrets", "get secrets"}, verbs); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// rotate's last line says which Secret is current and until when the old
// token stays valid.
func TestRotateSummary(t *testing.T) {
	tests := map[string]struct {
		r    RotateResult
		want string
	}{
		"grace": {r: RotateResult{Created: "ci-token-b", Retiring: []string{"ci-token-a"}, RetireAfter: t0},
			want: "secret argo/ci-token-b is current; the old token (secret ci-token-a) stays valid until 2025-01-02T03:04:05Z, then the next lifecycle command for the client deletes it (rotate --finish does now)"},
		"no grace": {r: RotateResult{Created: "ci-token-a", Deleted: []string{"ci-token-x2b4c"}}, want: "secret argo/ci-token-a is current; the old token is deleted and rejected"},
		"no old":   {r: RotateResult{Created: "ci-token-a"}, want: "secret argo/ci-token-a is current"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.r.summary("argo"); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}
