package report

import (
	"fmt"
	"os"

	"github.com/argo-cred/argo-cred/internal/exitcode"
	"github.com/argo-cred/argo-cred/internal/probe"
	"github.com/argo-cred/argo-cred/internal/redact"
	"github.com/argo-cred/argo-cred/internal/token"
)

var sample = probe.Report{
	Server: "argo.example.com:443", Transport: "grpc", Secure: true, Namespace: "ci", ServerVersion: "v3.7.9",
	Checks: []probe.Check{
		{Name: "reachability", Expected: "reachable", Actual: "reachable", OK: true, GRPCCode: "OK", LatencyMS: 4.2, Attempts: 1},
		{Name: "identity", Expected: "system:serviceaccount:ci:ci", Actual: "system:serviceaccount:ci:ci", OK: true, GRPCCode: "OK", LatencyMS: 1.1, Attempts: 1},
		{Name: "workflows/list", Expected: "allowed", Actual: "allowed", OK: true, GRPCCode: "OK", LatencyMS: 9.7, Attempts: 1},
		{Name: "workflowtemplates/list", Expected: "denied", Actual: "allowed", GRPCCode: "OK", HTTPStatus: 200, LatencyMS: 3, Attempts: 1},
	},
	ExitCode: 7,
}

func ExampleTable() {
	_ = Table(os.Stdout, sample)
	// Output:
	// server     argo.example.com:443 (grpc, tls) v3.7.9
	// namespace  ci
	//
	// CHECK                   EXPECTED                     ACTUAL                       CODE      LATENCY  RESULT
	// reachability            reachable                    reachable                    gRPC OK   4ms      ok
	// identity                system:serviceaccount:ci:ci  system:serviceaccount:ci:ci  gRPC OK   1ms      ok
	// workflows/list          allowed                      allowed                      gRPC OK   10ms     ok
	// workflowtemplates/list  denied                       allowed                      HTTP 200  3ms      FAIL
	//
	// verdict: too much access (exit 7)
}

func ExampleMarkdown() {
	_ = Markdown(os.Stdout, sample)
	// Output:
	// ### argo-cred: `argo.example.com:443` via grpc, namespace `ci`
	//
	// | check | expected | actual | code | latency |
	// |---|---|---|---|---|
	// | ✅ reachability | reachable | reachable | gRPC OK | 4ms |
	// | ✅ identity | `system:serviceaccount:ci:ci` | `system:serviceaccount:ci:ci` | gRPC OK | 1ms |
	// | ✅ workflows/list | allowed | allowed | gRPC OK | 10ms |
	// | ❌ workflowtemplates/list | denied | allowed | HTTP 200 | 3ms |
}

func ExampleJSON() {
	// A TokenRequest token for system:serviceaccount:ci:gha.
	tok, _ := token.New("eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsiaHR0cHM6Ly9rdWJlcm5ldGVzLmRlZmF1bHQuc3ZjIl0sImV4cCI6MTcwMDAwMzYwMCwiaWF0IjoxNzAwMDAwMDAwLCJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMiLCJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6Z2hhIiwia3ViZXJuZXRlcy5pbyI6eyJuYW1lc3BhY2UiOiJjaSIsInNlcnZpY2VhY2NvdW50Ijp7Im5hbWUiOiJnaGEifX19.c2ln", "tokenrequest", "tokenrequest ci/gha")
	r := sample
	r.Checks = r.Checks[2:3]
	r.OK, r.ExitCode = true, 0
	_ = JSON(os.Stdout, r, tok, "")
	// Output:
	// {
	//   "server": "argo.example.com:443",
	//   "transport": "grpc",
	//   "secure": true,
	//   "namespace": "ci",
	//   "serverVersion": "v3.7.9",
	//   "checks": [
	//     {
	//       "name": "workflows/list",
	//       "expected": "allowed",
	//       "actual": "allowed",
	//       "ok": true,
	//       "grpcCode": "OK",
	//       "latencyMs": 9.7,
	//       "attempts": 1
	//     }
	//   ],
	//   "ok": true,
	//   "exitCode": 0,
	//   "token": {
	//     "source": "tokenrequest",
	//     "from": "tokenrequest ci/gha",
	//     "jwt": true,
	//     "expiry": "2023-11-14T23:13:20Z",
	//     "claims": {
	//       "sub": "system:serviceaccount:ci:gha",
	//       "iss": "https://kubernetes.default.svc",
	//       "aud": [
	//         "https://kubernetes.default.svc"
	//       ],
	//       "exp": "2023-11-14T23:13:20Z",
	//       "iat": "2023-11-14T22:13:20Z",
	//       "namespace": "ci",
	//       "serviceAccount": "gha"
	//     }
	//   }
	// }
}

func ExampleSummary() {
	fmt.Println(Summary(sample))
	// Output:
	// argo.example.com:443 via grpc as system:serviceaccount:ci:ci in namespace ci: workflows/list allowed, workflowtemplates/list allowed
}

// The failure's text is redacted and a code span; without the report
// before it, it has a heading of its own.
func ExampleFailure() {
	err := exitcode.New(exitcode.TokenRejected, "check the token `x`", "the server said secret-token")
	_ = Failure(os.Stdout, false, err, redact.New("secret-token"))
	// Output:
	// ### ❌ argo-cred: token rejected (exit 5)
	//
	// | error | what to do |
	// |---|---|
	// | `the server said [redacted]` | `` check the token `x` `` |
}

// A verb the Argo API cannot probe: asked of the cluster (a review, no
// code of the Argo API), or not checked, a warning and never ok.
func ExampleTable_notChecked() {
	r := sample
	r.Checks = append(r.Checks[:3:3],
		probe.Check{Name: "pods/log/get", Expected: "allowed", Actual: "allowed", OK: true, Via: "selfsubjectaccessreview", LatencyMS: 2, Attempts: 1},
		probe.Check{Name: "workflows/delete", Expected: "allowed", Actual: probe.NotChecked, Via: "none"})
	r.OK, r.ExitCode = true, 0
	_ = Table(os.Stdout, r)
	fmt.Println(Summary(r))
	// Output:
	// server     argo.example.com:443 (grpc, tls) v3.7.9
	// namespace  ci
	//
	// CHECK             EXPECTED                     ACTUAL                       CODE      LATENCY  RESULT
	// reachability      reachable                    reachable                    gRPC OK   4ms      ok
	// identity          system:serviceaccount:ci:ci  system:serviceaccount:ci:ci  gRPC OK   1ms      ok
	// workflows/list    allowed                      allowed                      gRPC OK   10ms     ok
	// pods/log/get      allowed                      allowed                      k8s SSAR  2ms      ok
	// workflows/delete  allowed                      not checked                  -         0ms      WARN
	//
	// verdict: ok, but not checked: workflows/delete
	// argo.example.com:443 via grpc as system:serviceaccount:ci:ci in namespace ci: workflows/list allowed, pods/log/get allowed, workflows/delete not checked
}
