package docker

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/argo-cred/argo-cred/internal/env"
	"github.com/argo-cred/argo-cred/internal/exitcode"
)

func TestLocalEngine(t *testing.T) {
	for host, want := range map[string]bool{
		"": true, "unix:///var/run/docker.sock": true, "npipe:////./pipe/docker_engine": true, "tcp://127.0.0.1:2375": true, "tcp://localhost:2375": true, "tcp://[::1]:2376": true,
		"tcp://10.0.0.5:2376": false, "ssh://me@build-host": false, "tcp://docker.example.com:2376": false, "::bad": false,
	} {
		if got := local(host); got != want {
			t.Errorf("local(%q) = %v; want %v", host, got, want)
		}
	}
}

// What argo-cred refuses before asking the engine anything: the container
// could not reach the relay.
func TestRelayListenRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		w    Wrapper
		want string
	}{
		"--network none":              {w: Wrapper{Network: "none"}, want: "--network none gives it no network; use --network host, or run argo-cred's image"},
		"another container's":         {w: Wrapper{Network: "container:db"}, want: "--network container:db is another container's"},
		"a rootless engine":           {w: Wrapper{Network: "host", Engine: Engine{Rootless: true}}, want: "the engine is rootless"},
		"the network in --docker-arg": {w: Wrapper{Extra: []string{"--network=ci"}}, want: "--docker-arg --network=ci: argo-cred must know the container's network to put its relay where the container reaches it; give the network with --network NAME"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.w.RelayListen(context.Background())
			if got := fmt.Sprintf("%v; %s", err, exitcode.Hint(err)); err == nil || exitcode.Of(err) != exitcode.Usage || !strings.Contains(got, tc.want) {
				t.Errorf("got %v; want %q", err, tc.want)
			}
		})
	}
}

// Front hands the container the relay's settings, and Plan says so.
func TestFrontPlan(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the relay's address is for Linux engines")
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock") // a local engine, asked nothing
	w := &Wrapper{Image: "img:1", Network: "host", Settings: env.Settings{Server: "argo.example.com:443", Secure: true, Authorization: "Bearer real"}}
	var listened string
	stop, err := w.Front(context.Background(), false, nil, func(listen string) (env.Settings, func(), error) {
		listened = listen
		return env.Settings{Server: "127.0.0.1:4242", Authorization: "Bearer argo-cred-relay.x"}, func() {}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	w.Workdir = t.TempDir()
	r, notes := w.Plan(nil, false, true)
	_, environ := r.Command()
	if listened != "127.0.0.1:0" || !strings.Contains(strings.Join(environ, " "), "ARGO_TOKEN=Bearer argo-cred-relay.x") || strings.Contains(strings.Join(environ, " "), "real") {
		t.Errorf("listened on %q, environment %q; want loopback, the per-run value only", listened, environ)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "argo-cred's relay on 127.0.0.1:4242") {
		t.Errorf("notes %q", notes)
	}
}
