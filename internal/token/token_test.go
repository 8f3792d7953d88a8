package token

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".c2lnbmF0dXJl"
}

func TestNormalize(t *testing.T) {
	tests := map[string]struct{ in, want, wantErr string }{
		"raw":              {in: "abc.def.ghi", want: "abc.def.ghi"},
		"bearer":           {in: "Bearer abc.def.ghi", want: "abc.def.ghi"},
		"lower bearer":     {in: "bearer abc.def.ghi", want: "abc.def.ghi"},
		"file newline":     {in: "abc.def.ghi\n", want: "abc.def.ghi"},
		"crlf and spaces":  {in: "  Bearer   abc.def.ghi \r\n", want: "abc.def.ghi"},
		"bearer only once": {in: "Bearer Bearer abc", wantErr: "white space"},
		"empty":            {in: "", wantErr: "token is empty"},
		"only bearer":      {in: "Bearer ", wantErr: "token is empty"},
		"blank":            {in: " \n\t", wantErr: "token is empty"},
		"inner newline":    {in: "abc\ndef", wantErr: "white space or a control character"},
		"control":          {in: "abc\x01def", wantErr: "control character"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := normalize(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestBearerOnce(t *testing.T) {
	for _, in := range []string{"x.y.z", "Bearer x.y.z", "bearer x.y.z\n", " Bearer x.y.z "} {
		tok, err := New(in, "env", "test")
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Bearer(); got != "Bearer x.y.z" {
			t.Errorf("New(%q).Bearer() = %q; want %q", in, got, "Bearer x.y.z")
		}
	}
}

func TestTokenNeverFormats(t *testing.T) {
	tok, _ := New("s3cret.s3cret.s3cret", "env", "ARGO_TOKEN")
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok)} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("formatted token leaks it: %s", s)
		}
	}
}

