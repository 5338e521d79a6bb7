package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// opTimeout bounds one administrative statement.
	opTimeout = 30 * time.Second
	// readyTimeout bounds the wait for a new server to accept connections.
	readyTimeout = 30 * time.Second
	// dirPrefix names cluster directories under os.TempDir(), so that the
	// sweep finds only ours.
	dirPrefix = "usapp-pgtest-"
	// ownerFile holds the PID of the process that owns a cluster directory.
	ownerFile = "owner.pid"
	// port only names the socket file; nothing listens on TCP.
	port = 5432
)

// cluster is one running server.
type cluster struct {
	dir    string // cluster directory: data/, the socket, server.log
	cmd    *exec.Cmd
	exited chan struct{} // closed when the server process has exited
	admin  *sql.DB
}

// dsn returns the URL of database name, reached over the unix socket.
func (c *cluster) dsn(name string) string {
	q := url.Values{"host": {c.dir}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "", Path: "/" + name, RawQuery: q.Encode()}).String()
}

// pid returns the process ID of the postmaster.
func (c *cluster) pid() int { return c.cmd.Process.Pid }

// startCluster creates a data directory with initdb, starts the server on a
// unix socket and waits until it accepts connections.
func startCluster() (*cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	sweepStale()
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := makeClusterDir(cred)
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, exited: make(chan struct{})}
	if err := c.initdb(bin, cred); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := c.launch(bin, cred); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := c.waitReady(); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// findBinaries returns the directory holding both initdb and postgres: the
// one of the initdb found in PATH (following symlinks, as Debian links only
// some tools into PATH), else the newest /usr/lib/postgresql/*/bin.
func findBinaries() (string, error) {
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(real))
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versioned, func(i, j int) bool { return versionOf(versioned[i]) > versionOf(versioned[j]) })
	candidates = append(candidates, versioned...)
	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w in PATH or /usr/lib/postgresql/*/bin", ErrNoBinaries)
}

// versionOf extracts N from /usr/lib/postgresql/N/bin for sorting.
func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// serverCredential returns the identity to run initdb and postgres under:
// nil (ourselves) unless we are root, who must hand over to "postgres".
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL refuses root and there is no \"postgres\" user to run it as (%w); %s", err, installHint)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// baseDir is where cluster directories go: os.TempDir(), unless we are root
// and the server's user could not reach it (TMPDIR under /root), then /tmp.
func baseDir() string {
	dir := os.TempDir()
	if os.Geteuid() != 0 {
		return dir
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}

// makeClusterDir creates the cluster directory, owned by the server's user,
// and records our PID in it for the stale sweep.
func makeClusterDir(cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp(baseDir(), dirPrefix+"*")
	if err != nil {
		return "", fmt.Errorf("cluster directory: %w", err)
	}
	err = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
	if err == nil && cred != nil {
		err = os.Chown(dir, int(cred.Uid), int(cred.Gid))
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("cluster directory: %w", err)
	}
	return dir, nil
}

// command prepares a PostgreSQL tool run as the server's user in the
// cluster directory, with a clean PG* environment.
func (c *cluster) command(bin, tool string, cred *syscall.Credential, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(bin, tool), args...)
	cmd.Dir = c.dir
	env := []string{"LC_ALL=C", "TZ=UTC"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.SysProcAttr = procAttr(cred)
	return cmd
}

func (c *cluster) initdb(bin string, cred *syscall.Credential) error {
	cmd := c.command(bin, "initdb", cred,
		"-D", filepath.Join(c.dir, "data"), "-A", "trust", "-U", "postgres",
		"--no-sync", "-E", "UTF8", "--locale=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, tail(out))
	}
	return nil
}

// launch starts the server. The fork happens on a goroutine locked to its OS
// thread, because the parent-death signal fires when the forking thread
// exits, not the process; that thread lives until the server has exited.
func (c *cluster) launch(bin string, cred *syscall.Credential) error {
	logf, err := os.Create(filepath.Join(c.dir, "server.log"))
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	c.cmd = c.command(bin, "postgres", cred,
		"-D", filepath.Join(c.dir, "data"),
		"-k", c.dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=",
		"-F", // fsync off: tests never need crash safety of the test cluster
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "log_min_messages=warning")
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		err := c.cmd.Start()
		started <- err
		if err == nil {
			_ = c.cmd.Wait()
		}
		_ = logf.Close()
		close(c.exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	return nil
}

// waitReady polls until the server answers or has died.
func (c *cluster) waitReady() error {
	admin, err := openAdmin(c.dsn("postgres"))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = admin.PingContext(ctx)
		cancel()
		if err == nil {
			c.admin = admin
			return nil
		}
		select {
		case <-c.exited:
			_ = admin.Close()
			return fmt.Errorf("postgres exited during start-up: %s", c.logTail())
		case <-time.After(25 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = admin.Close()
			return fmt.Errorf("postgres not ready after %v: %w; %s", readyTimeout, err, c.logTail())
		}
	}
}

// stop shuts the server down immediately (SIGQUIT, as pg_ctl stop -m
// immediate does), waits for it and removes the cluster directory.
func (c *cluster) stop() {
	if c.admin != nil {
		_ = c.admin.Close()
	}
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	_ = os.RemoveAll(c.dir)
}

func (c *cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	return tail(b)
}

// tail keeps the end of a tool's output for an error message.
func tail(b []byte) string {
	const max = 2000
	b = bytes.TrimSpace(b)
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// sweepStale removes cluster directories whose owning process is gone: a
// test binary killed before Shutdown leaves its directory behind (its server
// died with it through the parent-death signal).
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(baseDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// processAlive reports whether pid names a live process; a zombie, which
// has exited but not been reaped, counts as gone.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) // no procfs: trust kill(2)
	}
	// The state follows the parenthesised command name, which may hold spaces.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}
