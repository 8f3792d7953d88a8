package child

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestAdversaryAsInitReapsOtherChildren: as PID 1 (argo-cred's image, whose
// entrypoint is exec behind the relay), Run reaps every child that exits
// (wait4(-1)), not only orphans: a process argo-cred itself starts while
// its command runs (a kubeconfig's exec credential plugin during a
// renewal, for example) is reaped under os/exec's feet, whose Wait then
// fails ("no child processes"), and the renewal with it.
func TestAdversaryAsInitReapsOtherChildren(t *testing.T) {
	if os.Getenv("ARGO_CRED_TEST_AS_INIT_OTHERS") == "1" {
		done := make(chan string)
		go func() {
			fails, last := 0, ""
			for range 300 {
				if err := exec.Command("/bin/true").Run(); err != nil {
					fails++
					last = err.Error()
				}
			}
			done <- fmt.Sprintf("fails=%d last=%q", fails, last)
		}()
		code, err := Run(exec.Command("/bin/sh", "-c", "sleep 2"))
		fmt.Printf("%s code=%d err=%v\n", <-done, code, err)
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAdversaryAsInitReapsOtherChildren$")
	cmd.Env = append(os.Environ(), "ARGO_CRED_TEST_AS_INIT_OTHERS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if errors.Is(err, syscall.EPERM) {
		t.Skip("a new PID namespace needs root (CAP_SYS_ADMIN)")
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "fails=0 ") {
		t.Errorf("as PID 1, argo-cred's other children failed: %s", out)
	}
}
