package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usapp/usapp/billing"
	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/sim/household"
)

func TestHEMSMeteredIsTheHiddenLoad(t *testing.T) {
	tr, h := eveningHEMS(t, DayPlan{}, nil, nil)
	m, res, _, err := h.Metered(tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Mains) != len(tr.Mains) || !m.Start.Equal(tr.Start) || m.Step != tr.Step {
		t.Fatalf("metered trace has another shape: %d samples from %v every %v", len(m.Mains), m.Start, m.Step)
	}
	changed := 0
	for i := range tr.Mains {
		// The balance the physics must keep: p = p_i + pB + pL.
		if d := tr.Mains[i] - (m.Mains[i] + res.Battery[i] + res.Loss[i]); math.Abs(d) > 1e-6 {
			t.Fatalf("step %d: balance off by %g W", i, d)
		}
		if m.Mains[i] != tr.Mains[i] {
			changed++
		}
	}
	if changed < len(tr.Mains)/2 {
		t.Fatalf("the meter sees the demand at %d of %d steps", len(tr.Mains)-changed, len(tr.Mains))
	}
	if c := h.Controls(); len(c) != 2 || c[0].Params["algorithm"] != "usapp" || c[1].ID != framework.HEMSArbitration {
		t.Fatalf("controls %+v", c)
	}
	if same, _, _, _ := (HEMS{}).Metered(tr); same != tr {
		t.Fatal("a HEMS without an algorithm changed the demand")
	}
}

// eveningHEMS is home UK-DALE 2's HEMS with plan, logging JSON to buf (nil:
// discard).
func eveningHEMS(t testing.TB, plan DayPlan, prio []energy.Source, buf *bytes.Buffer) (*household.Trace, HEMS) {
	t.Helper()
	tr, err := household.UKDALE()
	if err != nil {
		t.Fatal(err)
	}
	alg, err := energy.Lookup("usapp")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if buf != nil {
		log = slog.New(slog.NewJSONHandler(buf, nil))
	}
	return tr, HEMS{Algorithm: alg, Battery: energy.DefaultBattery(), Tariff: billing.DefaultTariff(), Seed: 1,
		Priorities: prio, Plan: plan, Home: "home-2-meter", Log: log}
}

var london = func() *time.Location {
	l, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return l
}()

// inWindow reports whether step i of tr starts in [from, to) hours, London time.
func inWindow(tr *household.Trace, i, from, to int) bool {
	h := tr.Start.Add(time.Duration(i) * tr.Step).In(london).Hour()
	return h >= from && h < to
}

func covers(ds []Decision, i int, winner, loser energy.Source) bool {
	for _, d := range ds {
		if d.Winner == winner && d.Loser == loser && i >= d.Step && i < d.Step+d.Steps {
			return true
		}
	}
	return false
}

func TestHEMSDemandResponseBeatsPrivacyInTheEveningPeak(t *testing.T) {
	var buf bytes.Buffer
	plan := DayPlan{DemandResponse: []ImportCap{{From: "17:00", To: "19:00", MaxKW: 0.1}}}
	tr, h := eveningHEMS(t, plan, nil, &buf)
	m, res, ds, err := h.Metered(tr)
	if err != nil {
		t.Fatal(err)
	}
	capped, inside := 0, 0
	for i := range tr.Mains {
		if d := tr.Mains[i] - (m.Mains[i] + res.Battery[i] + res.Loss[i]); math.Abs(d) > 1e-6 {
			t.Fatalf("step %d: balance off by %g W", i, d)
		}
		if !inWindow(tr, i, 17, 19) {
			continue
		}
		inside++
		switch {
		case m.Mains[i] <= 100+1e-6:
			capped++
		case !covers(ds, i, energy.SourceBattery, energy.SourceDemandResponse):
			// Above the cap is allowed only where the battery could not
			// do more, and the log must say so.
			t.Errorf("step %d: metered %.0f W above the 100 W cap with no battery-limits decision", i, m.Mains[i])
		}
	}
	if inside != 60 || capped < inside/2 {
		t.Fatalf("%d of %d evening steps within the cap", capped, inside)
	}
	won := 0
	for _, d := range ds {
		if d.Winner != energy.SourceDemandResponse {
			continue
		}
		won++
		if d.Loser != energy.SourcePrivacy && d.Loser != energy.SourceCost {
			t.Errorf("demand response beat %s", d.Loser)
		}
		if d.From.Before(time.Date(2013, 6, 8, 17, 0, 0, 0, london)) || d.To.After(time.Date(2013, 6, 8, 19, 0, 0, 0, london)) ||
			!d.To.Equal(d.From.Add(time.Duration(d.Steps)*tr.Step)) || d.From.Location().String() != "Europe/London" {
			t.Errorf("decision %+v outside the 17:00-19:00 window", d)
		}
	}
	if won == 0 || !slices.ContainsFunc(ds, func(d Decision) bool {
		return d.Winner == energy.SourceDemandResponse && d.Loser == energy.SourcePrivacy
	}) {
		t.Fatalf("no demand-response-over-privacy decision in %+v", ds)
	}
	// Every decision is in the log, with the home and its times.
	logged := logLines(t, &buf)
	if len(logged) != len(ds) {
		t.Fatalf("%d decisions, %d log lines", len(ds), len(logged))
	}
	for i, l := range logged {
		d := ds[i]
		if l["level"] != "INFO" || l["home"] != "home-2-meter" || l["winner"] != string(d.Winner) || l["loser"] != string(d.Loser) ||
			l["from"] != d.From.Format(time.RFC3339) || l["to"] != d.To.Format(time.RFC3339) || l["conflict"] != d.Conflict || l["reason"] != d.Reason {
			t.Errorf("log line %v for decision %+v", l, d)
		}
	}
}

