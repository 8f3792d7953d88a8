// Package relay is the loopback endpoint that keeps a long job's credential
// fresh: argo talks to it on 127.0.0.1 with a per-run value that only it
// accepts, and it forwards every request (gRPC with its streams and
// trailers, and HTTP/1) to the real Argo Server over the transport and
// trust the user chose, with the current real token in place of the
// per-run value. A Keeper renews that token from its source.
//
// It also ends a workflow watch that the Argo Server closed because its
// Kubernetes watch closed (v3.7: grpc-status ResourceExhausted, message
// "EOF") cleanly, so that argo's own re-open runs.
package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Bounds on what a client or the server can make the relay hold.
const (
	maxHeader = 64 << 10 // one request's or response's headers
	// maxReplay is the largest request body kept to send again with a
	// renewed token; a larger one is streamed once.
	maxReplay = 4 << 20
	// maxErrorBody is the most of an HTTP/1 error answer the relay reads
	// to look for the token in it (argo prints its message).
	maxErrorBody = 1 << 20
	// idleTimeout closes a connection without a request in flight: one
	// that another local process holds open (PINGs keep nothing alive).
	// Longer than Go's clients keep idle connections (90 s), so that the
	// relay never closes one as argo reuses it.
	idleTimeout = 2 * time.Minute
)

// Config is where the relay forwards and how.
type Config struct {
	// Server is the Argo Server, host:port; Secure: over TLS, with TLS.
	Server string
	Secure bool
	TLS    *tls.Config
	// Listen is the address to listen on; default 127.0.0.1:0.
	Listen string
	Tokens Tokens
	Log    *slog.Logger
	// Note prints one line on stderr (an early end of a log stream).
	Note func(string)
}

// Tokens is what the relay needs of a Keeper.
type Tokens interface {
	// Authorization is the current real Authorization value.
	Authorization() string
	// Rejected says the server refused auth: it returns another value to
	// try, if one could be had.
	Rejected(ctx context.Context, auth string) (string, bool)
	// Secret says whether s holds a form of a real token.
	Secret(s string) bool
}

// Relay is a running loopback endpoint.
type Relay struct {
	ln   net.Listener
	srv  *http.Server
	auth string
}

// Start listens and serves until Close.
func Start(cfg Config) (*Relay, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	r := &Relay{auth: "Bearer argo-cred-relay." + base64.RawURLEncoding.EncodeToString(b)}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s for the relay: %w", cfg.Listen, err)
	}
	r.ln = ln
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	r.srv = &http.Server{Handler: r.handler(cfg), Protocols: &protos, MaxHeaderBytes: maxHeader,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idleTimeout, ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelDebug)}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Server is the relay's address, host:port, for ARGO_SERVER.
func (r *Relay) Server() string { return r.ln.Addr().String() }

// Authorization is the per-run value, for ARGO_TOKEN: the only one the
// relay accepts.
func (r *Relay) Authorization() string { return r.auth }

// Close stops listening and ends every connection.
func (r *Relay) Close() error { return r.srv.Close() }

func (r *Relay) handler(cfg Config) http.Handler {
	scheme := "http"
	if cfg.Secure {
		scheme = "https"
	}
	target := &url.URL{Scheme: scheme, Host: cfg.Server}
	tr := &tripper{tokens: cfg.Tokens, grpc: transport(cfg, true), http1: transport(cfg, false)}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = cfg.Server
			pr.Out.Header.Del("Cookie") // the relay authorizes by header only
			// The Transport asks for gzip itself and decompresses it, so
			// that an error body is read as argo reads it.
			pr.Out.Header.Del("Accept-Encoding")
		},
		Transport:     tr,
		FlushInterval: -1,
		ModifyResponse: func(res *http.Response) error {
			if res.StatusCode >= 300 && res.StatusCode < 400 {
				res.Body.Close()
				return errRedirect
			}
			redactHeader(res.Header, cfg.Tokens)
			cfg.Log.Debug("relay", "path", res.Request.URL.Path, "status", res.StatusCode, "grpc-status", res.Header.Get("Grpc-Status"))
			if err := redactErrorBody(res, cfg.Tokens); err != nil {
				return err
			}
			fixStreamEnd(res, cfg)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			msg := "argo-cred relay: the Argo Server " + cfg.Server + " did not answer: " + err.Error()
			if errors.Is(err, errRedirect) {
				msg = "argo-cred relay: the Argo Server " + cfg.Server + " answered with a redirect, which argo-cred does not follow"
			}
			if cfg.Tokens.Secret(msg) {
				msg = "argo-cred relay: the Argo Server " + cfg.Server + " did not answer"
			}
			cfg.Log.Debug("relay", "path", req.URL.Path, "error", msg)
			http.Error(w, msg, http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got := req.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte(r.auth)) != 1 {
			cfg.Log.Debug("relay refused a request without the per-run value", "path", req.URL.Path)
			w.Header().Set("Www-Authenticate", `Bearer realm="argo-cred relay"`)
			// Nothing more on this connection (HTTP/2: GOAWAY): a process
			// without the value cannot hold it open.
			w.Header().Set("Connection", "close")
			http.Error(w, "argo-cred relay: this endpoint accepts only the ARGO_TOKEN argo-cred gave its command", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, req)
	})
}

var errRedirect = errors.New("redirect")

