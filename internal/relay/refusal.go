package relay

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// rejected tells whether the server refused the token, reading as little
// of the answer as that takes and putting back what it read.
//
// An HTTP 401, or gRPC Unauthenticated, is a refusal. So is what Argo
// v3.7's handlers that read a workflow first (WatchWorkflows as argo wait
// re-opens it, and others) make of Kubernetes' 401: Internal, "failed to
// get live workflow: Unauthorized; …" (server/workflow/workflow_server.go
// getWorkflow), over HTTP/1 a 500 whose body says so. The Argo Server sends
// a gRPC answer's headers before its handler runs (its argo-version
// metadata), so such an error comes in the trailers of an empty body: the
// body is read up to its first bytes, or its end, which is the moment the
// trailers are known.
func rejected(res *http.Response) bool {
	switch {
	case res.StatusCode == http.StatusUnauthorized || refused(res.Header):
		return true
	case res.StatusCode == http.StatusOK && strings.HasPrefix(res.Header.Get("Content-Type"), "application/grpc") && res.Header.Get("Grpc-Status") == "":
		head, ended := peek(res, false)
		return len(head) == 0 && ended && refused(res.Trailer)
	case res.StatusCode == http.StatusInternalServerError:
		head, _ := peek(res, true)
		return bytes.Contains(head, []byte("Unauthorized"))
	}
	return false
}

// refused tells whether gRPC status fields say the token was refused.
func refused(h http.Header) bool {
	switch h.Get("Grpc-Status") {
	case "16": // Unauthenticated
		return true
	case "13": // Internal, wrapping Kubernetes' 401
		return strings.Contains(h.Get("Grpc-Message"), "Unauthorized")
	}
	return false
}

// peek reads the start of res's body, at most maxHeader bytes when whole,
// else until its first bytes, and puts it back; ended: the body ended.
func peek(res *http.Response, whole bool) (head []byte, ended bool) {
	var err error
	if whole {
		head, err = io.ReadAll(io.LimitReader(res.Body, maxHeader))
		ended = err == nil && len(head) < maxHeader
	} else {
		buf := make([]byte, 32<<10)
		var n int
		for n == 0 && err == nil {
			n, err = res.Body.Read(buf)
		}
		head, ended = buf[:n], err == io.EOF
	}
	if err == io.EOF {
		err = nil
	}
	res.Body = &putBack{head: head, err: err, ReadCloser: res.Body}
	return head, ended
}

// putBack reads head (what was read ahead of the rest: a peek, or a request
// body kept for a retry), then the error that reading met, if any, then the rest.
type putBack struct {
	head []byte
	err  error
	io.ReadCloser
}

func (b *putBack) Read(p []byte) (int, error) {
	if len(b.head) > 0 {
		n := copy(p, b.head)
		b.head = b.head[n:]
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	return b.ReadCloser.Read(p)
}
