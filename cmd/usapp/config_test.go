package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runUsapp runs the binary in dir and returns its stdout, stderr and exit code.
func runUsapp(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), usappBinary(t), args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("usapp %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestConfigCheck(t *testing.T) {
	usappBinary(t)
	example := filepath.Join(modRoot, "config", "example.yaml")
	if out, errs, code := runUsapp(t, t.TempDir(), "config", "check", example); code != 0 || !strings.Contains(out, "is valid") {
		t.Fatalf("config check %s: exit %d\nstdout: %s\nstderr: %s", example, code, out, errs)
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yaml"), `role: headend
headend:
  batchsize: 10
gateway:
  interval: soon
`)
	out, errs, code := runUsapp(t, dir, "config", "check", "bad.yaml")
	if code == 0 {
		t.Fatalf("config check accepted an unknown key and a bad duration\nstdout: %s", out)
	}
	// Every problem is reported, each with its file:line and key path.
	for _, want := range []string{"bad.yaml:3: headend.batchsize:", "bad.yaml:5: gateway.interval:"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(out, "is valid") {
		t.Errorf("stdout claims the bad file is valid: %s", out)
	}
}

// usapp ca revoke reaches the daemon and reports its refusal with a hint.
func TestCAAdminWithoutACA(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ca.yaml"), "role: ca\ndata_dir: "+filepath.Join(dir, "data")+"\n")
	for _, args := range [][]string{
		{"ca", "revoke", "--config", "ca.yaml", "--lfdi", "00000000000000000000000000000000000000AA"},
		{"ca", "list", "--config", "ca.yaml"},
	} {
		_, errs, code := runUsapp(t, dir, args...)
		if code != 1 || !strings.Contains(errs, "no CA in") || !strings.Contains(errs, "hint:") {
			t.Fatalf("%s without a CA: exit %d\nstderr: %s", strings.Join(args[:2], " "), code, errs)
		}
	}
}
