package kube_test

import (
	"context"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/argo-cred/argo-cred/internal/kube"
	"github.com/argo-cred/argo-cred/internal/testenv"
)

func TestIntegrationClient(t *testing.T) {
	t.Parallel()
	s := testenv.Get(t)
	ns, want := s.SeedIdentity(t)
	c, err := kube.Load(s.Kubeconfig, "", "argo-cred-test", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != "argo" {
		t.Errorf("kubeconfig namespace %q; want argo", c.Namespace)
	}
	ctx := context.Background()

	sec, err := c.Secrets(ns).Get(ctx, "ci", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["token"]) != want || sec.Type != "kubernetes.io/service-account-token" {
		t.Errorf("secret %s type %s: not the token Secret", sec.Name, sec.Type)
	}
	if _, err := c.Secrets(ns).Get(ctx, "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("missing secret: got %v; want NotFound", err)
	}

	w, err := c.Secrets(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: sec.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	s.TokenSecret(t, ns, "second", "ci")
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Added {
			t.Errorf("first event %s; want Added", ev.Type)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event for a new Secret")
	}

	secs := int64(600)
	tr, err := c.ServiceAccounts(ns).CreateToken(ctx, "ci", &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status.Token == "" || tr.Status.ExpirationTimestamp.Before(&metav1.Time{Time: time.Now()}) {
		t.Errorf("token request: %+v", tr.Status.ExpirationTimestamp)
	}
}
