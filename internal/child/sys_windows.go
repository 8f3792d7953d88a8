package child

import (
	"os"
	"os/exec"
	"unsafe"

	"golang.org/x/sys/windows"
)

// dieWithParent: Windows ties the program to argo-cred after it starts
// (tie), with a Job Object.
func dieWithParent(*exec.Cmd) {}

// job holds the programs argo-cred waits for: it is made to kill them when
// its last handle closes, which is when argo-cred's process ends, however
// it ends. The handle is never closed before that.
var job windows.Handle

// tie puts p into argo-cred's Job Object. Best effort: on failure (an old
// Windows that forbids nested jobs) the program outlives a killed
// argo-cred, and the guard still revokes its token.
func tie(p *os.Process) {
	if job == 0 {
		j, err := windows.CreateJobObject(nil, nil)
		if err != nil {
			return
		}
		info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
		info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
		if _, err := windows.SetInformationJobObject(j, windows.JobObjectExtendedLimitInformation,
			uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
			_ = windows.CloseHandle(j)
			return
		}
		job = j
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(p.Pid))
	if err != nil {
		return
	}
	defer windows.CloseHandle(h)
	_ = windows.AssignProcessToJobObject(job, h)
}