func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestHEMSPrioritiesDecideTheWinner(t *testing.T) {
	var buf bytes.Buffer
	plan := DayPlan{DemandResponse: []ImportCap{{From: "17:00", To: "19:00", MaxKW: 0.1}}}
	prio := []energy.Source{energy.SourceEmergency, energy.SourceOverride, energy.SourcePrivacy, energy.SourceDemandResponse, energy.SourceCost}
	tr, h := eveningHEMS(t, plan, prio, &buf)
	m, _, ds, err := h.Metered(tr)
	if err != nil {
		t.Fatal(err)
	}
	// The plain hidden run: with privacy first, the request changes nothing
	// privacy wanted in the window.
	_, hplain := eveningHEMS(t, DayPlan{}, prio, &buf)
	plain, _, _, err := hplain.Metered(tr)
	if err != nil {
		t.Fatal(err)
	}
	over := 0
	for i := range tr.Mains {
		if inWindow(tr, i, 17, 19) {
			if m.Mains[i] != plain.Mains[i] {
				t.Fatalf("step %d: metered %.0f W, privacy alone %.0f W", i, m.Mains[i], plain.Mains[i])
			}
			if m.Mains[i] > 100 {
				over++
			}
		}
	}
	lost := slices.ContainsFunc(ds, func(d Decision) bool {
		return d.Winner == energy.SourcePrivacy && d.Loser == energy.SourceDemandResponse
	})
	won := slices.ContainsFunc(ds, func(d Decision) bool { return d.Winner == energy.SourceDemandResponse })
	if over == 0 || !lost || won {
		t.Fatalf("privacy first: %d steps over the cap, decisions %+v", over, ds)
	}
	if c := h.Controls(); c[1].Params["priorities"] != "grid-emergency,user-override,privacy,demand-response,cost" {
		t.Errorf("controls %+v", c)
	}
}

