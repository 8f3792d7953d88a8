package testenv

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// AuditEvent is what the tests read of one event of the stack's audit log
// (metadata level: every request).
type AuditEvent struct {
	AuditID   string `json:"auditID"`
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	User      struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		APIGroup    string `json:"apiGroup"`
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// Audit returns the events of the stack's audit log that keep keeps.
func (s *Stack) Audit(t testing.TB, keep func(AuditEvent) bool) []AuditEvent {
	t.Helper()
	f, err := os.Open(filepath.Join(s.Dir, "log", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []AuditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev AuditEvent
		if json.Unmarshal(sc.Bytes(), &ev) == nil && keep(ev) {
			out = append(out, ev)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// WatchesOpened counts the watches of resource in namespace ns that user
// opened (the API server answered 200), from the audit log.
func (s *Stack) WatchesOpened(t testing.TB, ns, resource, user string) int {
	t.Helper()
	return len(s.Audit(t, func(ev AuditEvent) bool {
		return ev.Stage == "ResponseStarted" && ev.Verb == "watch" && ev.ObjectRef.Resource == resource &&
			ev.ObjectRef.Namespace == ns && ev.User.Username == user && ev.ResponseStatus.Code == 200
	}))
}
