package docker_test

import (
	"fmt"
	"strings"

	"github.com/argo-cred/argo-cred/internal/docker"
	"github.com/argo-cred/argo-cred/internal/env"
)

// Every setting is on argv by name only; its value is in the environment
// entries the docker CLI gets, and nowhere on argv. The container runs as
// the caller's uid:gid with HOME=/tmp, which is no secret (the docker CLI
// needs its own HOME).
func ExampleRun_Command() {
	r := docker.Run{
		Name:  "argo-cred-0f3a",
		Image: "quay.io/argoproj/argocli:v3.7.9",
		Vars: []env.Var{
			{Name: "ARGO_SERVER", Value: "argo.example.com:443"},
			{Name: "ARGO_TOKEN", Value: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl", Secret: true},
			{Name: "ARGO_NAMESPACE", Value: "team-ci"},
		},
		Args:    []string{"submit", "--wait", "workflow.yaml"},
		Workdir: "/home/ci/repo",
		Files:   []string{"/etc/argo-cred/ca.crt"},
		Mounts:  []string{"/home/ci/shared"},
		User:    "1000:1000",
		Home:    docker.ContainerHome,
		Network: "build-net",
		Extra:   []string{"--cpus", "1"},
		Stdin:   true,
		TTY:     true,
	}
	args, environ := r.Command()
	fmt.Println("argv:")
	for _, a := range args {
		fmt.Println("  " + a)
	}
	fmt.Println("environment:")
	for _, e := range environ {
		fmt.Println("  " + e)
	}
	for _, v := range r.Vars {
		for _, a := range args {
			if strings.Contains(a, v.Value) {
				fmt.Printf("the value of %s is on argv: %q\n", v.Name, a)
			}
		}
	}
	// Output:
	// argv:
	//   run
	//   --rm
	//   --name
	//   argo-cred-0f3a
	//   -i
	//   -t
	//   --network
	//   build-net
	//   --user
	//   1000:1000
	//   -v
	//   /home/ci/repo:/home/ci/repo
	//   -w
	//   /home/ci/repo
	//   -v
	//   /home/ci/shared:/home/ci/shared:ro
	//   -v
	//   /etc/argo-cred/ca.crt:/etc/argo-cred/ca.crt:ro
	//   -e
	//   HOME=/tmp
	//   -e
	//   ARGO_SERVER
	//   -e
	//   ARGO_TOKEN
	//   -e
	//   ARGO_NAMESPACE
	//   --cpus
	//   1
	//   quay.io/argoproj/argocli:v3.7.9
	//   submit
	//   --wait
	//   workflow.yaml
	// environment:
	//   ARGO_SERVER=argo.example.com:443
	//   ARGO_TOKEN=Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl
	//   ARGO_NAMESPACE=team-ci
}