func TestClaims(t *testing.T) {
	tests := map[string]struct {
		raw   string
		want  Claims
		jwtOK bool
	}{
		"legacy secret token": {
			raw:  jwt(`{"iss":"kubernetes/serviceaccount","sub":"system:serviceaccount:ci:jenkins","kubernetes.io/serviceaccount/namespace":"ci","kubernetes.io/serviceaccount/service-account.name":"jenkins","kubernetes.io/serviceaccount/secret.name":"jenkins"}`),
			want: Claims{Subject: "system:serviceaccount:ci:jenkins", Issuer: "kubernetes/serviceaccount", Namespace: "ci", ServiceAccount: "jenkins", Secret: "jenkins"}, jwtOK: true,
		},
		"tokenrequest token": {
			raw: jwt(`{"aud":["https://kubernetes.default.svc"],"exp":1700003600,"iat":1700000000,"iss":"https://kubernetes.default.svc","sub":"system:serviceaccount:ci:gha","kubernetes.io":{"namespace":"ci","serviceaccount":{"name":"gha","uid":"1"}}}`),
			want: Claims{Subject: "system:serviceaccount:ci:gha", Issuer: "https://kubernetes.default.svc", Audience: []string{"https://kubernetes.default.svc"},
				Expiry: time.Unix(1700003600, 0).UTC(), IssuedAt: time.Unix(1700000000, 0).UTC(), Namespace: "ci", ServiceAccount: "gha"}, jwtOK: true,
		},
		"string audience": {raw: jwt(`{"sub":"x","aud":"one"}`), want: Claims{Subject: "x", Audience: []string{"one"}}, jwtOK: true},
		"opaque":          {raw: "opaque-token"},
		"bad payload":     {raw: "a.!!!.c"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tok, err := New(tc.raw, "env", "test")
			if err != nil {
				t.Fatal(err)
			}
			got, ok := tok.Claims()
			if ok != tc.jwtOK {
				t.Fatalf("ok = %t; want %t", ok, tc.jwtOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoExpiryWarning(t *testing.T) {
	tok, _ := New(jwt(`{"sub":"x"}`), "secret", "secret a/b")
	if len(tok.Warnings) != 1 || !strings.Contains(tok.Warnings[0], "never expires") {
		t.Errorf("warnings = %q; want one saying the token has no expiry", tok.Warnings)
	}
}

func secret(name string, typ corev1.SecretType, sa, token string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ci", Annotations: map[string]string{}}, Type: typ}
	if sa != "" {
		s.Annotations[corev1.ServiceAccountNameKey] = sa
	}
	if token != "" {
		s.Data = map[string][]byte{"token": []byte(token)}
	}
	return s
}

func TestFromSecretErrors(t *testing.T) {
	tests := map[string]struct {
		objs    []runtime.Object
		wantErr string
	}{
		"missing":       {wantErr: `reading secret ci/jenkins: secrets "jenkins" not found`},
		"wrong type":    {objs: []runtime.Object{secret("jenkins", corev1.SecretTypeOpaque, "jenkins", "x")}, wantErr: `type is "Opaque"`},
		"no annotation": {objs: []runtime.Object{secret("jenkins", corev1.SecretTypeServiceAccountToken, "", "x")}, wantErr: "annotation kubernetes.io/service-account.name is missing"},
		"not filled":    {objs: []runtime.Object{secret("jenkins", corev1.SecretTypeServiceAccountToken, "jenkins", "")}, wantErr: "token not filled in within 50ms"},
		"empty token":   {objs: []runtime.Object{secret("jenkins", corev1.SecretTypeServiceAccountToken, "jenkins", "  \n")}, wantErr: "token is empty"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := fake.NewSimpleClientset(tc.objs...)
			_, err := FromSecret(context.Background(), c.CoreV1().Secrets("ci"), "ci", "jenkins", 50*time.Millisecond, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v; want error containing %q", err, tc.wantErr)
			}
			if got := exitcode.Of(err); got != exitcode.TokenUnavailable {
				t.Errorf("exit code %d; want %d", got, exitcode.TokenUnavailable)
			}
		})
	}
}

func TestFromSecretForbidden(t *testing.T) {
	c := fake.NewSimpleClientset()
	c.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "jenkins", fmt.Errorf("no"))
	})
	_, err := FromSecret(context.Background(), c.CoreV1().Secrets("ci"), "ci", "jenkins", time.Second, nil)
	if exitcode.Of(err) != exitcode.TokenUnavailable || !strings.Contains(exitcode.Hint(err), "get and watch on secrets") {
		t.Errorf("got %v (hint %q); want a forbidden error with a hint about RBAC", err, exitcode.Hint(err))
	}
}

// The token controller fills the Secret after FromSecret started waiting.
func TestFromSecretWaitsWithWatch(t *testing.T) {
	c := fake.NewSimpleClientset(secret("jenkins", corev1.SecretTypeServiceAccountToken, "jenkins", ""))
	watching := watchStarted(c)
	go func() {
		<-watching
		time.Sleep(20 * time.Millisecond)
		_, _ = c.CoreV1().Secrets("ci").Update(context.Background(), secret("jenkins", corev1.SecretTypeServiceAccountToken, "jenkins", "a.b.c"), metav1.UpdateOptions{})
	}()
	var told []string
	start := time.Now()
	tok, err := FromSecret(context.Background(), c.CoreV1().Secrets("ci"), "ci", "jenkins", 10*time.Second, func(s string) { told = append(told, s) })
	if err != nil {
		t.Fatal(err)
	}
	if tok.Bearer() != "Bearer a.b.c" {
		t.Errorf("got %q; want the filled token", tok.Bearer())
	}
	if len(told) != 1 {
		t.Errorf("progress told %q; want one line", told)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s; the watch should return when the token is written", d)
	}
}

func TestFromSecretDeletedWhileWaiting(t *testing.T) {
	c := fake.NewSimpleClientset(secret("jenkins", corev1.SecretTypeServiceAccountToken, "ghost", ""))
	watching := watchStarted(c)
	go func() {
		<-watching
		_ = c.CoreV1().Secrets("ci").Delete(context.Background(), "jenkins", metav1.DeleteOptions{})
	}()
	_, err := FromSecret(context.Background(), c.CoreV1().Secrets("ci"), "ci", "jenkins", 10*time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "deleted while waiting") || !strings.Contains(exitcode.Hint(err), "create the ServiceAccount first") {
		t.Fatalf("got %v; want a deleted-while-waiting error", err)
	}
}

func TestFromEnvAndFile(t *testing.T) {
	_, err := FromEnv(func(string) (string, bool) { return "", false })
	if exitcode.Of(err) != exitcode.TokenUnavailable {
		t.Errorf("unset ARGO_TOKEN: got %v", err)
	}
	_, err = FromEnv(func(string) (string, bool) { return "", true })
	if err == nil || !strings.Contains(err.Error(), "token is empty") {
		t.Errorf("empty ARGO_TOKEN: got %v", err)
	}
	_, err = FromFile(t.TempDir() + "/missing")
	if exitcode.Of(err) != exitcode.TokenUnavailable || !strings.Contains(err.Error(), "reading token file") {
		t.Errorf("missing file: got %v", err)
	}
}

// A FIFO token file (a shell's process substitution, <(vault kv get …)) is
// read to its end; one that gives no token within the timeout fails with
// TokenUnavailable, saying what its writer did; one that never ends hits
// the size bound.
func TestFromFileWithinFIFO(t *testing.T) {
	tok := jwt(`{"sub":"system:serviceaccount:ci:ci"}`)
	fifo := func(t *testing.T, write func(w *os.File)) string {
		p := filepath.Join(t.TempDir(), "token")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		t.Cleanup(func() { close(done) })
		if write != nil {
			go func() {
				w, err := os.OpenFile(p, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				defer w.Close()
				write(w)
				<-done
			}()
		}
		return p
	}
	t.Run("a token, then the end", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "token")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		go func() {
			if w, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
				_, _ = w.WriteString(tok + "\n")
				w.Close()
			}
		}()
		got, err := FromFileWithin(context.Background(), p, 10*time.Second)
		if err != nil || got.Raw() != tok || got.From != "file "+p {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	for name, tc := range map[string]struct {
		write func(w *os.File)
		want  string
		code  exitcode.Code
	}{
		"no writer":           {want: "no token from %s within 300ms: a FIFO no writer has opened", code: exitcode.TokenUnavailable},
		"a writer that waits": {write: func(*os.File) {}, want: "no token from %s within 300ms: a FIFO whose writer has written nothing and not closed it", code: exitcode.TokenUnavailable},
		"a writer that never ends": {write: func(w *os.File) {
			for {
				if _, err := w.WriteString(strings.Repeat("x", 4096)); err != nil {
					return
				}
			}
		}, want: "more than 65536 bytes", code: exitcode.TokenUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			p := fifo(t, tc.write)
			start := time.Now()
			_, err := FromFileWithin(context.Background(), p, 300*time.Millisecond)
			want := tc.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, p)
			}
			if err == nil || !strings.Contains(err.Error(), want) || exitcode.Of(err) != tc.code || exitcode.Hint(err) == "" {
				t.Errorf("got %v (exit %d, hint %q); want %q, exit %d", err, exitcode.Of(err), exitcode.Hint(err), want, tc.code)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s; want the timeout of 300ms", d)
			}
		})
	}
}

