package relay

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkRelayStream: a 64 MiB response read straight from an h2c server
// and through the relay (as argo reads a gRPC stream); MB/s of each.
func BenchmarkRelayStream(b *testing.B) {
	chunk := make([]byte, 32<<10)
	const total = 64 << 20
	src := &source{t: b, sub: "s", life: time.Hour}
	srv, _ := upstream(b, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		for n := 0; n < total; n += len(chunk) {
			_, _ = w.Write(chunk)
		}
	})
	r, err := Start(Config{Server: strings.TrimPrefix(srv.URL, "http://"), Tokens: NewKeeper(jwt(b, "s", 0, time.Hour), false, src.renew, nil)})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	for name, addr := range map[string]string{"direct": strings.TrimPrefix(srv.URL, "http://"), "relay": r.Server()} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(total)
			c := client(true)
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/workflow.WorkflowService/WatchWorkflows", strings.NewReader("x"))
				req.Header.Set("Content-Type", "application/grpc")
				req.Header.Set("Authorization", r.Authorization())
				res, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				if n, _ := io.Copy(io.Discard, res.Body); n != total {
					b.Fatalf("read %d bytes", n)
				}
				res.Body.Close()
			}
		})
	}
}
