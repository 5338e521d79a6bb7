package pgtest

import "syscall"

// procAttr runs a child under cred and has the kernel kill it with SIGKILL
// when the thread that started it exits, so that no server outlives the test
// binary. Go sets the parent-death signal after switching credentials, which
// would otherwise clear it.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
