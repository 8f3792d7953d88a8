package relay

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestKeeperRenewsAtAFractionOfTheLifetime: a 6 s token is renewed after
// about 4 s (its claims count whole seconds: 3 to 4 s), not before, and
// its renewal in turn 4 s later.
func TestKeeperRenewsAtAFractionOfTheLifetime(t *testing.T) {
	src := &source{t: t, sub: "sub", life: 6 * time.Second}
	first := jwt(t, "sub", 0, 6*time.Second)
	k := NewKeeper(first, true, src.renew, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go k.Run(ctx)
	time.Sleep(2500 * time.Millisecond)
	if n := src.calls.Load(); n != 0 {
		t.Fatalf("renewed %d times within 2.5 s", n)
	}
	time.Sleep(2500 * time.Millisecond) // 5 s: one renewal at 3-4 s, the next due at 6-8 s
	if n := src.calls.Load(); n != 1 || k.Authorization() == first.Bearer() {
		t.Fatalf("renewed %d times in 5 s, want 1 (and a new token)", n)
	}
	if !k.Secret("x"+first.Raw()) || !k.Secret(k.Current().Raw()) || k.Secret("nothing") {
		t.Error("Secret does not know the old and the new token")
	}
}

// TestKeeperSaysOnceWhenRenewalFailsForGood, and recovers.
func TestKeeperSaysOnceWhenRenewalFailsForGood(t *testing.T) {
	src := &source{t: t, sub: "sub", life: time.Hour}
	src.fail.Store(true)
	var mu sync.Mutex
	var lines []string
	k := NewKeeper(jwt(t, "sub", 0, 1500*time.Millisecond), true, src.renew, func(s string) { mu.Lock(); lines = append(lines, s); mu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go k.Run(ctx)
	time.Sleep(4 * time.Second)
	mu.Lock()
	if len(lines) != 1 || !strings.Contains(lines[0], "could not renew the token before it expired (the source is down)") {
		t.Errorf("lines %q, want one", lines)
	}
	mu.Unlock()
	if src.calls.Load() < 2 {
		t.Errorf("%d attempts, want retries", src.calls.Load())
	}
	src.fail.Store(false)
	time.Sleep(2500 * time.Millisecond)
	if c, _ := k.Current().Claims(); c.Expiry.Before(time.Now()) {
		t.Error("no renewal once the source recovered")
	}
}

func TestKeeperRefusesAnotherIdentity(t *testing.T) {
	src := &source{t: t, sub: "someone-else", life: time.Hour}
	first := jwt(t, "sub", 0, time.Hour)
	var lines []string
	k := NewKeeper(first, true, src.renew, func(s string) { lines = append(lines, s) })
	if _, ok := k.Rejected(context.Background(), first.Bearer()); ok {
		t.Fatal("a token of another identity was taken")
	}
	want := []string{`argo-cred: the renewed token is for "someone-else", not "sub" as the verified one: not used, and renewal stopped`}
	if diff := cmp.Diff(want, lines); diff != "" || k.Authorization() != first.Bearer() {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestKeeperRenewsOnceForManyRefusals: concurrent refusals of the same
// token share one renewal; a refusal right after it does not renew again.
func TestKeeperRenewsOnceForManyRefusals(t *testing.T) {
	src := &source{t: t, sub: "sub", life: time.Hour}
	first := jwt(t, "sub", 0, time.Hour)
	k := NewKeeper(first, true, src.renew, nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if next, ok := k.Rejected(context.Background(), first.Bearer()); !ok || next == first.Bearer() {
				t.Error("a refusal got no other token")
			}
		}()
	}
	wg.Wait()
	if _, ok := k.Rejected(context.Background(), k.Authorization()); ok || src.calls.Load() != 1 {
		t.Errorf("%d renewals, want 1 (and none right after it)", src.calls.Load())
	}
	if _, ok := NewKeeper(first, false, src.renew, nil).Rejected(context.Background(), first.Bearer()); ok {
		t.Error("a source that cannot renew gave another token")
	}
}

func TestWanted(t *testing.T) {
	for _, tc := range []struct {
		mode      Mode
		renewable bool
		args      []string
		want      bool
	}{
		{"auto", true, []string{"argo", "list"}, true},
		{"auto", false, []string{"argo", "list"}, false},
		{"auto", false, []string{"argo", "submit", "--wait", "wf.yaml"}, true},
		{"auto", false, []string{"argo", "submit", "-w", "wf.yaml"}, true},
		{"auto", false, []string{"sh", "-c", "argo submit wf.yaml && argo wait @latest"}, true},
		{"auto", false, []string{"argo", "logs", "-f", "@latest"}, true},
		{"auto", false, []string{"grep", "-w", "x"}, false},
		{"", false, []string{"argo", "watch", "@latest"}, true},
		{"never", true, []string{"argo", "wait"}, false},
		{"always", false, []string{"argo", "version"}, true},
	} {
		if got := Wanted(tc.mode, tc.renewable, tc.args); got != tc.want {
			t.Errorf("Wanted(%q, %v, %q) = %v; want %v", tc.mode, tc.renewable, tc.args, got, tc.want)
		}
	}
	var m Mode
	for _, s := range []string{"auto", "always", "never"} {
		if err := m.Decode(s); err != nil || m != Mode(s) {
			t.Errorf("Decode(%q): %v, %q", s, err, m)
		}
	}
	if err := m.Set("sometimes"); err == nil || err.Error() != `unknown --relay "sometimes"` || m != Never {
		t.Errorf("an unknown mode: %v, and the mode became %q", err, m)
	}
}
