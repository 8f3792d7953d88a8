package env

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCurated(t *testing.T) {
	for _, tc := range []struct {
		name    string
		environ []string
		vars    []Var
		want    []string
	}{
		{"nothing", nil, nil, []string{"KUBECONFIG=/dev/null"}},
		{"stale settings and kubeconfig dropped",
			[]string{"PATH=/bin", "ARGO_TOKEN=Bearer old", "KUBECONFIG=/home/me/.kube/config", "ARGO_ANYTHING=1", "HOME=/home/me"},
			[]Var{{Name: "ARGO_SERVER", Value: "argo:2746"}, {Name: "ARGO_TOKEN", Value: "Bearer new"}},
			[]string{"PATH=/bin", "HOME=/home/me", "ARGO_SERVER=argo:2746", "ARGO_TOKEN=Bearer new", "KUBECONFIG=/dev/null"}},
		{"a var not ARGO_* replaced", []string{"SSL_CERT_FILE=/old", "X=1"}, []Var{{Name: "SSL_CERT_FILE", Value: "/new"}},
			[]string{"X=1", "SSL_CERT_FILE=/new", "KUBECONFIG=/dev/null"}},
		{"names only prefixed by ARGO kept", []string{"ARGOCD_SERVER=cd", "MY_ARGO_X=1", "ARGO_=x"}, nil,
			[]string{"ARGOCD_SERVER=cd", "MY_ARGO_X=1", "KUBECONFIG=/dev/null"}},
		{"an entry without =", []string{"ARGO_SERVER", "ODD"}, nil, []string{"ODD", "KUBECONFIG=/dev/null"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.environ)
			if diff := cmp.Diff(tc.want, Curated(tc.environ, tc.vars)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.environ); diff != "" {
				t.Errorf("environ changed (-want +got):\n%s", diff)
			}
		})
	}
}
