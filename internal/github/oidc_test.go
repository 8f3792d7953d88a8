package github

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Repositories whose readable slugs are equal, and the refs and
// environments of one repository, never share a Role/RoleBinding name;
// every name is a DNS label and the same user always gets the same name.
func TestBindingNames(t *testing.T) {
	long := "octo-org/" + strings.Repeat("a", 40)
	users := map[string]struct{ repo, ref, environment, repoID string }{
		"app.x":                  {"octo-org/app.x", "refs/heads/main", "", "1"},
		"app_x":                  {"octo-org/app_x", "refs/heads/main", "", "2"},
		"APP-X":                  {"octo-org/APP-X", "refs/heads/main", "", "3"},
		"app-x":                  {"octo-org/app-x", "refs/heads/main", "", "4"},
		"long, one":              {long + "-one", "refs/heads/main", "", "5"},
		"long, two":              {long + "-two", "refs/heads/main", "", "6"},
		"longest, one":           {"o/" + strings.Repeat("b", 98) + "1", "refs/heads/main", "", "7"},
		"longest, two":           {"o/" + strings.Repeat("b", 98) + "2", "refs/heads/main", "", "8"},
		"no readable character":  {"_/_", "refs/heads/main", "", "9"},
		"another ref":            {"octo-org/app.x", "refs/heads/release", "", "1"},
		"an environment":         {"octo-org/app.x", "refs/heads/main", "prod", "1"},
		"re-created, another id": {"octo-org/app.x", "refs/heads/main", "", "10"},
	}
	seen := map[string]string{}
	for name, u := range users {
		user := User(u.repo, u.ref, u.environment, u.repoID)
		got := BindingName(u.repo, user)
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("%s: %q is not a DNS label: %v", name, got, errs)
		}
		if !strings.HasPrefix(got, "gha-") {
			t.Errorf("%s: %q; want the prefix gha-", name, got)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%s and %s share the name %q", name, other, got)
		}
		seen[got] = name
		if again := BindingName(u.repo, user); again != got {
			t.Errorf("%s: %q, then %q; want the same name each time", name, got, again)
		}
	}
	// Readable: the slug of the repository, then the hash.
	if got, want := BindingName("argo-cred-test/app", User("argo-cred-test/app", "refs/heads/main", "", "101")), "gha-argo-cred-test-app-"; !strings.HasPrefix(got, want) || len(got) != len(want)+10 {
		t.Errorf("got %q; want %s and 10 hex digits", got, want)
	}
}