func TestHEMSUserOverrides(t *testing.T) {
	var buf bytes.Buffer
	// Battery off through the evening; charge to 80 % by 18:00 while the
	// dear peak band (16:00-19:00) asks the battery not to charge.
	off := DayPlan{Overrides: []Override{{Kind: energy.BatteryOff, From: "19:00", To: "21:00"}}}
	charge := DayPlan{Overrides: []Override{{Kind: energy.ChargeBy, From: "16:00", To: "18:00", TargetSoC: 0.8}}}
	tr, h := eveningHEMS(t, off, nil, &buf)
	_, res, ds, err := h.Metered(tr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tr.Mains {
		if inWindow(tr, i, 19, 21) && res.Battery[i] != 0 {
			t.Fatalf("step %d: battery at %.0f W while the user switched it off", i, res.Battery[i])
		}
	}
	if !slices.ContainsFunc(ds, func(d Decision) bool { return d.Winner == energy.SourceOverride && d.Loser == energy.SourcePrivacy }) {
		t.Fatalf("battery off: no override-over-privacy decision in %+v", ds)
	}

	_, h = eveningHEMS(t, charge, nil, &buf)
	_, res, ds, err = h.Metered(tr)
	if err != nil {
		t.Fatal(err)
	}
	deadline := int(time.Date(2013, 6, 8, 18, 0, 0, 0, london).Sub(tr.Start)/tr.Step) - 1
	if got, want := res.SoC[deadline], 0.8*h.Battery.CapacityKWh; got < want-1e-9 {
		t.Fatalf("SoC at 18:00 %.3f kWh, want %.3f", got, want)
	}
	if !slices.ContainsFunc(ds, func(d Decision) bool {
		return d.Winner == energy.SourceOverride && d.Loser == energy.SourceCost && strings.Contains(d.Conflict, "dear band")
	}) {
		t.Fatalf("charge-by: no override-over-cost decision in %+v", ds)
	}
	// Rank cost above the user and the peak band keeps the battery from charging.
	prio := []energy.Source{energy.SourceEmergency, energy.SourceCost, energy.SourceOverride, energy.SourceDemandResponse, energy.SourcePrivacy}
	_, h = eveningHEMS(t, charge, prio, &buf)
	_, res, ds, err = h.Metered(tr)
	if err != nil {
		t.Fatal(err)
	}
	if res.SoC[deadline] >= 0.8*h.Battery.CapacityKWh ||
		!slices.ContainsFunc(ds, func(d Decision) bool { return d.Winner == energy.SourceCost && d.Loser == energy.SourceOverride }) {
		t.Fatalf("cost first: SoC %.3f kWh, decisions %+v", res.SoC[deadline], ds)
	}
}

func TestHEMSEmergencyAndBadPlans(t *testing.T) {
	var buf bytes.Buffer
	plan := DayPlan{
		DemandResponse: []ImportCap{{From: "17:00", To: "19:00", MaxKW: 0.3}},
		Emergencies:    []ImportCap{{From: "18:00", To: "18:30", MaxKW: 0}},
	}
	tr, h := eveningHEMS(t, plan, nil, &buf)
	m, _, ds, err := h.Metered(tr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tr.Mains {
		at := tr.Start.Add(time.Duration(i) * tr.Step).In(london)
		if at.Hour() == 18 && at.Minute() < 30 && m.Mains[i] > 1e-6 && !covers(ds, i, energy.SourceBattery, energy.SourceEmergency) {
			t.Errorf("%s: metered %.0f W during a zero-import emergency", at.Format("15:04"), m.Mains[i])
		}
	}
	for name, p := range map[string]DayPlan{
		"hour 25":    {DemandResponse: []ImportCap{{From: "25:00", To: "26:00", MaxKW: 1}}},
		"empty":      {Emergencies: []ImportCap{{From: "10:00", To: "10:00", MaxKW: 1}}},
		"24:00 from": {Overrides: []Override{{Kind: energy.BatteryOff, From: "24:00", To: "01:00"}}},
		"negative":   {DemandResponse: []ImportCap{{From: "10:00", To: "11:00", MaxKW: -1}}},
		"kind":       {Overrides: []Override{{From: "10:00", To: "11:00"}}},
	} {
		_, h := eveningHEMS(t, p, nil, &buf)
		_, _, _, err := h.Metered(tr)
		if !errors.Is(err, ErrPlan) && !errors.Is(err, energy.ErrPlan) {
			t.Errorf("%s: %v, want ErrPlan", name, err)
		}
	}
	_, h = eveningHEMS(t, DayPlan{}, []energy.Source{energy.SourcePrivacy}, &buf)
	if _, _, _, err := h.Metered(tr); !errors.Is(err, energy.ErrPriorities) {
		t.Errorf("short priorities: %v", err)
	}
}

// The daily windows land on the clock face of the tariff's zone: across a
// daylight-saving change, wrapped past midnight, clipped to the trace.
func TestDayPlanOnTheClock(t *testing.T) {
	// 2026-03-29 in London: clocks go from 01:00 GMT to 02:00 BST.
	start := time.Date(2026, 3, 28, 12, 0, 0, 0, london)
	n := 48 * 4 // two days of 15-minute steps
	step := 15 * time.Minute
	p := DayPlan{
		DemandResponse: []ImportCap{{From: "22:00", To: "06:00", MaxKW: 1}},
		Overrides:      []Override{{Kind: energy.BatteryOff, From: "00:00", To: "24:00"}},
	}
	got, err := p.steps(start, step, n, london)
	if err != nil {
		t.Fatal(err)
	}
	at := func(i int) string { return start.Add(time.Duration(i) * step).In(london).Format("01-02 15:04") }
	var dr []string
	for _, c := range got.DemandResponse {
		dr = append(dr, at(c.From)+"/"+at(c.To))
		if c.MaxMeteredW != 1000 {
			t.Errorf("cap %g W", c.MaxMeteredW)
		}
	}
	// The night of the change is an hour shorter on the clock.
	want := []string{"03-28 22:00/03-29 06:00", "03-29 22:00/03-30 06:00"}
	if !slices.Equal(dr, want) {
		t.Fatalf("demand response %v, want %v", dr, want)
	}
	if c := got.DemandResponse[0]; c.To-c.From != 7*4 {
		t.Errorf("the short night spans %d steps, want 28", c.To-c.From)
	}
	var ov []string
	for _, o := range got.Overrides {
		ov = append(ov, at(o.From)+"/"+at(o.To))
	}
	// Clipped to the trace at both ends; the whole day of the change is 23 h.
	want = []string{"03-28 12:00/03-29 00:00", "03-29 00:00/03-30 00:00", "03-30 00:00/03-30 13:00"}
	if !slices.Equal(ov, want) || got.Overrides[1].To-got.Overrides[1].From != 23*4 {
		t.Fatalf("overrides %v, want %v", ov, want)
	}
}

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"00:00", "17:30", "24:00", "23:59", "24:01", "9:00", "12:60", "ab:cd", "", "12:345"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, end bool) {
		d, err := ParseClock(s, end)
		if err != nil {
			if !errors.Is(err, ErrPlan) {
				t.Fatalf("%q: %v does not wrap ErrPlan", s, err)
			}
			return
		}
		if d < 0 || d > 24*time.Hour || d == 24*time.Hour && !end || d%time.Minute != 0 {
			t.Fatalf("%q (end %v) = %v", s, end, d)
		}
		if back := fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60); back != s {
			t.Fatalf("%q read as %v, which reads back as %q", s, d, back)
		}
	})
}

