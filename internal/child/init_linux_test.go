package child

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// asInitScript leaves three orphans (sleeps whose shell has exited), says
// so, and exits 3 when its stdin ends.
const asInitScript = `for i in 1 2 3; do (sleep 1000 &); done; echo started; read x; exit 3`

// As PID 1 (here: of a new PID namespace), Run reaps the orphans the
// kernel hands it, and still returns the program's exit code.
func TestAsInitReapsOrphans(t *testing.T) {
	if os.Getenv("ARGO_CRED_TEST_AS_INIT") == "1" {
		sh := exec.Command("/bin/sh", "-c", asInitScript)
		sh.Stdin, sh.Stdout = os.Stdin, os.Stdout
		code, err := Run(sh)
		if err != nil || os.Getpid() != 1 {
			t.Fatalf("pid %d: %v", os.Getpid(), err)
		}
		os.Exit(code) // the test's verdict is its parent's
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAsInitReapsOrphans$")
	cmd.Env = append(os.Environ(), "ARGO_CRED_TEST_AS_INIT=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skip("a new PID namespace needs root (CAP_SYS_ADMIN)")
		}
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	init := cmd.Process.Pid
	// The orphans are init's children now: kill them, and init must reap
	// them (a zombie stays in /proc until its parent waits for it).
	var orphans []int
	eventually(t, "the three orphans reparented to init", func() bool {
		orphans = children(init, "sleep")
		return len(orphans) == 3
	})
	for _, p := range orphans {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	eventually(t, "the killed orphans reaped", func() bool { return len(children(init, "sleep")) == 0 })
	in.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("init ended with %v; want the program's exit code 3", err)
	}
}

// children are the pids of ppid's children named comm, zombies included.
func children(ppid int, comm string) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.HasPrefix(s[strings.IndexByte(s, '(')+1:], comm+")") {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			out = append(out, pid)
		}
	}
	return out
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !ok(); {
		if time.Now().After(end) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
