package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/usapp/usapp/internal/testnet"
	"github.com/usapp/usapp/platform/sqldb"
	"github.com/usapp/usapp/platform/store/pgtest"
)

// TestMain stops the shared PostgreSQL test cluster and removes the built
// binary once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Shutdown()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	modRoot   string
	buildErr  error
)

// usappBinary builds cmd/usapp once per test binary, so every test drives the
// real command as a user would.
func usappBinary(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not in PATH: cannot build usapp to run it as a child process")
	}
	buildOnce.Do(func() {
		out, err := exec.Command(gobin, "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		modRoot = filepath.Dir(strings.TrimSpace(string(out)))
		if binDir, buildErr = os.MkdirTemp("", "usapp-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "usapp")
		cmd := exec.Command(gobin, "build", "-o", binPath, "./cmd/usapp")
		cmd.Dir = modRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a usapp child process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	err    error // set before done is closed
}

const testPassphrase = "correct horse battery staple"

// startUsapp runs the binary with args; the child is killed at cleanup and
// its stderr is shown if the test failed.
func startUsapp(t *testing.T, bin, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), "USAPP_PASSPHRASE="+testPassphrase)
	p := &proc{name: name, cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	cmd.Stdout = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- stderr of %s (pid %d) ---\n%s", name, cmd.Process.Pid, p.stderr)
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM and waits up to timeout for a clean exit.
func (p *proc) stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("%s exited after SIGTERM with %v", p.name, p.err)
		}
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v of SIGTERM", p.name, timeout)
	}
}

// exited reports an error if the process has already ended.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v", p.name, p.err)
	default:
		return nil
	}
}

var httpc = &http.Client{Timeout: 5 * time.Second}

func getJSON(url string, v any) error {
	resp, err := httpc.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// The JSON shapes below are the daemons' public HTTP contract.

type headEndStats struct {
	Received   uint64            `json:"received"`
	Accepted   uint64            `json:"accepted"`
	Duplicates uint64            `json:"duplicates"`
	Rejected   uint64            `json:"rejected"`
	ByReason   map[string]uint64 `json:"by_reason"`
}

type gatewayStats struct {
	Sent            uint64 `json:"sent"`
	Accepted        uint64 `json:"accepted"`
	Rejected        uint64 `json:"rejected"`
	Retransmissions uint64 `json:"retransmissions"`
	Mismatches      uint64 `json:"mismatches"`
}

type bill struct {
	Meter     string
	Registers int
	EnergyWh  int64
}

type controls struct {
	Version  int    `json:"version"`
	Role     string `json:"role"`
	Controls []struct {
		ID string `json:"id"`
	} `json:"controls"`
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeAcrossProcesses runs the head-end in one process and a gateway
// with two meters in another, talking only over the network (EST over HTTPS,
// NATS with mTLS, HTTP for the key bundle). The head-end is killed with
// SIGKILL while readings flow and started again; every reading the gateway
// sent must then be billed exactly once. With PostgreSQL the embedded CA's
// state shares the store's database.
func TestServeAcrossProcesses(t *testing.T) {
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"postgres", func(t *testing.T) string { return pgtest.Start(t) }},
		{"sqlite", func(*testing.T) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) { testServeAcrossProcesses(t, tc.dsn(t)) })
	}
}