func BenchmarkHEMSMetered(b *testing.B) {
	tr, h := eveningHEMS(b, DayPlan{DemandResponse: []ImportCap{{From: "17:00", To: "19:00", MaxKW: 0.1}}}, nil, nil)
	for b.Loop() {
		if _, _, _, err := h.Metered(tr); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/home-day")
	b.ReportMetric(float64(b.N*len(tr.Mains))/b.Elapsed().Seconds(), "steps/s")
}

// The day-plan rules live here; config and the demo report these fields.
func TestImportCapCheckNamesEachField(t *testing.T) {
	err := ImportCap{From: "25:00", To: "24:01", MaxKW: math.NaN()}.Check()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) || !errors.Is(e, ErrPlan) {
			t.Fatalf("%v is not a *FieldError wrapping ErrPlan", e)
		}
		fields = append(fields, fe.Field)
	}
	if want := []string{"from", "to", "max_kw"}; !slices.Equal(fields, want) {
		t.Errorf("fields %v, want %v", fields, want)
	}
	if err := (ImportCap{From: "10:00", To: "10:00", MaxKW: 1}).Check(); err == nil || !strings.Contains(err.Error(), "to: equals from") {
		t.Errorf("empty window: %v", err)
	}
	if err := (ImportCap{From: "22:00", To: "06:00", MaxKW: 0}).Check(); err != nil {
		t.Errorf("a window past midnight with a zero cap is valid: %v", err)
	}
	if err := (Override{Kind: energy.BatteryOff, From: "7:00", To: "08:00"}).Check(); !errors.Is(err, ErrPlan) {
		t.Errorf("override with a bad start: %v", err)
	}
}

// A HEMS that schedules the tumble dryer tells the hider its run, and the
// meter shows the run as a lower, wider plateau; one that does not follows
// it up. The day is 200 W with a 2 kW dryer from 12:00 to 13:00 UTC.
func TestHEMSTellsTheHiderWhatItSchedules(t *testing.T) {
	n := 24 * 60
	mains, dryer := make([]float64, n), make([]float64, n)
	for i := range mains {
		mains[i] = 200
		if i >= 720 && i < 780 {
			dryer[i] = 2000
			mains[i] += 2000
		}
	}
	tr := &household.Trace{Name: "dryer day", Start: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), Step: time.Minute,
		Mains: mains, Appliances: map[string][]float64{"tumble_dryer": dryer}}
	peak := func(planned bool) (float64, float64) {
		_, h := eveningHEMS(t, DayPlan{}, nil, nil)
		h.Planned = planned
		m, _, _, err := h.Metered(tr)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Controls()[0].Params["planned"]; got != fmt.Sprint(planned) {
			t.Errorf("controls report planned=%s, want %v", got, planned)
		}
		return slices.Max(m.Mains[700:800]), m.Mains[715] // 715: five minutes before the run
	}
	told, before := peak(true)
	notTold, _ := peak(false)
	if told > 1800 || notTold < 2100 {
		t.Errorf("metered peak around the run: %.0f W told, %.0f W not told; want <= 1800 and >= 2100", told, notTold)
	}
	if before < 1000 {
		t.Errorf("the meter reads %.0f W five minutes before the run; a spread run shows before it starts", before)
	}
}

