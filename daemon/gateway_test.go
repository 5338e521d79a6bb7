package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usapp/usapp/config"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/internal/testnet"
)

func parseConfig(t *testing.T, text string) *config.Config {
	t.Helper()
	c, _, err := config.Parse([]byte(text), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// syncBuffer is a log sink two daemons write to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestGatewayServesHEMSDecisions runs a head-end and a gateway daemon in this
// process, talking over the network as in production, with a demand-response
// window in the gateway's configuration: GET /hems/decisions lists, per
// meter, the conflicts the HEMS resolved, with RFC 3339 times, and the log
// has a line for each. The homes are synthetic, with two days of history
// the HEMS learns its reserve from, and GET /controls says so.
func TestGatewayServesHEMSDecisions(t *testing.T) {
	run := runHeadEndAndGateway(t, "", `  name: home-7
  meters: 2
  data: synthetic
  interval: 1h
  hems:
    demand_response:
      - {from: "17:00", to: "19:00", max_kw: 0.1}
    planned: true
    history: 2
`)

	var got []MeterDecisions
	testnet.Eventually(t, 20*time.Second, 50*time.Millisecond, func() error { return getJSON("http://"+run.gwHTTP+"/hems/decisions", &got) })
	if len(got) != 2 || got[0].Meter != "home-7-meter-1" || got[1].Meter != "home-7-meter-2" || got[0].LFDI == "" {
		t.Fatalf("decisions for %+v, want the two meters", got)
	}
	// The raw JSON carries RFC 3339 times.
	resp, err := http.Get("http://" + run.gwHTTP + "/hems/decisions")
	if err != nil {
		t.Fatal(err)
	}
	var raw []struct {
		Decisions []map[string]any `json:"decisions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	drWon := 0
	for i, d := range got[0].Decisions {
		from, err1 := time.Parse(time.RFC3339, raw[0].Decisions[i]["from"].(string))
		to, err2 := time.Parse(time.RFC3339, raw[0].Decisions[i]["to"].(string))
		if err1 != nil || err2 != nil || !from.Equal(d.From) || !to.After(from) {
			t.Fatalf("decision %d times %v, %v: %v %v", i, raw[0].Decisions[i]["from"], raw[0].Decisions[i]["to"], err1, err2)
		}
		if d.Winner == energy.SourceDemandResponse && d.Loser == energy.SourcePrivacy {
			drWon++
			if h := from.In(time.FixedZone("BST", 3600)).Hour(); h < 17 || h >= 19 {
				t.Errorf("demand response won at %v, outside its 17:00-19:00 window", from)
			}
		}
	}
	if drWon == 0 {
		t.Fatalf("no demand-response-over-privacy decision for meter 1: %+v", got[0].Decisions)
	}
	var c struct {
		Controls []struct {
			ID     string            `json:"id"`
			Params map[string]string `json:"params"`
		} `json:"controls"`
	}
	if err := getJSON("http://"+run.gwHTTP+"/controls", &c); err != nil {
		t.Fatal(err)
	}
	arbitration, told := false, false
	for _, a := range c.Controls {
		arbitration = arbitration || a.ID == "C3.hems-arbitration" && a.Params["demand_response"] == "1"
		told = told || a.ID == "C3.load-hiding" && a.Params["planned"] == "true" && a.Params["history_days"] == "2"
	}
	if !arbitration || !told {
		t.Errorf("controls %+v lack C3.hems-arbitration with one demand-response window or C3.load-hiding told the planned runs and two days of history", c.Controls)
	}
	// Every decision of both meters is in the log at info.
	lines := 0
	for line := range strings.Lines(run.logs.String()) {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil && l["msg"] == "hems decision" {
			if l["level"] != "INFO" || l["home"] == nil || l["winner"] == nil || l["loser"] == nil || l["from"] == nil || l["reason"] == nil {
				t.Errorf("log line %v", l)
			}
			lines++
		}
	}
	if want := len(got[0].Decisions) + len(got[1].Decisions); lines != want {
		t.Errorf("%d decision log lines, want %d", lines, want)
	}
}

// runDaemon runs a daemon in this process until stop is called or the test
// ends (daemons started later stop first); an error it returns fails the
// test.
func runDaemon(t *testing.T, f func(context.Context, *config.Config, *slog.Logger) error, c *config.Config, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx, c, log) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s daemon: %v", c.Role, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// pair is a head-end and a gateway daemon running in the test's process.
type pair struct {
	gwHTTP, heHTTP string // their HTTP addresses
	heDir          string // the head-end's data directory
	gw             *config.Config
	stopGW         func()
	logs           *syncBuffer  // the log both write
	log            *slog.Logger // writing to logs
}

// runHeadEndAndGateway runs a head-end (with its CA and bus) and a gateway
// daemon in this process, talking over the network as in production, until
// the test ends. ca adds keys to the head-end's ca section (YAML flow
// entries, each with a leading comma); gateway is the gateway section's
// body, without headend_url and http.
func runHeadEndAndGateway(t *testing.T, ca, gateway string) pair {
	t.Helper()
	p, heCfg := newPair(t, ca, "", gateway)
	runHeadEnd(t, p, heCfg)
	p.stopGW = runDaemon(t, RunGateway, p.gw, p.log)
	return p
}

// newPair writes the configurations of a head-end and its gateway: ca and
// bus add keys to the head-end's sections of those names (YAML flow
// entries, each with a leading comma), gateway is the gateway section's
// body, without headend_url and http.
func newPair(t *testing.T, ca, bus, gateway string) (pair, *config.Config) {
	t.Helper()
	dir := t.TempDir()
	p := pair{heDir: filepath.Join(dir, "he"), logs: &syncBuffer{}}
	pass := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(pass, []byte("daemon-test-passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	caAddr, busAddr := testnet.FreeAddr(t), testnet.FreeAddr(t)
	p.heHTTP, p.gwHTTP = testnet.FreeAddr(t), testnet.FreeAddr(t)
	root, tokens := filepath.Join(dir, "root.pem"), filepath.Join(dir, "tokens")
	heCfg := parseConfig(t, fmt.Sprintf(`role: headend
data_dir: %q
keystore: {passphrase_file: %q}
ca: {listen: %q, root_file: %q, token_file: %q, gateway_tokens: 1%s}
bus: {listen: %q%s}
headend: {http: %q}
`, p.heDir, pass, caAddr, root, tokens, ca, busAddr, bus, p.heHTTP))
	p.gw = parseConfig(t, fmt.Sprintf(`role: gateway
data_dir: %q
keystore: {passphrase_file: %q}
ca: {url: "https://%s", root_file: %q, token_file: %q}
bus: {url: "tls://%s"}
gateway:
  headend_url: "http://%s"
  http: %q
%s`, filepath.Join(dir, "gw"), pass, caAddr, root, tokens, busAddr, p.heHTTP, p.gwHTTP, gateway))
	p.log = slog.New(slog.NewJSONHandler(p.logs, nil))
	return p, heCfg
}

// runHeadEnd runs the pair's head-end until the test ends, and waits until
// it answers.
func runHeadEnd(t *testing.T, p pair, heCfg *config.Config) {
	t.Helper()
	runDaemon(t, RunHeadEnd, heCfg, p.log)
	testnet.Eventually(t, 20*time.Second, 50*time.Millisecond, func() error { return getJSON("http://"+p.heHTTP+"/stats", &map[string]any{}) })
}
