package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps heavy packages out of the binary: every package
// linked in runs its init before main, on every run of the exec path.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []struct{ prefix, why string }{
		{"github.com/argoproj/argo-workflows/v3/server", "the Argo Server's own code"},
		{"github.com/argoproj/argo-workflows/v3/workflow/", "the workflow controller"},
		{"github.com/argoproj/argo-workflows/v3/cmd/", "the argo CLI"},
		{"github.com/argoproj/argo-workflows/v3/util/kubeconfig", "argo's kubeconfig helpers (pull in clientsets)"},
		{"k8s.io/client-go/kubernetes", "client-go's clientset registers every API group (use internal/kube)"},
		{"k8s.io/client-go/dynamic", "the dynamic client"},
		{"cloud.google.com/", "a cloud SDK"},
		{"github.com/aws/", "a cloud SDK"},
		{"github.com/Azure/", "a cloud SDK"},
	}
	deps := strings.Fields(string(out))
	for _, d := range deps {
		for _, f := range forbidden {
			if d == strings.TrimSuffix(f.prefix, "/") || strings.HasPrefix(d, f.prefix) {
				t.Errorf("argo-cred links %s: %s", d, f.why)
			}
		}
	}
	// The top-level apiclient package links the Argo Server; only its
	// service subpackages may be used.
	for _, d := range deps {
		if d == "github.com/argoproj/argo-workflows/v3/pkg/apiclient" {
			t.Errorf("argo-cred links %s: use the service subpackages (pkg/apiclient/workflow, …)", d)
		}
	}
	if len(deps) < 50 {
		t.Fatalf("go list returned %d packages; the check would prove nothing", len(deps))
	}
}