// A HEMS that has seen the home cook at 18:00 on the days before keeps
// charge for it today, so less of the load reaches the meter. The days start
// at noon, so the learned profile is laid along the trace from its time of
// day, not from midnight.
func TestHEMSKeepsChargeForTheLoadsItHasSeen(t *testing.T) {
	noon := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cooking := func(start time.Time) *household.Trace {
		mains := make([]float64, 24*60)
		for i := range mains {
			mains[i] = 150
			if i >= 6*60 && i < 6*60+30 { // 18:00-18:30
				mains[i] = 2550
			}
		}
		return &household.Trace{Name: "cooking " + start.Format(time.DateOnly), Start: start, Step: time.Minute, Mains: mains}
	}
	today := cooking(noon)
	run := func(history []*household.Trace) *energy.Result {
		_, h := eveningHEMS(t, DayPlan{}, nil, nil)
		if history != nil {
			var err error
			if h.Reserve, err = LearnReserve(history); err != nil {
				t.Fatal(err)
			}
		}
		_, res, _, err := h.Metered(today)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Controls()[0].Params["history_days"]; got != fmt.Sprint(len(history)) {
			t.Errorf("controls report history_days=%s, want %d", got, len(history))
		}
		return res
	}
	without := run(nil)
	with := run([]*household.Trace{cooking(noon.AddDate(0, 0, -1)), cooking(noon.AddDate(0, 0, -2))})
	before := 6*60 - 1
	if with.SoC[before] < without.SoC[before]+0.3 {
		t.Errorf("charge before the load: %.2f kWh with history, %.2f without; want at least 0.3 more", with.SoC[before], without.SoC[before])
	}
	shown := func(res *energy.Result) (kWh float64) {
		for _, w := range res.Metered[6*60 : 6*60+30] {
			kWh += w / 60 / 1000
		}
		return kWh
	}
	if s1, s0 := shown(with), shown(without); s1 >= s0 {
		t.Errorf("metered energy during the load: %.3f kWh with history, %.3f without; want less", s1, s0)
	}
}

// A history the HEMS cannot learn from, or lay along the day, is refused,
// not misread.
func TestHEMSRejectsHistory(t *testing.T) {
	noon := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	day := func(start time.Time, step time.Duration, n int) *household.Trace {
		return &household.Trace{Name: "day", Start: start, Step: step, Mains: slices.Repeat([]float64{300}, n)}
	}
	yesterday := day(noon.AddDate(0, 0, -1), time.Minute, 1440)
	for name, history := range map[string][]*household.Trace{
		"another time of day":       {yesterday, day(noon.Add(-47*time.Hour), time.Minute, 1440)},
		"another step":              {yesterday, day(noon.AddDate(0, 0, -2), 2*time.Minute, 720)},
		"not a whole day":           {day(noon.AddDate(0, 0, -1), time.Minute, 1000)},
		"a step that splits no day": {day(noon.AddDate(0, 0, -1), 7*time.Minute, 205)},
		"negative demand":           {{Name: "day", Start: noon.AddDate(0, 0, -1), Step: time.Minute, Mains: append(slices.Repeat([]float64{300}, 1439), -5)}},
	} {
		if _, err := LearnReserve(history); !errors.Is(err, ErrHistory) {
			t.Errorf("%s: got %v, want ErrHistory", name, err)
		}
	}
	if r, err := LearnReserve(nil); r != nil || err != nil {
		t.Errorf("no days learned %+v, %v; want no reserve and no error", r, err)
	}
	r, err := LearnReserve([]*household.Trace{yesterday})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		r     *Reserve
		today *household.Trace
	}{
		"another time of day": {r, day(noon.Add(time.Hour), time.Minute, 1440)},
		"another step":        {r, day(noon, 2*time.Minute, 720)},
		"an empty reserve":    {&Reserve{Days: 1, Start: noon, Step: time.Minute}, day(noon, time.Minute, 1440)},
	} {
		_, hems := eveningHEMS(t, DayPlan{}, nil, nil)
		hems.Reserve = c.r
		if _, _, _, err := hems.Metered(c.today); !errors.Is(err, ErrHistory) {
			t.Errorf("today at %s: got %v, want ErrHistory", name, err)
		}
	}
}
