package credential

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/argo-cred/argo-cred/internal/exitcode"
)

func TestChoose(t *testing.T) {
	env := func(kv ...string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == name {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	for name, tc := range map[string]struct {
		req      Request
		want     string
		wantCode exitcode.Code
		wantHint string
	}{
		"--source wins":          {req: Request{SourceFlags: SourceFlags{Source: "file", Secret: "s"}}, want: "file"},
		"--secret":               {req: Request{SourceFlags: SourceFlags{Secret: "s", ServiceAccount: "sa"}}, want: "secret"},
		"--client":               {req: Request{SourceFlags: SourceFlags{Client: "ci"}, Hooks: Hooks{Lookup: env("ARGO_TOKEN", "t")}}, want: "client"},
		"--service-account":      {req: Request{SourceFlags: SourceFlags{ServiceAccount: "sa", TokenFile: "f"}}, want: "tokenrequest"},
		"--token-file":           {req: Request{SourceFlags: SourceFlags{TokenFile: "f", OIDCEnv: "X"}}, want: "file"},
		"--oidc-env":             {req: Request{SourceFlags: SourceFlags{OIDCEnv: "X"}, Hooks: Hooks{Lookup: env("ARGO_TOKEN", "t")}}, want: "oidc-env"},
		"ARGO_TOKEN":             {req: Request{Hooks: Hooks{Lookup: env("ARGO_TOKEN", "")}}, want: "env"},
		"github-oidc only asked": {req: Request{SourceFlags: SourceFlags{Source: "github-oidc"}}, want: "github-oidc"},
		"unknown": {req: Request{SourceFlags: SourceFlags{Source: "vault"}}, wantCode: exitcode.Usage,
			wantHint: "use secret, client, tokenrequest, file, env, github-oidc or oidc-env"},
		"none": {req: Request{}, wantCode: exitcode.Usage,
			wantHint: "give --secret NAME (a token Secret), --client NAME (a provisioned client), --service-account NAME (TokenRequest), --token-file PATH, or set ARGO_TOKEN"},
		"none, in a GitHub job that may request a token": {req: Request{Hooks: Hooks{Lookup: env("ACTIONS_ID_TOKEN_REQUEST_URL", "https://x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t")}}, wantCode: exitcode.Usage,
			wantHint: "give --secret NAME (a token Secret), --client NAME (a provisioned client), --service-account NAME (TokenRequest), --token-file PATH, or set ARGO_TOKEN; this GitHub job may request an OIDC token: --source github-oidc uses it, where the cluster trusts GitHub (argo-cred oidc-config)"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Choose(&tc.req)
			if tc.wantCode != 0 {
				if exitcode.Of(err) != tc.wantCode || exitcode.Hint(err) != tc.wantHint {
					t.Fatalf("got %v (code %d, hint %q); want code %d, hint %q", err, exitcode.Of(err), exitcode.Hint(err), tc.wantCode, tc.wantHint)
				}
				return
			}
			if err != nil || got.Name != tc.want {
				t.Fatalf("got %q, %v; want %q", got.Name, err, tc.want)
			}
		})
	}
}

// Every source has a way to get a token, and says how it renews; the
// intent lists name every source's flag and variable.
func TestSourcesTable(t *testing.T) {
	for _, s := range Sources {
		if s.get == nil || s.Renew == "" {
			t.Errorf("source %s: no get or no Renew", s.Name)
		}
		if (s.Flag == "") != (s.value == nil) {
			t.Errorf("source %s: a flag needs its value, and a value its flag", s.Name)
		}
	}
	wantFlags := []string{"source", "secret", "client", "service-account", "token-file", "oidc-env", "bind",
		"secret-namespace", "audience", "duration", "min-lifetime", "expect", "skip-identity-check"}
	if diff := cmp.Diff(wantFlags, IntentFlags()); diff != "" {
		t.Errorf("IntentFlags (-want +got):\n%s", diff)
	}
	wantVars := []string{"ARGO_TOKEN", "ARGO_CRED_SOURCE", "ARGO_CRED_SECRET", "ARGO_CRED_CLIENT", "ARGO_CRED_SERVICE_ACCOUNT", "ARGO_CRED_TOKEN_FILE",
		"ARGO_CRED_OIDC_ENV", "ARGO_CRED_BIND", "ARGO_CRED_SECRET_NAMESPACE", "ARGO_CRED_AUDIENCE", "ARGO_CRED_DURATION",
		"ARGO_CRED_MIN_LIFETIME", "ARGO_CRED_EXPECT", "ARGO_CRED_SKIP_IDENTITY_CHECK"}
	if diff := cmp.Diff(wantVars, IntentVars()); diff != "" {
		t.Errorf("IntentVars (-want +got):\n%s", diff)
	}
}

func TestIntended(t *testing.T) {
	given := map[string]bool{"secret": true, "expect": true, "server": true}
	env := map[string]string{"ARGO_CRED_OIDC_ENV": "", "ARGO_SERVER": "x"}
	got := Intended(func(f string) bool { return given[f] }, func(v string) (string, bool) { s, ok := env[v]; return s, ok })
	if diff := cmp.Diff([]string{"--secret", "--expect", "ARGO_CRED_OIDC_ENV"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// --client goes with no other token source, and names a client.
func TestValidateClient(t *testing.T) {
	for name, tc := range map[string]struct {
		flags SourceFlags
		want  string // the usage error; "" for none
	}{
		"alone":                  {flags: SourceFlags{Client: "ci"}},
		"with --source client":   {flags: SourceFlags{Client: "ci", Source: "client"}},
		"with --secret":          {flags: SourceFlags{Client: "ci", Secret: "ci-token"}, want: "--client and --secret both given"},
		"with --service-account": {flags: SourceFlags{Client: "ci", ServiceAccount: "ci"}, want: "--client and --service-account both given"},
		"with --token-file":      {flags: SourceFlags{Client: "ci", TokenFile: "/t"}, want: "--client and --token-file both given"},
		"with --oidc-env":        {flags: SourceFlags{Client: "ci", OIDCEnv: "T"}, want: "--client and --oidc-env both given"},
		"with --source secret":   {flags: SourceFlags{Client: "ci", Source: "secret"}, want: "--client and --source both given"},
		"not a name":             {flags: SourceFlags{Client: "CI_1"}, want: `invalid --client "CI_1": not a Kubernetes name`},
	} {
		t.Run(name, func(t *testing.T) {
			tc.flags.Duration = time.Hour
			r := Request{SourceFlags: tc.flags, ArgoFlags: ArgoFlags{Server: "127.0.0.1:2746"}, CheckFlags: CheckFlags{Timeout: time.Second}}
			_, _, err := Validate(&r)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v; want none", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want || exitcode.Of(err) != exitcode.Usage {
				t.Fatalf("got %v (exit %d); want a usage error %q", err, exitcode.Of(err), tc.want)
			}
		})
	}
}
