//go:build !linux

package pgtest

import "syscall"

// procAttr runs a child under cred. Without Linux's parent-death signal a
// server can outlive a killed test binary; Shutdown and the stale sweep are
// the only guards there.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