// watchStarted returns a channel closed when a watch on secrets begins, so a
// test can change the Secret while FromSecret is waiting on it.
func watchStarted(c *fake.Clientset) <-chan struct{} {
	watching := make(chan struct{})
	c.PrependWatchReactor("secrets", func(k8stesting.Action) (bool, watch.Interface, error) {
		close(watching)
		return false, nil, nil
	})
	return watching
}

// A watch that ends with an error event (say, a compacted resource version)
// is resumed from a fresh read, not retried in a tight loop.
func TestFromSecretResumesAfterWatchError(t *testing.T) {
	c := fake.NewSimpleClientset(secret("jenkins", corev1.SecretTypeServiceAccountToken, "jenkins", ""))
	var watches int
	c.PrependWatchReactor("secrets", func(k8stesting.Action) (bool, watch.Interface, error) {
		watches++
		w := watch.NewFake()
		go func() {
			if watches == 1 {
				// The token is written, but this watch only reports an error.
				_, _ = c.CoreV1().Secrets("ci").Update(context.Background(), secret("jenkins", corev1.SecretTypeServiceAccountToken, "jenkins", "a.b.c"), metav1.UpdateOptions{})
				w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired})
			}
		}()
		return true, w, nil
	})
	tok, err := FromSecret(context.Background(), c.CoreV1().Secrets("ci"), "ci", "jenkins", 5*time.Second, nil)
	if err != nil || tok.Bearer() != "Bearer a.b.c" {
		t.Fatalf("got %v, %v; want the token after resuming", tok, err)
	}
	if watches != 1 {
		t.Errorf("%d watches; want the token found by reading the Secret again", watches)
	}
}
