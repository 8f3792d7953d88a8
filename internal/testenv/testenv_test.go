package testenv

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// A port another process answers on is not mistaken for the Argo Server
// the test started: that server gives up the port, and StartArgoServerOn
// says so, rather than hand the test someone else's server.
func TestIntegrationArgoServerPortTaken(t *testing.T) {
	s := Get(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"version":"v3.7.9"}`))
	}))
	defer other.Close()
	_, p, _ := net.SplitHostPort(other.Listener.Addr().String())
	port, _ := strconv.Atoi(p)
	if a := s.startArgoServer(t, port, nil); a != nil {
		t.Fatalf("started on port %d, which another server holds", port)
	}
	a := s.StartArgoServer(t)
	_, p, _ = net.SplitHostPort(a.Addr)
	if port, _ = strconv.Atoi(p); !listens(a.cmd.Process.Pid, port) {
		t.Errorf("StartArgoServer returned %s, which its process does not listen on", a.Addr)
	}
}
