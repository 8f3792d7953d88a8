package keyless

import (
	"context"
	"io"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

// Every CI's binding names are DNS labels of at most 63 characters, start
// with the CI's prefix, and differ for users whose paths' slugs are equal
// or cut alike, whatever the prefix's length.
func TestBindingName(t *testing.T) {
	long := "group/" + strings.Repeat("sub/", 30) + "app"
	for _, prefix := range []string{"gha", "gitlab"} {
		seen := map[string]string{}
		for _, u := range []struct{ path, user string }{
			{"g/app.x", "u1"}, {"g/app_x", "u2"}, {long + "1", "u3"}, {long + "2", "u4"}, {"_/_", "u5"}, {"g/app.x", "u6"},
		} {
			got := BindingName(prefix, u.path, u.user)
			if errs := validation.IsDNS1123Label(got); len(errs) > 0 || !strings.HasPrefix(got, prefix+"-") {
				t.Errorf("%s %s: %q: %v; want a DNS label starting %s-", prefix, u.path, got, errs, prefix)
			}
			if other, ok := seen[got]; ok {
				t.Errorf("%s and %s share %q", u.user, other, got)
			}
			seen[got] = u.user
		}
	}
	if got := BindingName("gitlab", "My-Group/App", "u"); !strings.HasPrefix(got, "gitlab-my-group-app-") || len(got) != len("gitlab-my-group-app-")+10 {
		t.Errorf("got %q; want gitlab-my-group-app- and 10 hex digits", got)
	}
}

// Whatever the CI, an issuer kube-apiserver would refuse, or one with a
// line break that would add lines to the printed documents, is refused
// before anything is printed; GitHub's and GitLab's pass.
func TestDoIssuer(t *testing.T) {
	for issuer, code := range map[string]exitcode.Code{
		"https://token.actions.githubusercontent.com": 0, "https://gitlab.com": 0, "https://ghes.example/_services/token": 0, "https://127.0.0.1:22752": 0,
		"http://gitlab.com": 2, "https://gitlab.com\n#": 2, "https://gitlab.com\u2028x": 2, "https://u@gitlab.com": 2, "https://gitlab.com#x": 2, "gitlab.com": 2, "": 2,
	} {
		var out strings.Builder
		err := Config{Issuer: issuer}.Do(context.Background(), Job{User: "u", Name: "n"}, &out, io.Discard)
		if got := exitcode.Of(err); got != code || (code != 0 && out.Len() > 0) {
			t.Errorf("%q: exit %d (%v), stdout %d bytes; want exit %d, and nothing printed if refused", issuer, got, err, out.Len(), code)
		}
	}
}
