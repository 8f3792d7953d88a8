package probe

// The watch check. The Argo Server (server/workflow/workflow_server.go,
// v3.7) opens the Kubernetes watch with the token before it answers: a
// token that may not watch gets 403 at once. A fieldSelector naming a
// workflow would make it get that workflow first (404 says nothing about
// watch), so the selector is a label that matches nothing. The watch starts
// at resourceVersion 1, which Kubernetes answers on the open stream with
// "too old resource version": an answer that only an opened watch gets,
// and over HTTP/1 the first one (the gateway sends no headers before an
// event). The stream is closed at the first answer.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	workflowpkg "github.com/argoproj/argo-workflows/v3/pkg/apiclient/workflow"
)

// watchQuiet bounds the wait for a watch's first answer: a watch that
// Kubernetes refused is answered at once, so a stream still open and
// silent after it was opened.
const watchQuiet = 5 * time.Second

// watchFrom is the resource version the watch starts at (too old).
const watchFrom = "1"

func watchGRPC(wf workflowpkg.WorkflowServiceClient) func(context.Context, string) error {
	return func(ctx context.Context, ns string) error {
		wctx, cancel := context.WithTimeout(ctx, watchQuiet)
		defer cancel()
		s, err := wf.WatchWorkflows(wctx, &workflowpkg.WatchWorkflowsRequest{Namespace: ns,
			ListOptions: &metav1.ListOptions{LabelSelector: nothingSelector, ResourceVersion: watchFrom}})
		if err == nil {
			_, err = s.Recv()
		}
		return watchVerdict(ctx, wctx, err)
	}
}

func watchHTTP1(hc *http.Client, base, auth string, headers []string) func(context.Context, string) error {
	return func(ctx context.Context, ns string) error {
		wctx, cancel := context.WithTimeout(ctx, watchQuiet)
		defer cancel()
		q := url.Values{"listOptions.labelSelector": {nothingSelector}, "listOptions.resourceVersion": {watchFrom}}
		req, err := http.NewRequestWithContext(wctx, http.MethodGet, base+"/api/v1/workflow-events/"+url.PathEscape(ns)+"?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		req.Header.Set("Accept", "text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return watchVerdict(ctx, wctx, err)
		}
		defer resp.Body.Close()
		if a, ok := ctx.Value(answerKey{}).(*answer); ok {
			a.judged = true
		}
		if resp.StatusCode == http.StatusOK {
			return nil // an event: the watch is open
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxHeader))
		return watchVerdict(ctx, wctx, gatewayError(resp.StatusCode, body))
	}
}

// watchVerdict: nil when the watch opened (an event, "too old resource
// version", or silence until watchQuiet), else the call's error.
func watchVerdict(ctx, wctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() == nil && wctx.Err() != nil:
		return nil
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.PermissionDenied && st.Code() != codes.Unauthenticated &&
		strings.Contains(strings.ToLower(st.Message()), "too old") {
		return nil
	}
	return err
}

// gatewayError reads the Argo Server's gateway's error answer, a JSON
// status or a stream's error event ("data: {"error": …}").
func gatewayError(code int, body []byte) error {
	body = []byte(strings.TrimPrefix(strings.TrimSpace(string(body)), "data: "))
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Error   *struct {
			Code    int    `json:"grpc_code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Error != nil {
			e.Code, e.Message = e.Error.Code, e.Error.Message
		}
		if e.Code != 0 {
			return status.Error(codes.Code(e.Code), e.Message)
		}
	}
	return status.Error(codes.Internal, fmt.Sprintf(": &{HTTP %d}", code))
}
