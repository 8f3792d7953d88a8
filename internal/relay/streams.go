package relay

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Watches are the streams the Argo Server (v3.7) ends with ResourceExhausted
// and the message "EOF" when its Kubernetes watch closes
// (server/workflow/workflow_server.go), which the argo CLI takes for a
// failure: it re-opens a watch only on a clean end (common/wait.go
// waitOnOne, common/watch.go).
var watches = map[string]bool{
	"/workflow.WorkflowService/WatchWorkflows": true,
	"/workflow.WorkflowService/WatchEvents":    true,
}

// logStreams end for good: argo logs -f returns at their end.
var logStreams = map[string]bool{
	"/workflow.WorkflowService/WorkflowLogs": true,
	"/workflow.WorkflowService/PodLogs":      true,
}

const (
	codeOK                = "0"
	codeCanceled          = "1"
	codeResourceExhausted = "8"
)

// fixStreamEnd makes the end of a watch that the server's Kubernetes watch
// ended a clean one (grpc-status 0), so that argo re-opens it through the
// relay with the current token; it says so on stderr when a log stream
// ends with an error. Trailers are redacted like headers.
func fixStreamEnd(res *http.Response, cfg Config) {
	path := ""
	if res.Request != nil && strings.HasPrefix(res.Header.Get("Content-Type"), "application/grpc") {
		path = res.Request.URL.Path
	}
	if watches[path] && watchClosed(res.Header) { // trailers only
		res.Header.Set("Grpc-Status", codeOK)
		res.Header.Del("Grpc-Message")
	}
	res.Body = &endWatcher{ReadCloser: res.Body, end: func() {
		if res.Trailer == nil {
			return
		}
		redactHeader(res.Trailer, cfg.Tokens)
		switch {
		case watches[path] && watchClosed(res.Trailer):
			cfg.Log.Debug("relay: the server's watch closed; ending the stream cleanly so that argo re-opens it", "path", path)
			res.Trailer.Set("Grpc-Status", codeOK)
			res.Trailer.Del("Grpc-Message")
		case logStreams[path] && cfg.Note != nil:
			if code := res.Trailer.Get("Grpc-Status"); code != "" && code != codeOK && code != codeCanceled {
				// The server's text: only a code is printed (a runner command
				// or a bidi override in it would reach the CI log).
				if n, err := strconv.ParseUint(code, 10, 8); err != nil {
					code = "invalid"
				} else {
					code = strconv.FormatUint(n, 10)
				}
				cfg.Note("note: the Argo Server ended a log stream early (gRPC code " + code + "): argo logs -f does not resume it; run argo logs again for the rest")
			}
		}
	}}
}

// watchClosed tells whether h ends a watch because the server's own watch
// closed.
func watchClosed(h http.Header) bool {
	return h.Get("Grpc-Status") == codeResourceExhausted && h.Get("Grpc-Message") == "EOF"
}

// endWatcher calls end once, when the body has been read to its end (when
// the trailers are known), before the caller sees the end.
type endWatcher struct {
	io.ReadCloser
	end  func()
	once sync.Once
}

func (b *endWatcher) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.end)
	}
	return n, err
}
