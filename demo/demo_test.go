package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/metering"
	"github.com/usapp/usapp/roles/gateway"
	"github.com/usapp/usapp/sim/clock"
)

func TestDemoCleanRun(t *testing.T) {
	out := t.TempDir()
	sum, err := Run(context.Background(), Options{Homes: 6, Hours: 3, Seed: 7, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	want := uint64(6 * 3 * 2)
	if !sum.Clean() || sum.Readings.Sent != want || sum.Readings.Accepted != want || sum.Bills != 6 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Integrity.CheckpointsVerified == 0 || sum.Integrity.LogSize != int64(want) {
		t.Fatalf("integrity %+v", sum.Integrity)
	}
	// The homes' HEMS hide their loads: the attackers learn far less from
	// what the meters measured than from the demand itself.
	if p := sum.Privacy; p == nil || p.Algorithm != "usapp" || p.Homes != 6 || len(p.F1) == 0 ||
		p.WorstF1 >= p.UnhiddenWorstF1/2 || p.UnhiddenWorstF1 < 0.5 {
		t.Fatalf("privacy %+v", sum.Privacy)
	}
	// summary.json holds the documented keys.
	raw, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{{"readings", "sent"}, {"readings", "accepted"}, {"readings", "rejected"},
		{"readings", "lost"}, {"bills"}, {"integrity", "checkpoints_verified"}, {"integrity", "mismatches"}, {"elapsed_seconds"},
		{"privacy", "worst_f1"}, {"privacy", "f1", "hart"}, {"hems", "decisions"}, {"hems", "by_winner"}} {
		var v any = doc
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("summary.json: %v is not an object", path)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("summary.json lacks %v", path)
			}
		}
	}
}