func testServeAcrossProcesses(t *testing.T, dsn string) {
	bin := usappBinary(t)
	t0 := time.Now()
	dir := t.TempDir()
	heDir, gwDir := filepath.Join(dir, "headend"), filepath.Join(dir, "gateway")
	caAddr, busAddr, heHTTP, gwHTTP := testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t)
	rootFile, tokenFile := filepath.Join(dir, "ca-root.pem"), filepath.Join(dir, "gateway-tokens")

	heConf := filepath.Join(dir, "headend.yaml")
	writeFile(t, heConf, fmt.Sprintf(`role: headend
data_dir: %q
log:
  level: info
ca:
  listen: %q
  root_file: %q
  token_file: %q
  gateway_tokens: 1
  dsn: %q
bus:
  listen: %q
store:
  dsn: %q
headend:
  http: %q
  batch: 16
  ack_wait: 2s
`, heDir, caAddr, rootFile, tokenFile, dsn, busAddr, dsn, heHTTP))
	gwConf := filepath.Join(dir, "gateway.yaml")
	writeFile(t, gwConf, fmt.Sprintf(`role: gateway
data_dir: %q
log:
  level: info
  format: json
ca:
  url: "https://%s"
  root_file: %q
  token_file: %q
bus:
  url: "tls://%s"
gateway:
  name: home-1
  meters: 2
  data: synthetic
  interval: 100ms
  retransmit: 1s
  headend_url: "http://%s"
  http: %q
`, gwDir, caAddr, rootFile, tokenFile, busAddr, heHTTP, gwHTTP))

	heURL, gwURL := "http://"+heHTTP, "http://"+gwHTTP
	startHeadEnd := func(name string) *proc {
		p := startUsapp(t, bin, name, "serve", "headend", "--config", heConf)
		testnet.Eventually(t, 20*time.Second, 50*time.Millisecond, func() error {
			if err := p.exited(); err != nil {
				t.Fatal(err)
			}
			var s headEndStats
			return getJSON(heURL+"/stats", &s)
		})
		return p
	}
	he := startHeadEnd("headend")
	gw := startUsapp(t, bin, "gateway", "serve", "gateway", "--config", gwConf)

	var hs headEndStats
	var gs gatewayStats
	testnet.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		if err := gw.exited(); err != nil {
			t.Fatal(err)
		}
		if err := getJSON(heURL+"/stats", &hs); err != nil {
			return err
		}
		if err := getJSON(gwURL+"/stats", &gs); err != nil {
			return err
		}
		if hs.Accepted < 20 || gs.Accepted < 20 {
			return fmt.Errorf("head-end %+v, gateway %+v: want 20 accepted by each", hs, gs)
		}
		return nil
	})
	if gs.Mismatches != 0 || gs.Rejected != 0 || hs.Rejected != 0 {
		t.Fatalf("head-end %+v, gateway %+v: want no mismatch and no rejection", hs, gs)
	}
	checkControls(t, heURL, "headend", "B3.integrity-feedback")
	checkControls(t, gwURL, "gateway", "C3.load-hiding")

	// Kill the head-end (and its embedded CA and bus) while registers flow,
	// then start it again on the same data.
	t.Logf("%v: killing the head-end", time.Since(t0).Round(time.Millisecond))
	he.kill()
	var atKill, before gatewayStats
	if err := getJSON(gwURL+"/stats", &atKill); err != nil {
		t.Fatal(err)
	}
	// Readings keep being submitted (and spooled) while the head-end is down;
	// each Submit then waits out its publish timeout, so this takes seconds,
	// and a reading whose publish timed out reaches the new head-end by
	// retransmission from the spool.
	testnet.Eventually(t, 15*time.Second, 50*time.Millisecond, func() error {
		if err := getJSON(gwURL+"/stats", &before); err != nil {
			return err
		}
		if before.Sent <= atKill.Sent {
			return fmt.Errorf("gateway sent %d with the head-end down, want more than %d", before.Sent, atKill.Sent)
		}
		return nil
	})
	t.Logf("%v: restarting the head-end; gateway %+v", time.Since(t0).Round(time.Millisecond), before)
	startHeadEnd("headend (restarted)")
	t.Logf("%v: head-end restarted", time.Since(t0).Round(time.Millisecond))
	// Everything sent before and during the outage, and more since, must be
	// acknowledged through the new head-end process.
	testnet.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		if err := gw.exited(); err != nil {
			t.Fatal(err)
		}
		if err := getJSON(heURL+"/stats", &hs); err != nil {
			return err
		}
		if err := getJSON(gwURL+"/stats", &gs); err != nil {
			return err
		}
		if hs.Accepted < 10 || gs.Accepted < before.Sent+10 {
			return fmt.Errorf("after restart: head-end %+v, gateway %+v: want the gateway's %d readings sent by the restart and 10 more accepted",
				hs, gs, before.Sent)
		}
		return nil
	})
	if gs.Mismatches != 0 || gs.Rejected != 0 || hs.Rejected != 0 {
		t.Fatalf("after restart: head-end %+v, gateway %+v: want no mismatch and no rejection", hs, gs)
	}

	t.Logf("%v: after the restart: head-end %+v, gateway %+v (sent %d by the restart)", time.Since(t0).Round(time.Millisecond), hs, gs, before.Sent)
	gw.stop(t, 20*time.Second)
	final := finalGatewayStats(t, gw.stderr.String())
	if final.Sent < gs.Sent || final.Mismatches != 0 || final.Rejected != 0 {
		t.Fatalf("gateway's final stats %+v after %+v", final, gs)
	}
	var bills []bill
	testnet.Eventually(t, 15*time.Second, 100*time.Millisecond, func() error {
		if err := getJSON(heURL+"/bills", &bills); err != nil {
			return err
		}
		n := 0
		for _, b := range bills {
			n += b.Registers
		}
		if n != int(final.Sent) || len(bills) != 2 {
			return fmt.Errorf("%d bills with %d registers in all, want 2 meters and the %d readings the gateway sent", len(bills), n, final.Sent)
		}
		return nil
	})
	t.Logf("gateway stopped with %+v; bills %+v", final, bills)
	for _, b := range bills {
		if b.Registers == 0 || b.EnergyWh <= 0 {
			t.Errorf("bill of %s: %d registers, %d Wh", b.Meter, b.Registers, b.EnergyWh)
		}
	}
	if dsn != "" {
		checkCAStateIn(t, dsn)
	}
}

// checkCAStateIn requires the CA's state in the database at dsn: the root,
// the services, the gateway and its meters each took a serial there.
func checkCAStateIn(t *testing.T, dsn string) {
	t.Helper()
	db, err := sqldb.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var serial, issued int
	if err := db.QueryRow("SELECT (SELECT last FROM ca_serial), (SELECT COUNT(*) FROM ca_issued)").Scan(&serial, &issued); err != nil {
		t.Fatalf("the CA's tables in the shared database: %v", err)
	}
	if serial < 5 || issued < 5 {
		t.Fatalf("CA state in the database: serial %d, %d certificates issued; want the root, head-end, bus, gateway and meters", serial, issued)
	}
}

// checkControls reads a daemon's GET /controls and requires its role and
// one control it must run.
func checkControls(t *testing.T, base, role, must string) {
	t.Helper()
	var c controls
	if err := getJSON(base+"/controls", &c); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range c.Controls {
		found = found || x.ID == must
	}
	if c.Role != role || !found {
		t.Fatalf("GET %s/controls = %+v, want role %q running %s", base, c, role, must)
	}
}

// finalGatewayStats reads the counters the gateway logs as it stops (JSON
// log lines), which cover every reading it submitted.
func finalGatewayStats(t *testing.T, stderr string) gatewayStats {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
			gatewayStats
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "gateway stopped" {
			return line.gatewayStats
		}
	}
	t.Fatal(`the gateway logged no "gateway stopped" line with its final counters`)
	return gatewayStats{}
}