// transport is the way to the Argo Server: gRPC needs HTTP/2 (over TLS, or
// with prior knowledge without), HTTP/1 requests go as they came. No proxy
// from the environment, no redirects (ReverseProxy follows none), bounded
// response headers.
func transport(cfg Config, grpc bool) http.RoundTripper {
	var p http.Protocols
	switch {
	case grpc && cfg.Secure:
		p.SetHTTP2(true)
	case grpc:
		p.SetUnencryptedHTTP2(true)
	default:
		p.SetHTTP1(true)
	}
	return &http.Transport{Protocols: &p, TLSClientConfig: cfg.TLS, MaxResponseHeaderBytes: maxHeader,
		MaxIdleConnsPerHost: 8, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext}
}

// tripper puts the current token on each request and, when the server
// refuses it, asks the Keeper for another and sends the request again
// (when its body was small enough to keep).
type tripper struct {
	tokens      Tokens
	grpc, http1 http.RoundTripper
}

func (t *tripper) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := t.http1
	if isGRPC(req) {
		rt = t.grpc
	}
	var kept []byte
	replay := true
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		kept, err = io.ReadAll(io.LimitReader(req.Body, maxReplay+1))
		if err != nil {
			return nil, fmt.Errorf("reading the request: %w", err)
		}
		if len(kept) > maxReplay {
			replay = false
			req.Body = &putBack{head: kept, ReadCloser: req.Body}
		} else {
			req.Body = io.NopCloser(bytes.NewReader(kept))
		}
	}
	// A 1xx answer's headers go on to the client (ReverseProxy): redacted
	// first, like the final ones.
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(_ int, h textproto.MIMEHeader) error { redactHeader(http.Header(h), t.tokens); return nil },
	}))
	auth := t.tokens.Authorization()
	req.Header.Set("Authorization", auth)
	res, err := rt.RoundTrip(req)
	if err != nil || !rejected(res) || !replay {
		return res, err
	}
	next, ok := t.tokens.Rejected(req.Context(), auth)
	if !ok {
		return res, nil
	}
	res.Body.Close()
	again := req.Clone(req.Context())
	again.Body = io.NopCloser(bytes.NewReader(kept))
	again.Header.Set("Authorization", next)
	return rt.RoundTrip(again)
}

func isGRPC(req *http.Request) bool {
	return req.ProtoMajor == 2 && strings.HasPrefix(req.Header.Get("Content-Type"), "application/grpc")
}

// redactHeader removes every form of a real token from what the server
// sends back, headers and trailers alike: argo prints what it is told,
// decoded as grpc-go decodes it: grpc-message percent-decoded, and a
// binary header (grpc-status-details-bin, whose google.rpc.Status message
// grpc-go prints instead of grpc-message) base64-decoded. A binary header
// holding a token is dropped (its replacement would not decode).
func redactHeader(h http.Header, tokens Tokens) {
	for k, vv := range h {
		bin := strings.HasSuffix(strings.ToLower(k), "-bin")
		for i, v := range vv {
			switch {
			case bin && (tokens.Secret(v) || tokens.Secret(decodeBin(v))):
				delete(h, k)
			case tokens.Secret(v) || tokens.Secret(decodePercent(v)):
				vv[i] = "[redacted by argo-cred]"
			}
		}
	}
}

// decodePercent decodes every %XX, as grpc-go's decodeGrpcMessage does.
func decodePercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// decodeBin decodes a binary header's value as grpc-go does (padded or
// not); "" when it does not decode.
func decodeBin(v string) string {
	enc := base64.RawStdEncoding
	if len(v)%4 == 0 {
		enc = base64.StdEncoding
	}
	b, err := enc.DecodeString(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// redactErrorBody: argo (over HTTP/1) prints the message of an answer
// that is not 200 OK from its JSON body, whatever its Content-Type, so
// such a body (up to maxErrorBody) that holds a form of a token,
// literally or in any JSON string once decoded (\u escapes), is replaced
// by one that says so. Not: gRPC (grpc-go prints no body), 200, 206 (a
// range of a download), 1xx (101's body is the upgraded connection).
func redactErrorBody(res *http.Response, tokens Tokens) error {
	switch {
	case res.StatusCode < 200, res.StatusCode == http.StatusOK, res.StatusCode == http.StatusPartialContent,
		res.Body == nil, res.Body == http.NoBody, res.Request != nil && isGRPC(res.Request):
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxErrorBody+1))
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if len(b) > maxErrorBody {
		return fmt.Errorf("an HTTP %d answer's body is larger than %d bytes", res.StatusCode, maxErrorBody)
	}
	if holdsToken(b, tokens) {
		var x struct {
			Code int `json:"code"`
		}
		_ = json.Unmarshal(b, &x)
		b, _ = json.Marshal(map[string]any{"code": x.Code,
			"message": fmt.Sprintf("argo-cred relay: the Argo Server's answer (HTTP %d) held a form of the token: redacted", res.StatusCode)})
		res.Header.Set("Content-Type", "application/json")
		res.Header.Del("Content-Encoding")
	}
	res.Body, res.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	res.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return nil
}

// holdsToken tells whether body, or a string in it read as JSON, holds a
// form of a token.
func holdsToken(body []byte, tokens Tokens) bool {
	if tokens.Secret(string(body)) {
		return true
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case string:
			return tokens.Secret(v)
		case []any:
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		case map[string]any:
			for k, e := range v {
				if tokens.Secret(k) || walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}