// Without a battery the meter measures the demand: the attackers see exactly
// what they would see unprotected.
func TestNoHidingExposesTheDemand(t *testing.T) {
	sum, err := Run(context.Background(), Options{Homes: 2, Hours: 1, Seed: 5, Out: t.TempDir(), Hiding: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if p := sum.Privacy; p.WorstF1 != p.UnhiddenWorstF1 || p.ExtraEnergyPct != 0 {
		t.Fatalf("privacy without hiding %+v", p)
	}
	if _, err := Run(context.Background(), Options{Hiding: "nope", Out: t.TempDir()}); err == nil {
		t.Fatal("an unknown hiding algorithm was accepted")
	}
}

// --planned and --history reach every home's HEMS and the summary says so.
func TestHEMSKnowledgeReachesTheHEMS(t *testing.T) {
	run := func(o Options) *Summary {
		t.Helper()
		o.Homes, o.Hours, o.Seed, o.Out = 2, 1, 5, t.TempDir()
		sum, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	planned := run(Options{Planned: true})
	o := Options{Planned: true}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	if !o.hems(1).Planned || !planned.Privacy.Planned {
		t.Fatalf("HEMS planned %v, summary planned %v", o.hems(1).Planned, planned.Privacy.Planned)
	}
	// Home 1 is synthetic: with history its HEMS keeps charge for the loads
	// ahead, so what its meter measures changes.
	history := run(Options{Planned: true, History: 3})
	if history.Privacy.HistoryDays != 3 || history.Privacy.MIBits == planned.Privacy.MIBits {
		t.Fatalf("summary history %d days, MI %.4f bits with it and %.4f without; want 3 days and the MI moved",
			history.Privacy.HistoryDays, history.Privacy.MIBits, planned.Privacy.MIBits)
	}
	for sum, want := range map[*Summary]string{planned: "usapp (told the planned runs) on", history: "usapp (told the planned runs, 3 days of history) on"} {
		var text strings.Builder
		sum.WriteText(&text)
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary text lacks %q:\n%s", want, text.String())
		}
	}
	for _, days := range []int{-1, energy.MaxHistoryDays + 1} {
		if _, err := Run(context.Background(), Options{History: days, Out: t.TempDir()}); err == nil {
			t.Errorf("%d days of history accepted", days)
		}
	}
}

func TestSameSeedSameBills(t *testing.T) {
	a, err := Run(context.Background(), Options{Homes: 3, Hours: 2, Seed: 11, Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), Options{Homes: 3, Hours: 2, Seed: 11, Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if a.EnergyKWh != b.EnergyKWh || a.BilledCost != b.BilledCost {
		t.Fatalf("seeded runs differ: %v/%v vs %v/%v", a.EnergyKWh, a.BilledCost, b.EnergyKWh, b.BilledCost)
	}
}

// Kill the head-end mid-stream and start it again: every reading is stored
// and billed exactly once, and nothing the gateways sent is lost.
func TestHeadEndKilledMidStreamBillsEveryReadingOnce(t *testing.T) {
	o := Options{Homes: 8, Hours: 4, Seed: 3, Out: t.TempDir(), DrainTimeout: 90 * time.Second}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	w := &world{o: o, clk: clock.NewSim(o.Start), dir: filepath.Join(o.Out, "data")}
	defer w.close()
	ctx := context.Background()
	for _, step := range []func(context.Context) error{w.startCA, w.startBus, w.startHeadEnd, w.enrolHomes} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	intervals := o.Hours * int(time.Hour/metering.Interval)
	registers := map[string]int64{}
	for k := range intervals {
		if k == intervals/2 {
			w.stopHeadEnd() // while the stream still holds unacknowledged readings
		}
		if k == intervals/2+2 {
			if err := w.startHeadEnd(ctx); err != nil {
				t.Fatal(err)
			}
		}
		start := o.Start.Add(time.Duration(k) * metering.Interval)
		w.clk.Set(start.Add(metering.Interval))
		for _, h := range w.homes {
			r, err := h.meter.Read(start, w.clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			registers[r.Register.Meter] += r.Register.EnergyWh
			if err := h.gw.Submit(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.drain(ctx)
	sent := uint64(o.Homes * intervals)
	var accepted uint64
	for _, h := range w.homes {
		accepted += h.gw.Stats().Accepted
	}
	if accepted != sent {
		t.Fatalf("gateways hold receipts for %d of %d readings", accepted, sent)
	}
	n, err := w.store.CountReadings(ctx)
	if err != nil || n != int64(sent) {
		t.Fatalf("store holds %d readings, want %d (%v)", n, sent, err)
	}
	bills, err := w.he.Bills(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bills) != o.Homes {
		t.Fatalf("%d bills, want %d", len(bills), o.Homes)
	}
	for _, b := range bills {
		if b.EnergyWh != registers[b.Meter] || b.Registers != intervals {
			t.Fatalf("bill for %s: %d Wh over %d registers, want %d Wh over %d", b.Meter, b.EnergyWh, b.Registers, registers[b.Meter], intervals)
		}
	}
}

// A demand-response window for every home: the HEMS caps the evening import,
// overruling privacy, and summary.json counts the decisions.
func TestDemandResponseDecisionsInSummary(t *testing.T) {
	out := t.TempDir()
	dr, err := ParseDemandResponse("17:00-19:00=0.1")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), Options{Homes: 3, Hours: 1, Seed: 2, Out: out, DemandResponse: []gateway.ImportCap{dr}})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Clean() {
		t.Fatalf("summary %+v", sum)
	}
	raw, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		HEMS struct {
			DemandResponse []string       `json:"demand_response"`
			Decisions      int            `json:"decisions"`
			ByWinner       map[string]int `json:"by_winner"`
			ByLoser        map[string]int `json:"by_loser"`
		} `json:"hems"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	h := doc.HEMS
	won, lost := 0, 0
	for _, n := range h.ByWinner {
		won += n
	}
	for _, n := range h.ByLoser {
		lost += n
	}
	if len(h.DemandResponse) != 1 || h.DemandResponse[0] != "17:00-19:00=0.1" || h.Decisions == 0 || won != h.Decisions ||
		lost != h.Decisions || h.ByWinner["demand-response"] == 0 || h.ByLoser["privacy"] == 0 {
		t.Fatalf("summary.json hems %+v", h)
	}
	var text bytes.Buffer
	sum.WriteText(&text)
	if !strings.Contains(text.String(), "demand response 17:00-19:00=0.1: ") || !strings.Contains(text.String(), "demand-response ") {
		t.Fatalf("text summary:\n%s", text.String())
	}
	if _, err := Run(context.Background(), Options{Out: t.TempDir(), DemandResponse: []gateway.ImportCap{{From: "19:00", To: "19:00", MaxKW: 1}}}); !errors.Is(err, ErrDemandResponse) {
		t.Fatalf("empty window: %v", err)
	}
}

func TestParseDemandResponse(t *testing.T) {
	good := map[string]gateway.ImportCap{
		"17:00-19:00=1.5": {From: "17:00", To: "19:00", MaxKW: 1.5},
		"22:00-06:00=0":   {From: "22:00", To: "06:00", MaxKW: 0},
		"00:00-24:00=3":   {From: "00:00", To: "24:00", MaxKW: 3},
	}
	for in, want := range good {
		got, err := ParseDemandResponse(in)
		if err != nil || got != want || FormatDemandResponse(got) != in {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "17:00-19:00", "17:00=1", "17:00-19:00=", "17:00-19:00=-1", "17:00-19:00=NaN",
		"7:00-19:00=1", "17:00-25:00=1", "24:00-01:00=1", "18:00-18:00=1", "17:00-19:00=1kW"} {
		if _, err := ParseDemandResponse(in); !errors.Is(err, ErrDemandResponse) {
			t.Errorf("%q: %v, want ErrDemandResponse", in, err)
		}
	}
}

func FuzzParseDemandResponse(f *testing.F) {
	for _, s := range []string{"17:00-19:00=1.5", "22:00-06:00=0", "a-b=c", "17:00-19:00=1e309", "=-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseDemandResponse(s)
		if err != nil {
			if !errors.Is(err, ErrDemandResponse) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		back, err := ParseDemandResponse(FormatDemandResponse(c))
		if err != nil || back != c || c.MaxKW < 0 || math.IsInf(c.MaxKW, 0) {
			t.Fatalf("%q: %+v does not round-trip: %+v %v", s, c, back, err)
		}
	})
}
