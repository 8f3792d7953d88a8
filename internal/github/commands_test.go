package github

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/env"
)

var sample = env.Settings{
	Server: "argo.example.com:443", Authorization: "Bearer eyJhbGciOi.eyJzdWIi.c2ln", Secure: true,
	Namespace: "ci", BaseHRef: "/argo",
}.Vars()

func Example_writeMasks() {
	_ = writeMasks(os.Stdout, []string{"Bearer abc.def.ghi"})
	// Output:
	// ::add-mask::QmVhcmVyIGFiYy5kZWYuZ2hp
	// ::add-mask::Bearer abc.def.ghi
	// ::add-mask::Bearer+abc.def.ghi
	// ::add-mask::YWJjLmRlZi5naGk=
	// ::add-mask::YWJjLmRlZi5naGk
	// ::add-mask::abc.def.ghi
}

func Example_writeEnv() {
	_ = writeEnv(os.Stdout, sample[:2], "ghadelimiter_0123")
	// Output:
	// ARGO_SERVER<<ghadelimiter_0123
	// argo.example.com:443
	// ghadelimiter_0123
	// ARGO_TOKEN<<ghadelimiter_0123
	// Bearer eyJhbGciOi.eyJzdWIi.c2ln
	// ghadelimiter_0123
}

func TestWriteEnvDelimiterIsRandom(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteEnv(&a, sample[:1]); err != nil {
		t.Fatal(err)
	}
	if err := WriteEnv(&b, sample[:1]); err != nil {
		t.Fatal(err)
	}
	if a.String() == b.String() || !strings.Contains(a.String(), "<<ghadelimiter_") {
		t.Errorf("got %q and %q; want two different random delimiters", a.String(), b.String())
	}
}

func TestRefusals(t *testing.T) {
	tests := map[string]struct {
		write func(*bytes.Buffer) error
		want  string
	}{
		"github delimiter": {func(b *bytes.Buffer) error {
			return writeEnv(b, []env.Var{{Name: "A", Value: "x ghadelimiter_1 y"}}, "ghadelimiter_1")
		}, "delimiter"},
		"github name newline": {func(b *bytes.Buffer) error { return writeEnv(b, []env.Var{{Name: "A\nB", Value: "x"}}, "d") }, "invalid variable name"},
		"github name equals":  {func(b *bytes.Buffer) error { return writeEnv(b, []env.Var{{Name: "A=B", Value: "x"}}, "d") }, "invalid variable name"},
		"mask newline secret": {func(b *bytes.Buffer) error { return writeMasks(b, []string{"a\nb"}) }, "newline"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			err := tc.write(&b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v; want one containing %q", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %q; want nothing written on error", b.String())
			}
		})
	}
}
