package pgtest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv switches the test binary into a helper process that starts a
// cluster, reports it and waits to be killed.
const childEnv = "USAPP_PGTEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		c, err := startCluster()
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Println(c.pid(), c.dir)
		select {} // until killed
	}
	Main(m)
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStartGivesIsolatedDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := open(t, Start(t)), open(t, Start(t))
	var nameA, nameB string
	if err := a.QueryRowContext(ctx, "SELECT current_database()").Scan(&nameA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRowContext(ctx, "SELECT current_database()").Scan(&nameB); err != nil {
		t.Fatal(err)
	}
	if nameA == nameB {
		t.Fatalf("both calls returned database %q", nameA)
	}
	if _, err := a.ExecContext(ctx, "CREATE TABLE t (v INT); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := a.QueryRowContext(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != 42 {
		t.Fatalf("read back %d, %v; want 42", v, err)
	}
	if _, err := b.ExecContext(ctx, "SELECT v FROM t"); err == nil {
		t.Fatal("table created in one database is visible in the other")
	}
}

func TestDatabaseDroppedAtCleanup(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		db := open(t, Start(t))
		if err := db.QueryRow("SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	admin := open(t, Start(t))
	var n int
	if err := admin.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %q still exists after its test ended", name)
	}
}

func TestShutdownStopsServerAndRemovesFiles(t *testing.T) {
	Start(t)
	mu.Lock()
	pid, dir := current.pid(), current.dir
	mu.Unlock()
	if !processAlive(pid) {
		t.Fatalf("server pid %d not alive while the cluster runs", pid)
	}
	Shutdown()
	if processAlive(pid) {
		t.Fatalf("server pid %d alive after Shutdown", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cluster directory %s left after Shutdown (stat: %v)", dir, err)
	}
	// A later Start brings up a new cluster.
	db := open(t, Start(t))
	if err := db.Ping(); err != nil {
		t.Fatalf("Start after Shutdown: %v", err)
	}
}

// TestNoServerOutlivesKilledBinary kills a test binary that runs a cluster
// with SIGKILL, so that no cleanup of ours runs, and checks that the kernel
// takes the server down with it and that the next start sweeps its files.
func TestNoServerOutlivesKilledBinary(t *testing.T) {
	if _, err := findBinaries(); err != nil {
		t.Skipf("%v; %s", err, installHint)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("child: %v", err)
	}
	var pid int
	var dir string
	if _, err := fmt.Sscan(strings.TrimSpace(line), &pid, &dir); err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("child said %q: %v", line, err)
	}
	if !processAlive(pid) {
		t.Fatalf("child's server %d not running", pid)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("server %d outlived its killed test binary", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sweepStale()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("stale cluster directory %s not swept (stat: %v)", dir, err)
	}
}

func TestDSNUsesUnixSocketOnly(t *testing.T) {
	db := open(t, Start(t))
	var addrs string
	if err := db.QueryRow("SHOW listen_addresses").Scan(&addrs); err != nil {
		t.Fatal(err)
	}
	if addrs != "" {
		t.Fatalf("listen_addresses = %q, want none (unix socket only)", addrs)
	}
}
